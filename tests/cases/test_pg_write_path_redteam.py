"""Red team of the PostgreSQL write path: prepared statements (server-side binding,
prepare_threshold), numbered raw statements, the one-statement seal (insert_if), pipelined()
around the clocks, the outbox and the chain, clocks upserted without their keys, and the public
form's case and session written in one transaction.

Every thread started here has its own database connection, a lock timeout (PostgreSQL), a
barrier with a timeout that is aborted on any error, and is joined with a deadline; the test
fails (rather than hangs) if one does not stop."""

from __future__ import annotations

import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.core.cache import cache
from django.db import (
    DatabaseError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.test import Client
from django.test.utils import CaptureQueriesContext

from amends.cases import actions, events, writes
from amends.cases.actions import NewCustomer, case_intake, case_merge
from amends.cases.actors import staff_actor
from amends.cases.events import EventKind, audit_verify
from amends.cases.models import Case, CaseLink, Customer, Event, Obligation
from amends.cases.worker import obligation_sweep
from amends.comms import outbox as outbox_module
from amends.comms.models import OutboxKind, OutboxMessage, WebhookDelivery, WebhookType
from amends.comms.webhooks import types_for, webhook_endpoint_create
from amends.domain.access import Role
from amends.domain.codes import CaseKind, ChannelType
from amends.domain.lifecycle import Action
from amends.providers.models import ProviderLedger
from amends.providers.services import staff_create
from tests.cases.conftest import World, chain_is_whole, london, make_world
from tests.conftest import database_url
from tests.portal.test_public_forms import answers, walk

POSTGRES = connection.vendor == "postgresql"
POSTGRES_ONLY = pytest.mark.skipif(
    not POSTGRES, reason="PostgreSQL only: row locks between connections, prepared statements"
)
T = london(2026, 1, 5, 9)  # a Monday, GMT
THREAD_DEADLINE = 180.0


# --------------------------------------------------------------------------- helpers


def _in_threads(
    count: int,
    target: Callable[[int], Any],
    barriers: list[threading.Barrier] | None = None,
) -> dict[int, Any]:
    """Run ``target(n)`` in ``count`` threads, each on its own connection; return each result
    or exception. Fails if a thread is still running after the deadline."""
    results: dict[int, Any] = {}
    barriers = barriers or []

    def run(n: int) -> None:
        try:
            if POSTGRES:
                with connection.cursor() as cursor:  # this thread's own connection
                    cursor.execute("SET lock_timeout = '20s'")
            results[n] = target(n)
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            results[n] = error
            for barrier in barriers:
                barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    deadline = datetime.now(UTC) + timedelta(seconds=THREAD_DEADLINE)
    for thread in threads:
        thread.join(max(0.1, (deadline - datetime.now(UTC)).total_seconds()))
    alive = [t for t in threads if t.is_alive()]
    if alive:
        for barrier in barriers:
            barrier.abort()
    assert not alive, f"{len(alive)} thread(s) still running after {THREAD_DEADLINE} s"
    return results


def _no_errors(results: dict[int, Any]) -> None:
    errors = {n: r for n, r in results.items() if isinstance(r, BaseException)}
    assert not errors, errors


def _new_customer(n: int) -> NewCustomer:
    return NewCustomer(
        contact_name=f"Red Team {n}",
        email=f"redteam{n}@example.invalid",
        account_number=f"RT-{n}",
    )


def _intake(world: World, n: int, when: datetime, **extra: Any) -> Case:
    return case_intake(
        provider=world.provider,
        actor=world.staff,
        customer=_new_customer(n),
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.EMAIL,
        first_received_at=when,
        summary="No dial tone",
        now=when,
        **extra,
    )


class _Counted:
    """Wrap a module function, counting calls (thread-safe)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.calls += 1
        return self.function(*args, **kwargs)


def _case_is_whole(case: Case, *, kinds: Counter[str]) -> None:
    """Its events are the kinds given, its clocks' rows match its mirror, its
    acknowledgement was written."""
    case.refresh_from_db()
    got = Counter(Event.objects.filter(case=case).values_list("kind", flat=True))
    assert got == kinds, (case.reference, got)
    rows = {o.key: o.state for o in Obligation.objects.filter(case=case)}
    assert rows, f"{case.reference}: no clocks"
    assert rows == {key: entry[0] for key, entry in (case.clocks or {}).items()}, case.reference
    assert (
        OutboxMessage.objects.filter(case=case, kind=OutboxKind.ACKNOWLEDGEMENT.value).count() == 1
    ), case.reference


def _snapshot(provider_id: int) -> dict[str, Any]:
    ledger = ProviderLedger.objects.get(provider_id=provider_id)
    return {
        "cases": Case.objects.filter(provider_id=provider_id).count(),
        "customers": Customer.objects.filter(provider_id=provider_id).count(),
        "clocks": list(
            Obligation.objects.filter(provider_id=provider_id)
            .order_by("id")
            .values_list("id", "key", "state", "met_at")
        ),
        "outbox": OutboxMessage.objects.filter(provider_id=provider_id).count(),
        "events": Event.objects.filter(provider_id=provider_id).count(),
        "links": CaseLink.objects.filter(provider_id=provider_id).count(),
        "webhooks": WebhookDelivery.objects.filter(provider_id=provider_id).count(),
        "ledger": (ledger.last_event_sequence, ledger.last_event_hash),
        "versions": list(
            Case.objects.filter(provider_id=provider_id)
            .order_by("id")
            .values_list("id", "version", "state")
        ),
    }


def _connection_is_clean(raw: Any) -> None:
    """The same connection, out of any transaction and (PostgreSQL) out of pipeline mode."""
    assert connection.connection is raw, "the connection was replaced"
    assert not connection.in_atomic_block
    assert not connection.needs_rollback
    if POSTGRES:
        from psycopg import pq

        assert raw.pgconn.pipeline_status == pq.PipelineStatus.OFF
        assert getattr(raw, "_pipeline", None) is None
        assert raw.info.transaction_status == pq.TransactionStatus.IDLE
        assert not raw.closed


def _admin_sql(statements: list[str]) -> None:
    """Run DDL from ANOTHER connection (PostgreSQL; so the Django connection's prepared
    statement cache is not touched by psycopg's DROP/ROLLBACK handling), or on the Django
    connection (SQLite)."""
    if POSTGRES:
        import psycopg

        url = database_url(connection.settings_dict, "postgresql")
        with psycopg.connect(url, autocommit=True) as admin:
            for sql in statements:
                admin.execute(sql)
    else:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


def _fail_inserts_into(table: str) -> list[str]:
    if POSTGRES:
        return [
            "CREATE OR REPLACE FUNCTION redteam_fail() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'redteam: refused' USING ERRCODE = 'check_violation'; "
            "END $$",
            f'CREATE TRIGGER redteam_fail BEFORE INSERT ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION redteam_fail()",
        ]
    return [
        f'CREATE TRIGGER redteam_fail BEFORE INSERT ON "{table}" '
        "BEGIN SELECT RAISE(ABORT, 'redteam: refused'); END"
    ]


def _allow_inserts_into(table: str) -> list[str]:
    if POSTGRES:
        return [
            f'DROP TRIGGER IF EXISTS redteam_fail ON "{table}"',
            "DROP FUNCTION IF EXISTS redteam_fail()",
        ]
    return ["DROP TRIGGER IF EXISTS redteam_fail"]


def _gate(function: Callable[..., Any], barrier: threading.Barrier) -> Callable[..., Any]:
    """``function``, then wait at ``barrier`` (every caller returns what it read before any
    of them goes on)."""

    def gated(*args: Any, **kwargs: Any) -> Any:
        found = function(*args, **kwargs)
        barrier.wait()
        return found

    return gated


# --------------------------------------------------------------------------- 1. concurrency


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_many_concurrent_writers_of_one_provider_keep_one_whole_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world("rtcrowd", "v4voip.toml", "RTC", "communications-ombudsman")
    world.open(T)  # the provider's first case
    writers = 6
    fallbacks = _Counted(events._ledger_advance)
    monkeypatch.setattr(events, "_ledger_advance", fallbacks)
    opened: dict[int, list[int]] = {n: [] for n in range(writers)}

    # A: every writer reads the same head, then all seal: all but one take the fallback.
    read_head = actions.code_version_and_head
    barrier = threading.Barrier(writers, timeout=60)
    monkeypatch.setattr(actions, "code_version_and_head", _gate(read_head, barrier))

    def open_one(n: int) -> None:
        opened[n].append(_intake(world, 100 + n, T + timedelta(minutes=1)).pk)

    _no_errors(_in_threads(writers, open_one, [barrier]))
    monkeypatch.setattr(actions, "code_version_and_head", read_head)
    assert fallbacks.calls >= writers - 1, fallbacks.calls
    chain_is_whole(world.provider.pk)

    # B: transitions of distinct cases, every one sealing on the same stale head.
    before = fallbacks.calls
    read_ledger = writes.ledger_head
    barrier = threading.Barrier(writers, timeout=60)
    monkeypatch.setattr(writes, "ledger_head", _gate(read_ledger, barrier))

    def acknowledge(n: int) -> None:
        case = Case.objects.get(pk=opened[n][0])
        world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=30))

    _no_errors(_in_threads(writers, acknowledge, [barrier]))
    monkeypatch.setattr(writes, "ledger_head", read_ledger)
    assert fallbacks.calls - before >= writers - 1, fallbacks.calls - before
    chain_is_whole(world.provider.pk)

    # C: a free-for-all, no gates: intakes, acknowledgements and assignments interleaved.
    def mixed(n: int) -> None:
        for i in range(4):
            when = T + timedelta(hours=1, minutes=i)
            case = _intake(world, 1000 + n * 10 + i, when)
            opened[n].append(case.pk)
            world.act(case, Action.ACKNOWLEDGE, when + timedelta(minutes=5))
            world.act(case, Action.ASSIGN, when + timedelta(minutes=6))

    _no_errors(_in_threads(writers, mixed))
    sequences = chain_is_whole(world.provider.pk)
    # 1 + 6 openings + 6 acknowledgements + 6 * 4 * 3
    assert len(sequences) == 1 + writers + writers + writers * 12
    for n, pks in opened.items():
        assert len(pks) == 5, (n, pks)
        first, *rest = (Case.objects.get(pk=pk) for pk in pks)
        _case_is_whole(first, kinds=Counter({"case_opened": 1, "acknowledge": 1}))
        for case in rest:
            _case_is_whole(case, kinds=Counter({"case_opened": 1, "acknowledge": 1, "assign": 1}))
    refs = list(Case.objects.filter(provider=world.provider).values_list("reference", flat=True))
    assert len(refs) == len(set(refs)) == 1 + writers * 5


# --------------------------------------------------------------------------- 2. errors


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("redteam: mid-pipeline")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["render", "seal"])
def test_a_python_error_inside_the_pipeline_leaves_nothing_and_the_connection_works(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Raised after the clocks (and the link) were sent, before the answers were read: the
    original exception, nothing written, the same connection usable."""
    world = make_world(f"rtpy{where}", "v4voip.toml", "RTP", "communications-ombudsman")
    case = _intake(world, 1, T)
    for n in range(2, 8):  # past the prepare threshold on this connection
        world.act(_intake(world, n, T), Action.ACKNOWLEDGE, T + timedelta(minutes=5))
    raw = connection.connection
    before = _snapshot(world.provider.pk)
    if where == "render":
        monkeypatch.setattr(outbox_module, "render_message", _raise)
    else:
        monkeypatch.setattr(events.audit, "event_digest", _raise)
    with pytest.raises(RuntimeError, match="mid-pipeline"):
        _intake(world, 50, T + timedelta(minutes=10), link_url_for=lambda t: f"/x/{t}/")
    assert _snapshot(world.provider.pk) == before
    _connection_is_clean(raw)
    if where == "seal":  # a transition's pipeline too (the renderer is not in its path)
        with pytest.raises(RuntimeError, match="mid-pipeline"):
            world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=11))
        assert _snapshot(world.provider.pk) == before
        _connection_is_clean(raw)
    monkeypatch.undo()
    made = _intake(world, 51, T + timedelta(minutes=12), link_url_for=lambda t: f"/x/{t}/")
    world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=13))
    _case_is_whole(made, kinds=Counter({"case_opened": 1, "case_link_sent": 1}))
    chain_is_whole(world.provider.pk)
    assert connection.connection is raw


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", ["cases_obligation", "comms_outboxmessage", "cases_event"])
def test_a_database_error_inside_the_pipeline_is_djangos_and_leaves_nothing(table: str) -> None:
    """A statement of the pipeline refused by the server (first, middle, last): Django's
    IntegrityError (not psycopg's, not PipelineAborted/OperationalError), nothing of the
    transaction stays, the same connection works; for an opening and for a transition."""
    slug = "rtdb-" + table.split("_")[1][:6]
    world = make_world(slug, "v4voip.toml", "RTD", "communications-ombudsman")
    case = _intake(world, 1, T)
    for n in range(2, 8):
        _intake(world, n, T)
    raw = connection.connection
    before = _snapshot(world.provider.pk)
    _admin_sql(_fail_inserts_into(table))
    try:
        with pytest.raises(IntegrityError):
            _intake(world, 50, T + timedelta(minutes=10), link_url_for=lambda t: f"/x/{t}/")
        assert _snapshot(world.provider.pk) == before
        _connection_is_clean(raw)
        if table == "cases_event":  # every transition writes an event (not always a clock)
            with pytest.raises(IntegrityError):
                world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=11))
            assert _snapshot(world.provider.pk) == before
            _connection_is_clean(raw)
    finally:
        _admin_sql(_allow_inserts_into(table))
    made = _intake(world, 51, T + timedelta(minutes=12))
    world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=13))
    _case_is_whole(made, kinds=Counter({"case_opened": 1}))
    chain_is_whole(world.provider.pk)
    assert connection.connection is raw


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", ["cases_obligation", "comms_outboxmessage"])
def test_a_refused_pipeline_at_any_point_of_the_prepare_threshold_leaves_a_working_connection(
    table: str,
) -> None:
    """For k = 0..8 successful openings on a fresh connection, then one whose pipeline is
    refused, then two more: psycopg prepares a statement on its sixth run, possibly inside the
    aborted pipeline; the connection must not be left believing in a statement the server
    never prepared (or the reverse)."""
    slug = "rtpr-" + table.split("_")[1][:6]
    world = make_world(slug, "v4voip.toml", "RTR", "communications-ombudsman")
    n = 0
    for k in range(9):
        connections.close_all()  # a fresh connection: psycopg's prepared cache starts empty
        for _ in range(k):
            n += 1
            _intake(world, n, T)
        connection.ensure_connection()
        raw = connection.connection
        before = _snapshot(world.provider.pk)
        _admin_sql(_fail_inserts_into(table))
        try:
            with pytest.raises(IntegrityError):
                _intake(world, 10_000 + k, T)
        finally:
            _admin_sql(_allow_inserts_into(table))
        assert _snapshot(world.provider.pk) == before, k
        _connection_is_clean(raw)
        for _ in range(2):
            n += 1
            try:
                _intake(world, n, T)
            except DatabaseError as error:
                pytest.fail(
                    f"after {k} openings and a refused one: {type(error).__name__}: {error}"
                )
        assert connection.connection is raw
    chain_is_whole(world.provider.pk)


