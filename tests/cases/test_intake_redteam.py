"""Red team of the intake's fast path: the rows it writes are the ORM's rows, its caches answer
as a fresh derivation would, the chain is sealed on the ledger's real head, serials never
repeat, and a refusal inside a caller's transaction leaves that transaction usable."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connection, connections, transaction

from amends.cases import actions
from amends.cases.actions import NewCustomer, case_intake, case_open, customer_create
from amends.cases.clocks import facts, promises
from amends.cases.errors import CaseError
from amends.cases.events import Chain, EventKind
from amends.cases.models import Case, CaseLink, Customer, Event, Obligation
from amends.comms.documents import _provider_context_of, render_message
from amends.comms.models import OutboxKind, OutboxMessage
from amends.domain.codes import CaseKind, ChannelType, parse_code
from amends.domain.obligations import derive
from amends.domain.reference import parse_reference
from amends.providers.models import CodeVersion
from amends.providers.services import (
    code_of,
    code_version_activate,
    code_version_and_head,
    code_version_in_force,
)
from tests.cases.conftest import CODES, LONDON, World, chain_is_whole, london, make_world

POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's serial sequence / row locks"
)


def _new_customer(n: int = 1, **extra: Any) -> NewCustomer:
    values: dict[str, Any] = {
        "contact_name": f"Sam Example {n}",
        "email": f"sam{n}@example.invalid",
        "account_number": f"ACC-{n}",
    }
    values.update(extra)
    return NewCustomer(**values)


def _intake(world: World, customer: int | NewCustomer, when: datetime, **extra: Any) -> Case:
    arguments: dict[str, Any] = {
        "provider": world.provider,
        "actor": world.staff,
        "customer": customer,
        "kind": CaseKind.COMPLAINT,
        "channel": ChannelType.EMAIL,
        "first_received_at": when,
        "summary": "No dial tone",
        "now": when,
    }
    arguments.update(extra)
    return case_intake(**arguments)


def _raw_row(model: Any, pk: int, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    columns = [f.column for f in model._meta.concrete_fields if f.column not in skip]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} = %s",
            [pk],
        )
        row = cursor.fetchone()
    return dict(zip(columns, row, strict=True))


# --------------------------------------------------------------------------- rows as the ORM


@pytest.mark.django_db
def test_an_intakes_customer_row_is_the_row_the_orm_stores(v4voip: World) -> None:
    when = london(2026, 3, 30, 9, 15, 7, 123456)  # BST: not UTC on the wall
    case = _intake(
        v4voip,
        _new_customer(
            7,
            customer_type="domestic",
            employees=None,
            preferred_contact="letter",
            access_needs=("large_print", "braille"),
            other_language="Cymraeg — Ŵ",
            representative_name="Alex Rep",
            representative_contact="alex@example.invalid",
            support_contract=True,
        ),
        when,
    )
    ours = _raw_row(Customer, case.customer_id)
    theirs = Customer.objects.create(
        provider=v4voip.provider,
        created_at=when,
        customer_type="domestic",
        contact_name="Sam Example 7",
        email="sam7@example.invalid",
        account_number="ACC-8",
        employees=None,
        preferred_contact="letter",
        access_needs=["large_print", "braille"],
        other_language="Cymraeg — Ŵ",
        representative_name="Alex Rep",
        representative_contact="alex@example.invalid",
        representative_authorised_at=when,
        support_contract=True,
    )
    orm = _raw_row(Customer, theirs.pk)
    assert orm.pop("account_number") == "ACC-8"
    assert ours.pop("account_number") == "ACC-7"
    assert ours == orm
    stored = Customer.objects.get(pk=case.customer_id)
    assert stored.created_at == when
    assert stored.representative_authorised_at == when
    assert stored.access_needs == ["large_print", "braille"]
    assert stored.employees is None


@pytest.mark.django_db
def test_an_opened_cases_row_is_the_row_the_orm_stores_for_any_time_zone(v4voip: World) -> None:
    plus_five = timezone(timedelta(hours=5, minutes=30))
    now = datetime(2026, 3, 30, 14, 0, 0, 654321, tzinfo=plus_five)
    first = datetime(2026, 3, 30, 13, 30, 1, 1, tzinfo=plus_five)
    case = case_open(
        provider=v4voip.provider,
        customer=v4voip.customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.PHONE,
        first_received_at=first,
        summary="Line dead — ‘quoted’",
        description="",
        category="billing",
        now=now,
        actor=v4voip.staff,
        first_received_note="",
        link_url_for=lambda token: f"https://example.invalid/c/{token}/",
    )
    ours = _raw_row(Case, case.pk)
    copy = Case.objects.get(pk=case.pk)
    copy.pk = None
    copy.reference = "ORM-COPY"
    copy._state.adding = True
    copy.save(force_insert=True)
    orm = _raw_row(Case, copy.pk)
    assert ours.pop("reference") == case.reference
    assert orm.pop("reference") == "ORM-COPY"
    assert ours == orm
    stored = Case.objects.get(pk=case.pk)
    assert stored.first_received_at == first
    assert stored.entered_at == now
    assert stored.clocks == case.clocks
    assert stored.adr_scheme == "communications-ombudsman"
    link = CaseLink.objects.get(case=case)
    assert link.expires_at == now + actions.LINK_LIFETIME
    assert link.revoked_at is None and link.last_used_at is None
    rows = {o.key: o for o in Obligation.objects.filter(case=case)}
    assert set(rows) == set(case.clocks)
    for key, entry in case.clocks.items():
        assert rows[key].state == entry[0]
        assert rows[key].due_at == datetime.fromisoformat(entry[1])
        assert rows[key].attempts == 0 and rows[key].last_error == ""
    chain_is_whole(v4voip.provider.pk)


@pytest.mark.django_db
def test_the_code_version_read_with_the_head_is_the_one_the_orm_finds() -> None:
    world = make_world("ties", "v4voip.toml", "TIE", "communications-ombudsman")
    # A second version from the same day, activated later: the later activation wins.
    later = code_version_activate(
        provider=world.provider,
        content=(CODES / "iss.toml").read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=london(2021, 5, 1, 9),
    )
    on = date(2024, 1, 1)
    expected = (
        CodeVersion.objects.filter(provider=world.provider, effective_from__lte=on)
        .order_by("-effective_from", "-activated_at")
        .first()
    )
    found = code_version_in_force(provider=world.provider, on=on)
    assert expected is not None and found is not None
    assert found.pk == expected.pk == later.pk
    for name in ("provider_id", "version", "sha256", "effective_from", "activated_at"):
        assert getattr(found, name) == getattr(expected, name), name
    assert found.content == expected.content  # the deferred text loads on demand
    assert code_version_in_force(provider=world.provider, on=date(2019, 12, 31)) is None


# --------------------------------------------------------------------------- transactions


@pytest.mark.django_db
def test_a_refused_intake_leaves_the_callers_transaction_usable(v4voip: World) -> None:
    when = london(2026, 2, 2, 10)
    _intake(v4voip, _new_customer(1), when)
    customers = Customer.objects.count()
    with transaction.atomic():
        # As the public form does: a taken account number is refused, then the intake is
        # made again without it, in the same (here: outer) transaction.
        with pytest.raises(CaseError) as refused:
            _intake(v4voip, _new_customer(1, contact_name="Other"), when)
        assert refused.value.field == "account_number"
        assert Customer.objects.count() == customers  # nothing left of the refused intake
        case = _intake(v4voip, _new_customer(1, contact_name="Other", account_number=""), when)
        assert Case.objects.filter(pk=case.pk).exists()
    assert Customer.objects.count() == customers + 1
    chain_is_whole(v4voip.provider.pk)


@pytest.mark.django_db
def test_an_intake_refused_after_its_customer_was_written_leaves_nothing(v4voip: World) -> None:
    customers = Customer.objects.count()
    events = Event.objects.count()
    with transaction.atomic():
        with pytest.raises(CaseError) as refused:
            # No code in force on that day: refused after the customer's INSERT.
            _intake(
                v4voip,
                _new_customer(2),
                london(2026, 2, 2, 10),
                first_received_at=london(2019, 6, 3, 10),
                first_received_note="letter found in a drawer",
            )
        assert refused.value.field == "first_received_at"
        assert Customer.objects.count() == customers
        _intake(v4voip, _new_customer(2), london(2026, 2, 2, 10))
    assert Customer.objects.count() == customers + 1
    assert Event.objects.count() == events + 1
    chain_is_whole(v4voip.provider.pk)


# --------------------------------------------------------------------------- the ledger head


@pytest.mark.django_db
@pytest.mark.parametrize("through", ["case_open", "case_intake"])
def test_an_opening_seals_on_the_head_the_ledger_moved_to_after_it_was_read(
    v4voip: World, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    read = code_version_and_head
    heads: list[Any] = []

    def read_then_another_writer(**kwargs: Any) -> Any:
        found = read(**kwargs)
        heads.append(found[1])
        other = Chain(v4voip.provider.pk)  # another writer of the provider, after the read
        other.add(
            case=None, actor="system", at=london(2026, 1, 5, 9), kind=EventKind.NOTE_ADDED, data={}
        )
        other.flush()
        return found

    monkeypatch.setattr(actions, "code_version_and_head", read_then_another_writer)
    when = london(2026, 1, 5, 9)
    opened_by = {
        "case_open": lambda: v4voip.open(when),
        "case_intake": lambda: _intake(v4voip, _new_customer(3), when),
    }
    case = opened_by[through]()
    assert heads and heads[0] is not None
    opened = Event.objects.get(case=case, kind=EventKind.CASE_OPENED)
    assert opened.sequence == heads[0][0] + 2  # after the other writer's event, not on it
    chain_is_whole(v4voip.provider.pk)


@pytest.mark.django_db(transaction=True)
def test_two_openings_that_read_the_same_head_do_not_fork_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world("forks", "v4voip.toml", "FRK", "communications-ombudsman")
    world.open(london(2026, 1, 5, 9))  # the provider's first case (its sequence on PostgreSQL)
    read = code_version_and_head
    both_read = threading.Barrier(2, timeout=30)
    heads: list[Any] = []

    def read_and_wait(**kwargs: Any) -> Any:
        found = read(**kwargs)
        heads.append(found[1])
        both_read.wait()
        return found

    monkeypatch.setattr(actions, "code_version_and_head", read_and_wait)
    results: dict[str, Any] = {}

    def opening(name: str) -> None:
        try:
            # case_open on its own reads the head before its transaction (on SQLite before
            # BEGIN IMMEDIATE), so both read the same head.
            results[name] = world.open(london(2026, 1, 5, 9)).reference
        except Exception as error:  # noqa: BLE001 - reported below
            results[name] = error
            both_read.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=opening, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    assert len(heads) == 2 and heads[0] == heads[1]
    assert results["a"] != results["b"]
    sequences = chain_is_whole(world.provider.pk)
    assert len(sequences) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_intakes_of_one_provider_keep_one_chain_and_distinct_serials() -> None:
    world = make_world("crowd", "v4voip.toml", "CRW", "communications-ombudsman")
    world.open(london(2026, 1, 5, 9))
    results: dict[int, Any] = {}
    start = threading.Barrier(4, timeout=30)

    def worker(n: int) -> None:
        try:
            start.wait()
            refs = []
            for i in range(4):
                when = datetime.now(UTC)
                refs.append(_intake(world, _new_customer(n * 10 + i), when).reference)
            results[n] = refs
        except Exception as error:  # noqa: BLE001 - reported below
            results[n] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    references = [r for refs in results.values() for r in refs]
    assert len(references) == 16 and len(set(references)) == 16
    serials = sorted(parse_reference(r).serial for r in references)
    assert len(set(serials)) == 16
    sequences = chain_is_whole(world.provider.pk)
    assert len(sequences) == 17
    # One acknowledgement per emailed intake (the first case came by phone: a call task).
    assert OutboxMessage.objects.filter(case__reference__in=references).count() == 16


# --------------------------------------------------------------------------- serials


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_an_opening_takes_one_number_when_several_code_versions_are_in_force() -> None:
    world = make_world("many", "v4voip.toml", "MNY", "communications-ombudsman")
    for year, name in ((2021, "iss.toml"), (2022, "template.toml"), (2023, "v4voip.toml")):
        code_version_activate(
            provider=world.provider,
            content=(CODES / name).read_text() + f"\n# {year}\n",
            effective_from=date(year, 1, 1),
            activated_by=None,
            now=london(year, 1, 1, 9),
        )
    first = parse_reference(world.open(london(2026, 1, 5, 9)).reference).serial
    assert (connection.settings_dict["NAME"], world.provider.pk) in actions._SEQUENCES
    later = [parse_reference(world.open(london(2026, 1, 5, 9)).reference).serial for _ in range(3)]
    assert later == [first + 1, first + 2, first + 3]


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_refused_opening_does_not_take_a_number_once_the_sequence_is_known() -> None:
    world = make_world("refuse", "v4voip.toml", "RFS", "communications-ombudsman")
    first = parse_reference(world.open(london(2026, 1, 5, 9)).reference).serial
    with pytest.raises(CaseError):
        world.open(london(2019, 6, 3, 9), now=london(2026, 1, 5, 9), note="found later")
    assert parse_reference(world.open(london(2026, 1, 5, 9)).reference).serial == first + 1


# --------------------------------------------------------------------------- caches


def _fresh_promises(case: Any, code: Any) -> Any:
    """The case's promises worked out afresh, past clocks.promises' cache."""
    from amends.domain.regulation import promises_in_force

    return promises_in_force(
        code,
        kind=CaseKind(case.kind),
        first_received=case.first_received_at.astimezone(LONDON).date(),
        facts=actions.CaseFacts(
            channel=ChannelType(case.channel), support_contract=case.support_contract
        ),
        member_scheme=case.adr_scheme or None,
    )


def _expected_clocks(case: Case, content: str) -> dict[str, str]:
    """The due instants of a case's clocks derived afresh (no cache) from a code's text."""
    code = parse_code(content, filename="fresh.toml")
    version = CodeVersion.objects.get(pk=case.code_version_id)
    _, calendar = code_of(version, case.provider)
    fresh = _fresh_promises(case, code)
    return {
        d.key: d.due_at.astimezone(UTC).isoformat() for d in derive(facts(case), fresh, calendar)
    }


@pytest.mark.django_db
def test_a_new_code_version_governs_the_cases_received_after_it(iss: World) -> None:
    before = iss.open(london(2026, 1, 5, 9))
    content = (CODES / "v4voip.toml").read_text()
    code_version_activate(
        provider=iss.provider,
        content=content,
        effective_from=date(2026, 2, 1),
        activated_by=None,
        now=london(2026, 1, 20, 9),
    )
    after = iss.open(london(2026, 2, 2, 9), channel=ChannelType.EMAIL)
    assert after.code_version_id != before.code_version_id
    assert {k: e[1] for k, e in after.clocks.items()} == _expected_clocks(after, content)
    assert {k: e[1] for k, e in before.clocks.items()} == _expected_clocks(
        before, (CODES / "iss.toml").read_text()
    )
    message = OutboxMessage.objects.get(case=after, kind=OutboxKind.ACKNOWLEDGEMENT)
    v4voip_name = parse_code(content, filename="v.toml").provider.name
    iss_name = parse_code((CODES / "iss.toml").read_text(), filename="i.toml").provider.name
    assert v4voip_name in message.body_text and iss_name not in message.body_text


@pytest.mark.django_db
def test_a_closure_added_to_the_provider_moves_the_clocks_of_later_cases(iss: World) -> None:
    when = london(2026, 1, 5, 9)  # a Monday
    before = iss.open(when)
    iss.provider.closed_dates = [(when.date() + timedelta(days=d)).isoformat() for d in range(5)]
    iss.provider.save(update_fields=["closed_dates"])
    after = iss.open(when)
    ack = next(k for k, e in before.clocks.items() if e[3] == "acknowledge")
    assert after.clocks[ack][1] > before.clocks[ack][1]
    code, calendar = code_of(CodeVersion.objects.get(pk=after.code_version_id), iss.provider)
    fresh = {
        d.key: d.due_at.astimezone(UTC).isoformat()
        for d in derive(facts(after), promises(after, code), calendar)
    }
    assert {k: e[1] for k, e in after.clocks.items()} == fresh


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["iss", "v4voip", "compliant"])
def test_the_acknowledgement_says_what_a_fresh_render_of_the_stored_case_says(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    world: World = request.getfixturevalue(fixture)
    when = london(2026, 1, 5, 9)
    case = world.open(when, channel=ChannelType.EMAIL)
    message = OutboxMessage.objects.filter(case=case, kind=OutboxKind.ACKNOWLEDGEMENT).first()
    if message is None:
        pytest.skip("this code promises no acknowledgement")
    stored = Case.objects.select_related("provider", "customer").get(pk=case.pk)
    assert not hasattr(stored, "_reconciled_on")
    fresh = render_message(
        OutboxKind.ACKNOWLEDGEMENT,
        provider=stored.provider,
        case=stored,
        payload=message.payload,
        channel=message.channel,
        recipient_name=message.recipient_name,
        now=when,
    )
    assert message.body_text == fresh.text
    assert message.subject == fresh.subject


@pytest.mark.django_db
def test_the_provider_context_is_a_copy_and_follows_the_code_object(v4voip: World) -> None:
    from amends.comms.documents import _provider_context

    version = CodeVersion.objects.get(provider=v4voip.provider)
    code, _ = code_of(version, v4voip.provider)
    first = _provider_context(v4voip.provider, code)
    first["name"] = "changed by a caller"
    first["contacts"].clear()
    again = _provider_context(v4voip.provider, code)
    assert again == _provider_context_of(v4voip.provider.slug, code)
    other = parse_code((CODES / "iss.toml").read_text(), filename="iss.toml")
    assert _provider_context(v4voip.provider, other) == _provider_context_of(
        v4voip.provider.slug, other
    )


@pytest.mark.django_db
def test_a_customer_made_alone_then_opened_is_stored_as_by_intake(v4voip: World) -> None:
    when = london(2026, 1, 5, 9)
    alone = customer_create(
        provider=v4voip.provider, now=when, contact_name="Lee", account_number="L-1"
    )
    with pytest.raises(CaseError):
        customer_create(
            provider=v4voip.provider, now=when, contact_name="Lee", account_number="L-1"
        )
    case = _intake(v4voip, alone.pk, when)
    assert case.customer_id == alone.pk
    assert Customer.objects.filter(account_number="L-1").count() == 1


@pytest.mark.django_db
def test_a_change_of_the_providers_adr_scheme_reaches_only_later_cases(compliant: World) -> None:
    when = london(2026, 1, 5, 9)
    before = compliant.open(when)
    compliant.provider.adr_scheme = "cisas"
    compliant.provider.save(update_fields=["adr_scheme"])
    after = compliant.open(when)
    assert before.adr_scheme == "communications-ombudsman"
    assert after.adr_scheme == compliant.provider.adr_scheme
    for case in (before, after):
        code, calendar = code_of(CodeVersion.objects.get(pk=case.code_version_id), case.provider)
        assert promises(case, code) == _fresh_promises(case, code)


@pytest.mark.django_db
def test_the_promises_cache_answers_afresh_once_cleared_when_full(
    iss: World, v4voip: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amends.cases import clocks

    monkeypatch.setattr(clocks._PROMISES, "size", 2)
    when = london(2026, 1, 5, 9)
    cases = [
        world.open(when + timedelta(days=d), channel=channel)
        for d in range(3)
        for world in (iss, v4voip)
        for channel in (ChannelType.EMAIL, ChannelType.PHONE)
    ]
    for case in cases:
        content = CodeVersion.objects.get(pk=case.code_version_id).content
        assert {k: e[1] for k, e in case.clocks.items()} == _expected_clocks(case, content)
    assert len(clocks._PROMISES) <= 2
