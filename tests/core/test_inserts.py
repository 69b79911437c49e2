"""amends.core.inserts: rows written by one prepared INSERT are the rows the ORM writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

import amends
from amends.cases.models import Customer, Obligation
from amends.core.inserts import Upsert, insert
from amends.domain.codes import CustomerType, Nation
from amends.providers.services import code_version_activate, provider_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def provider() -> Any:
    found = provider_create(
        slug="acme",
        name="Acme",
        nation=Nation.ENGLAND_AND_WALES,
        reference_prefix="ACM",
        adr_scheme="communications-ombudsman",
    )
    code_version_activate(
        provider=found,
        content=(Path(amends.__file__).parent / "codes" / "template.toml").read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=NOW,
    )
    return found


def customer(provider: Any, n: int, **extra: Any) -> Customer:
    values: dict[str, Any] = {
        "provider": provider,
        "contact_name": f"Pat Example {n} — Ŵyn",
        "customer_type": "domestic",
        "email": f"pat{n}@example.invalid",
        "postal_address": "1 High Street\nEbbw Vale\nNP23 6AA",
        "access_needs": ["large_print", "braille"],
        "employees": 3,
        "support_contract": True,
        "vulnerability_note": "Hard of hearing",
        "vulnerability_consent_at": NOW,
        "created_at": NOW,
    }
    values.update(extra)
    return Customer(**values)


def stored(pk: int) -> dict[str, Any]:
    found = model_to_dict(Customer.objects.get(pk=pk))
    found.pop("id")
    return found


def test_a_row_is_stored_as_the_orm_stores_it(provider: Any) -> None:
    # A str subclass (an enum member) is prepared by the field, a plain str stored as it is.
    by_orm = customer(provider, 1, customer_type=CustomerType.DOMESTIC)
    by_orm.save(force_insert=True)
    by_insert = customer(provider, 1, customer_type=CustomerType.DOMESTIC)
    insert([by_insert])
    assert by_insert.pk is not None and by_insert.pk != by_orm.pk
    assert by_insert._state.adding is False and by_insert._state.db == "default"
    assert stored(by_insert.pk) == stored(by_orm.pk)
    # Read back, every typed value is what was given (aware instants, lists, booleans).
    again = Customer.objects.get(pk=by_insert.pk)
    assert again.vulnerability_consent_at == NOW
    assert again.access_needs == ["large_print", "braille"]
    assert again.support_contract is True and again.employees == 3


def test_several_rows_in_one_statement_get_their_own_keys_in_order(provider: Any) -> None:
    rows = [customer(provider, n, account_number=f"A{n}") for n in range(5)]
    with CaptureQueriesContext(connection) as queries:
        insert(rows)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("INSERT")]) == 1
    for row in rows:
        assert Customer.objects.get(pk=row.pk).account_number == row.account_number


def test_a_clash_raises_as_the_orm_would_and_writes_nothing(provider: Any) -> None:
    insert([customer(provider, 1, account_number="X1")])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert([customer(provider, 2, account_number="X1")])
    assert Customer.objects.filter(account_number="X1").count() == 1


def test_ignore_skips_the_clashing_row_only(provider: Any) -> None:
    insert([customer(provider, 1, account_number="X1")])
    insert(
        [customer(provider, 2, account_number="X1"), customer(provider, 3, account_number="X3")],
        conflict="ignore",
    )
    assert sorted(Customer.objects.values_list("account_number", flat=True)) == ["X1", "X3"]


def test_upsert_updates_only_the_named_columns(provider: Any) -> None:
    from amends.cases.actions import case_open
    from amends.cases.actors import system_actor
    from amends.domain.codes import CaseKind, ChannelType

    owner = customer(provider, 1)
    insert([owner])
    case = case_open(
        provider=provider,
        customer=owner,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.PHONE,
        first_received_at=NOW,
        summary="No dial tone",
        now=NOW,
        actor=system_actor(provider.pk),
    )
    first = Obligation(
        provider_id=provider.pk,
        case=case,
        key="probe",
        kind="resolve",
        due_at=NOW,
        state="pending",
        origin="code",
        source="first",
    )
    insert([first], conflict=Upsert(unique=("case", "key"), update=("state", "met_at")))
    second = Obligation(
        provider_id=provider.pk,
        case=case,
        key="probe",
        kind="resolve",
        due_at=NOW,
        state="met",
        met_at=NOW,
        origin="code",
        source="second",
    )
    insert([second], conflict=Upsert(unique=("case", "key"), update=("state", "met_at")))
    row = Obligation.objects.get(case=case, key="probe")
    assert (row.state, row.met_at, row.source) == ("met", NOW, "first")
    assert second.pk == first.pk == row.pk


def test_what_it_cannot_write_as_the_orm_does_is_refused(provider: Any) -> None:
    from amends.providers.models import Provider

    with pytest.raises(ValueError, match="one model"):
        insert([customer(provider, 1), Provider(slug="x", name="X")])
    saved = customer(provider, 2)
    insert([saved])
    with pytest.raises(ValueError, match="primary key"):
        insert([saved, customer(provider, 3)])
    assert insert([]) is None


def test_a_related_row_gives_its_key_when_saved_after_it_was_assigned(provider: Any) -> None:
    from amends.providers.models import Provider

    owner = customer(provider, 1)
    row = customer(provider, 2)
    # A foreign key to a row not yet saved is refused, as bulk_create refuses it.
    stranger = Provider(slug="nobody", name="Nobody")
    row.provider = stranger
    with pytest.raises(ValueError, match="unsaved"):
        insert([row])
    # Saved after it was assigned: its key is taken, as the ORM takes it.
    insert([owner])
    late = customer(provider, 3)
    fresh = Provider(
        slug="later",
        name="Later",
        nation=Nation.ENGLAND_AND_WALES.value,
        reference_prefix="LAT",
        adr_scheme="communications-ombudsman",
    )
    late.provider = fresh
    fresh.save()
    insert([late])
    assert Customer.objects.get(pk=late.pk).provider_id == fresh.pk


def test_more_rows_than_one_statement_may_carry_are_refused(provider: Any) -> None:
    rows = [customer(provider, n) for n in range(1600)]
    with pytest.raises(ValueError, match="write fewer at a time"):
        insert(rows)
    assert not Customer.objects.exists()


def test_the_statement_is_captured_as_any_other(provider: Any) -> None:
    """On PostgreSQL the row goes through a raw-query cursor: Django still sees the statement
    (statement counts, query logging), written with the ``%s`` placeholders it logs."""
    with CaptureQueriesContext(connection) as captured:
        insert([customer(provider, 7001, email="captured@example.invalid")])
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == 1
    assert inserts[0].startswith('INSERT INTO "cases_customer"')
    assert "captured@example.invalid" in inserts[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")
def test_on_postgresql_a_statement_run_five_times_is_prepared_once(provider: Any) -> None:
    for n in range(6):
        insert([customer(provider, 7100 + n)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ['INSERT INTO "cases_customer"%'],
        )
        statements = [row[0] for row in cursor.fetchall()]
    assert len(statements) == 1
    assert "$1" in statements[0] and "%s" not in statements[0]


def test_a_statement_whose_placeholders_are_not_its_parameters_is_refused() -> None:
    from amends.core.inserts import _Numbered

    assert _Numbered("INSERT INTO t (a, b) VALUES (%s, %s)", 2).numbered == (
        "INSERT INTO t (a, b) VALUES ($1, $2)"
    )
    with pytest.raises(ValueError, match="placeholders"):
        _Numbered("INSERT INTO t (a) VALUES (%s)", 2)
    with pytest.raises(ValueError, match="placeholders"):
        _Numbered("INSERT INTO t (a) VALUES ('100%%', %s)", 1)


_GUARD = (
    "UPDATE providers_providerledger SET last_event_sequence = last_event_sequence + %s "
    "WHERE provider_id = %s AND last_event_sequence = %s RETURNING last_event_sequence"
)


def _events(provider: Any, *case_ids: int | None) -> list[Any]:
    from amends.cases.models import Event

    return [
        Event(
            provider_id=provider.pk,
            sequence=10_000 + n,
            case_id=case_id,
            actor="test",
            at=NOW,
            kind="note_added",
            data={"n": n, "text": "Ŵyn's note"},
            previous_hash="p" * 64,
            hash=f"{n:064d}",
        )
        for n, case_id in enumerate(case_ids)
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a data-modifying WITH: PostgreSQL")
def test_insert_if_writes_the_rows_only_when_the_guard_returns_a_row(provider: Any) -> None:
    from amends.cases.models import Event
    from amends.core.inserts import insert_if
    from amends.providers.models import ProviderLedger

    head = ProviderLedger.objects.get(provider=provider).last_event_sequence
    before = Event.objects.count()
    # The guard matches nothing (a head that is not the ledger's): nothing at all is written.
    with CaptureQueriesContext(connection) as captured:
        assert insert_if(_GUARD, [2, provider.pk, head + 99], _events(provider, None)) is None
    assert len(captured.captured_queries) == 1
    assert Event.objects.count() == before
    assert ProviderLedger.objects.get(provider=provider).last_event_sequence == head
    # It matches: the ledger moves and the rows (a NULL key among them) go in, in order.
    rows = _events(provider, None, None)
    assert insert_if(_GUARD, [2, provider.pk, head], rows) == (head + 2,)
    assert ProviderLedger.objects.get(provider=provider).last_event_sequence == head + 2
    assert [r.pk for r in rows] == sorted(r.pk for r in rows) and None not in [r.pk for r in rows]
    stored = {e.pk: e for e in Event.objects.filter(pk__in=[r.pk for r in rows])}
    for row in rows:
        assert (stored[row.pk].sequence, stored[row.pk].data) == (row.sequence, row.data)
        assert stored[row.pk].case_id is None and stored[row.pk].at == NOW


def test_insert_if_is_refused_where_it_cannot_run_as_one_statement(provider: Any) -> None:
    from amends.core.inserts import insert_if

    if connection.vendor != "postgresql":
        with pytest.raises(ValueError, match="PostgreSQL"):
            insert_if(_GUARD, [1, provider.pk, 0], _events(provider, None))
        return
    with pytest.raises(ValueError, match="rows"):
        insert_if(_GUARD, [1, provider.pk, 0], [])
    keyed = _events(provider, None)
    keyed[0].pk = 123_456
    with pytest.raises(ValueError, match="new rows"):
        insert_if(_GUARD, [1, provider.pk, 0], keyed)


def test_rows_written_in_a_pipeline_are_captured_and_stored(provider: Any) -> None:
    from amends.core.inserts import pipelined

    rows = [customer(provider, 8001), customer(provider, 8002)]
    with transaction.atomic(), CaptureQueriesContext(connection) as captured, pipelined():
        insert(rows[:1], keys=False)
        insert(rows[1:], keys=False)
    assert [q["sql"].split(" (")[0] for q in captured.captured_queries].count(
        'INSERT INTO "cases_customer"'
    ) == 2
    assert [r.pk for r in rows] == [None, None]  # keys not read back
    emails = set(Customer.objects.values_list("email", flat=True))
    assert {"pat8001@example.invalid", "pat8002@example.invalid"} <= emails


def test_a_clash_in_a_pipeline_is_django_s_error_and_the_transaction_writes_nothing(
    provider: Any,
) -> None:
    """On PostgreSQL the clash is only known when the answers are read: the error is still
    Django's IntegrityError, and nothing of the transaction stays."""
    from amends.core.inserts import pipelined

    insert([customer(provider, 8100, account_number="ACC-1")])
    before = Customer.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic(), pipelined():
        insert([customer(provider, 8101)], keys=False)
        insert([customer(provider, 8102, account_number="ACC-1")], keys=False)
        insert([customer(provider, 8103)], keys=False)
    assert Customer.objects.count() == before