# --------------------------------------------------------------------------- 3. prepared + DDL


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def _warm(world: World, start: int, count: int = 7) -> list[Case]:
    made = []
    for n in range(start, start + count):
        case = _intake(world, n, T)
        world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=5))
        made.append(case)
    return made


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("from_another_connection", [False, True])
def test_prepared_statements_survive_a_column_added_to_the_tables_they_write(
    from_another_connection: bool,
) -> None:
    world = make_world("rtddl", "v4voip.toml", "RTL", "communications-ombudsman")
    connections.close_all()
    cases = _warm(world, 1)
    prepared = _prepared()
    assert any(s.startswith('INSERT INTO "cases_obligation"') for s in prepared), prepared
    assert any(s.startswith("WITH guard AS") for s in prepared), prepared
    assert any(s.startswith('SELECT "cases_case"."id"') for s in prepared), prepared
    raw = connection.connection
    tables = ["cases_obligation", "cases_event", "cases_case", "providers_providerledger"]
    add = [f'ALTER TABLE "{t}" ADD COLUMN redteam_tmp integer NULL' for t in tables]
    drop = [f'ALTER TABLE "{t}" DROP COLUMN IF EXISTS redteam_tmp' for t in tables]
    try:
        if from_another_connection:
            _admin_sql(add)
        else:
            with connection.cursor() as cursor:
                for sql in add:
                    cursor.execute(sql)
        made = _intake(world, 100, T + timedelta(hours=1))
        world.act(made, Action.ACKNOWLEDGE, T + timedelta(hours=1, minutes=1))
        world.act(cases[0], Action.ASSIGN, T + timedelta(hours=1, minutes=2))
        assert connection.connection is raw
    finally:
        _admin_sql(drop)
    _case_is_whole(made, kinds=Counter({"case_opened": 1, "acknowledge": 1}))
    chain_is_whole(world.provider.pk)


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_migration_changing_a_column_type_fails_one_call_per_kept_connection_cleanly() -> None:
    """What a deploy's migration does while old web processes keep their connections
    (CONN_MAX_AGE): ALTER COLUMN ... TYPE on a column the prepared lock-and-read of a case
    selects. PostgreSQL refuses the prepared plan once ('cached plan must not change result
    type'): that call fails whole (nothing of it written), psycopg forgets its prepared
    statements with the rollback, and the next calls on the same connection work. This is
    the documented cost of AMENDS_PG_PREPARED (README: restart after migrating)."""
    world = make_world("rtwide", "v4voip.toml", "RTW", "communications-ombudsman")
    connections.close_all()
    cases = _warm(world, 1)
    assert any(s.startswith('SELECT "cases_case"."id"') for s in _prepared())
    raw = connection.connection
    _admin_sql(['ALTER TABLE "cases_case" ALTER COLUMN "summary" TYPE varchar(201)'])
    try:
        outcomes: list[str] = []
        for attempt in range(3):  # the next requests on the same (kept) connection
            case = cases[attempt]
            events_before = Event.objects.filter(case=case).count() if outcomes else None
            try:
                world.act(case, Action.ASSIGN, T + timedelta(hours=1, minutes=attempt))
                outcomes.append("ok")
            except DatabaseError as error:
                assert "cached plan must not change result type" in str(error)
                outcomes.append("refused")
                assert Case.objects.get(pk=case.pk).handler_id is None  # nothing written
            if events_before is not None:
                assert Event.objects.filter(case=case).count() == events_before + 1
        assert connection.connection is raw
        assert outcomes in (["ok", "ok", "ok"], ["refused", "ok", "ok"]), outcomes
        connections.close_all()  # a new connection (a restarted process) never fails
        world.act(cases[3], Action.ASSIGN, T + timedelta(hours=2))
        chain_is_whole(world.provider.pk)
    finally:
        connections.close_all()
        _admin_sql(['ALTER TABLE "cases_case" ALTER COLUMN "summary" TYPE varchar(200)'])


# --------------------------------------------------------------------------- 4. webhooks


def _hooked(world: World, settings: Any) -> int:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    admin = staff_create(
        provider=world.provider,
        username=f"{world.provider.slug}-admin",
        role=Role.ADMIN,
        email=f"admin@{world.provider.slug}.example.invalid",
    )
    endpoint = webhook_endpoint_create(
        actor=staff_actor(admin),
        url="http://127.0.0.1:9/redteam",
        types=list(WebhookType.values),
        now=T - timedelta(days=1),
    )
    return int(endpoint.pk)


def _deliveries_name_their_events(provider_id: int, endpoint_id: int) -> int:
    """Exactly one delivery per (event, type) the endpoint subscribes to, naming the event's
    sequence, type and case."""
    expected = Counter(
        (type_.value, e.sequence, e.case_id)
        for e in Event.objects.filter(provider_id=provider_id)
        for type_ in types_for(e.kind, e.data)
    )
    got = Counter(
        WebhookDelivery.objects.filter(
            provider_id=provider_id, endpoint_id=endpoint_id
        ).values_list("type", "event_sequence", "case_id")
    )
    assert got == expected
    return sum(got.values())


@pytest.mark.django_db(transaction=True)
def test_webhook_deliveries_written_in_a_pipelined_flush_name_their_events(settings: Any) -> None:
    world = make_world("rthook", "v4voip.toml", "RTH", "communications-ombudsman")
    endpoint_id = _hooked(world, settings)
    for n in range(8):
        case = _intake(world, n, T + timedelta(minutes=n))
        world.act(case, Action.ACKNOWLEDGE, T + timedelta(minutes=n, seconds=30))
    count = _deliveries_name_their_events(world.provider.pk, endpoint_id)
    assert count == 16
    chain_is_whole(world.provider.pk)


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_webhook_deliveries_of_writers_that_took_the_fallback_name_their_events(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world("rthookc", "v4voip.toml", "RTK", "communications-ombudsman")
    endpoint_id = _hooked(world, settings)
    world.open(T)
    writers = 5
    fallbacks = _Counted(events._ledger_advance)
    monkeypatch.setattr(events, "_ledger_advance", fallbacks)
    barrier = threading.Barrier(writers, timeout=60)
    monkeypatch.setattr(
        actions, "code_version_and_head", _gate(actions.code_version_and_head, barrier)
    )
    made: dict[int, int] = {}

    def open_one(n: int) -> None:
        made[n] = _intake(world, 200 + n, T + timedelta(minutes=1)).pk

    _no_errors(_in_threads(writers, open_one, [barrier]))
    assert fallbacks.calls >= writers - 1
    monkeypatch.undo()
    monkeypatch.setattr(events, "_ledger_advance", fallbacks)
    barrier = threading.Barrier(writers, timeout=60)
    monkeypatch.setattr(writes, "ledger_head", _gate(writes.ledger_head, barrier))

    def acknowledge(n: int) -> None:
        world.act(Case.objects.get(pk=made[n]), Action.ACKNOWLEDGE, T + timedelta(minutes=9))

    _no_errors(_in_threads(writers, acknowledge, [barrier]))
    assert fallbacks.calls >= 2 * (writers - 1)
    count = _deliveries_name_their_events(world.provider.pk, endpoint_id)
    assert count == 1 + 2 * writers
    chain_is_whole(world.provider.pk)


# --------------------------------------------------------------------------- 5. capture


_TRACE = re.compile(r"^(?:[^\t]*\t)?F\t\d+\t(\w+)\t?(.*)$")


def _quoted(args: str) -> list[str]:
    """The quoted strings of a libpq trace line's arguments (the last one may hold quotes:
    everything up to the line's last quote)."""
    first = re.match(r'^\s*"([^"]*)"\s*(.*)$', args)
    if first is None:
        return []
    rest = first.group(2)
    if rest.startswith('"'):
        return [first.group(1), rest[1 : rest.rfind('"')]]
    return [first.group(1)]


def _server_statements(trace: str, known: dict[str, str]) -> list[str]:
    """The statements the server was asked to run (Query, or Parse/Bind/Execute), in order."""
    parsed: dict[str, str] = dict(known)
    portals: dict[str, str] = {}
    run: list[str] = []
    for line in trace.splitlines():
        match = _TRACE.match(line)
        if match is None:
            continue
        message, args = match.groups()
        if message == "Query":
            run.append(args.strip()[1:-1])
        elif message == "Parse":
            name, text = _quoted(args)[:2]
            parsed[name] = text
        elif message == "Bind":
            portal, statement = re.findall(r'"([^"]*)"', args)[:2]
            portals[portal] = parsed.get(statement, f"<unknown {statement}>")
        elif message == "Execute":
            portal = re.findall(r'"([^"]*)"', args)[0]
            run.append(portals.get(portal, "<unknown portal>"))
    return run


def _head(sql: str) -> str:
    """The statement's text up to its first parameter (a ``$n`` the server was sent, or the
    literal Django's capture shows in its place), at most 30 characters."""
    text = " ".join(sql.split())
    cut = re.search(r"\$\d|'|%s", text)
    return text[: cut.start() if cut else len(text)][:30]


_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


@POSTGRES_ONLY
@pytest.mark.django_db
@pytest.mark.parametrize("service", ["intake", "assign"])
def test_every_statement_the_server_runs_in_a_pipeline_is_captured(
    service: str, iss: World
) -> None:
    """libpq's own trace of the protocol (what left for the server) against Django's
    CaptureQueriesContext, for a service run past the prepare threshold."""
    from psycopg import pq

    world = iss  # its handler is introduced by a message when a case is assigned
    cases = [_intake(world, n, T) for n in range(1, 9)]
    for case in cases[:7]:
        world.act(case, Action.ASSIGN, T + timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        known = {name: text for name, text in cursor.fetchall()}
    raw = connection.connection
    with tempfile.TemporaryFile("w+") as trace:
        raw.pgconn.trace(trace.fileno())
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)  # after trace(), which resets
        try:
            with CaptureQueriesContext(connection) as captured:
                if service == "intake":
                    _intake(world, 99, T + timedelta(minutes=10), link_url_for=lambda t: f"/{t}/")
                else:
                    world.act(cases[7], Action.ASSIGN, T + timedelta(minutes=10))
        finally:
            raw.pgconn.untrace()
        trace.seek(0)
        text = trace.read()
    server = [s for s in _server_statements(text, known) if not s.startswith(_CONTROL)]
    django = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(_CONTROL)]
    assert len(server) >= 6, text[:2000]
    # The block really was pipelined: more statements run than round trips (Syncs).
    messages = Counter(m.group(1) for m in map(_TRACE.match, text.splitlines()) if m)
    assert messages["Sync"] < messages["Execute"], messages
    assert "<unknown" not in " ".join(server), text[:4000]
    assert Counter(_head(s) for s in server) == Counter(_head(s) for s in django), (
        [_head(s) for s in server],
        [_head(s) for s in django],
    )
    assert any(_head(s).startswith("WITH guard AS") for s in server)
    if service == "intake":
        assert any(_head(s).startswith('INSERT INTO "cases_obligation"') for s in server)
    else:
        assert any(_head(s).startswith('UPDATE "cases_case"') for s in server)
        assert any(_head(s).startswith('INSERT INTO "comms_outboxmessa') for s in server)


# --------------------------------------------------------------------------- 6. clock keys


@pytest.mark.django_db
def test_clocks_upserted_without_keys_are_read_back_with_them_by_the_worker_and_merge(
    iss: World,
) -> None:
    world = iss
    Customer.objects.filter(pk=world.customer.pk).update(email="pat@example.invalid")
    world.customer.refresh_from_db()
    case = world.open(T)
    duplicate = world.open(T + timedelta(minutes=3))
    assert Obligation.objects.filter(case=case).exists()
    assert not Obligation.objects.filter(pk__isnull=True).exists()
    due = Obligation.objects.get(case=case, key="acknowledge").due_at
    assert obligation_sweep(due + timedelta(seconds=1)) >= 1
    breached = Obligation.objects.get(case=case, key="acknowledge")
    assert breached.state == "breached"
    keys = list(OutboxMessage.objects.values_list("key", flat=True))
    assert f"obligation:{breached.pk}:breach_notice" in keys
    assert not [k for k in keys if "None" in k], keys
    # A later transition re-upserts the breached clock (met late): the row keeps its key.
    world.act(case, Action.ACKNOWLEDGE, due + timedelta(minutes=5))
    again = Obligation.objects.get(case=case, key="acknowledge")
    assert again.pk == breached.pk and again.met_at is not None
    case_merge(
        case_id=case.pk,
        actor=world.staff,
        duplicate_id=duplicate.pk,
        now=due + timedelta(minutes=10),
        reason="same fault",
    )
    for each in (case, duplicate):
        each.refresh_from_db()
        rows = {o.key: o.state for o in Obligation.objects.filter(case=each)}
        assert rows == {k: e[0] for k, e in each.clocks.items()}, each.reference
    assert "pending" not in {o.state for o in Obligation.objects.filter(case=duplicate)}
    chain_is_whole(world.provider.pk)


# --------------------------------------------------------------------------- 7. public form


def _walk(client: Client) -> None:
    walk(
        client,
        "v4voip",
        "complaint",
        answers(about={"summary": "Red team double filing", "description": "Calls drop."}),
    )


def _filed() -> int:
    return Case.objects.filter(summary="Red team double filing").count()


@pytest.fixture
def demo() -> Iterator[None]:
    from amends.core.demo import demo_load

    cache.clear()
    demo_load()
    yield
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_the_check_page_posted_twice_in_a_row_files_one_case(demo: None) -> None:
    client = Client()
    _walk(client)
    first = client.post("/v4voip/complaint/check/")
    assert first.status_code == 302 and first["Location"].endswith("/sent/")
    second = client.post("/v4voip/complaint/check/")
    assert second.status_code in (302, 200, 400)
    assert _filed() == 1


@pytest.mark.django_db(transaction=True)
def test_the_check_page_posted_twice_at_once_files_one_case(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two POSTs of check-your-answers with the same session cookie, both past the session
    read before either files (a double click, a retry by a proxy). Before the session's row
    was locked and read again in the filing's transaction, both filed (2 cases, on both
    databases); now the second finds the answers gone and shows the first's confirmation."""
    from amends.portal import public

    client = Client()
    _walk(client)
    cookies = SimpleCookie()
    cookies.load(client.cookies.output(header="", sep=";"))
    filing = public._file
    barrier = threading.Barrier(2, timeout=60)

    def gated(flow: Any, done_key: str) -> Any:
        barrier.wait()  # both requests have read the session's answers
        return filing(flow, done_key)

    monkeypatch.setattr(public, "_file", gated)
    statuses: dict[int, int] = {}

    def post(n: int) -> None:
        other = Client()
        other.cookies = SimpleCookie(cookies)
        statuses[n] = other.post("/v4voip/complaint/check/").status_code

    results = _in_threads(2, post, [barrier])
    _no_errors(results)
    filed = _filed()
    assert filed == 1, f"{filed} cases filed from one session's answers (statuses {statuses})"
    assert statuses == {0: 302, 1: 302}
    reference = Case.objects.get(summary="Red team double filing").reference
    assert reference in client.get("/v4voip/complaint/sent/").content.decode()


# --------------------------------------------------------------------------- 8. (extra) casts


@pytest.mark.django_db
def test_a_value_too_long_for_its_column_is_refused_not_cut_in_the_one_statement_seal(
    v4voip: World,
) -> None:
    """insert_if casts each parameter to its column's type (``%s::varchar(100)``); an explicit
    cast to varchar(n) CUTS a longer text instead of refusing it, so an event sealed over the
    whole text would be stored cut and its seal would no longer verify. Either the write is
    refused (DataError, as a plain INSERT is on PostgreSQL) or what is stored verifies."""
    from django.db import DataError

    from amends.cases.events import Chain

    case = v4voip.open(T)
    ledger = ProviderLedger.objects.get(provider=v4voip.provider)
    chain = Chain(v4voip.provider.pk)
    chain.add(case=case, actor="a" * 101, at=T, kind=EventKind.NOTE_ADDED, data={"n": 1})
    try:
        with transaction.atomic():
            chain.flush(head=(ledger.last_event_sequence, ledger.last_event_hash))
    except DataError:
        return  # refused, as the ORM's INSERT is
    stored = Event.objects.filter(provider=v4voip.provider, kind="note_added").get()
    broken = audit_verify(provider_id=v4voip.provider.pk).broken
    assert len(stored.actor) == 101, (
        f"stored actor cut to {len(stored.actor)} characters; audit verify: {broken}"
    )
    chain_is_whole(v4voip.provider.pk)
