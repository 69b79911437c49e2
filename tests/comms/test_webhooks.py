"""Webhooks against a real receiver (a local HTTP server each test starts and stops): each
type made by its cause for its subscribers only, in the transaction of its cause and at the
cost of one INSERT; signed by the Standard Webhooks scheme (checked here by recomputing it, not
with the library that signs); delivered exactly once, in order per case, through failures and
timeouts; a day of failures disables the endpoint and tells the provider's administrator;
replay; the lease between concurrent sweeps; the worker's clocks never wait on a receiver;
where a webhook may post; routes kept under the ledger's lock."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from amends.cases import actions
from amends.cases.actors import Actor, staff_actor
from amends.cases.models import Case, Customer, Event, Obligation
from amends.cases.worker import obligation_sweep
from amends.comms.models import (
    OutboxMessage,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
    WebhookType,
)
from amends.comms.webhooks import (
    RETRY_WINDOW,
    SCHEDULE,
    WebhookError,
    webhook_delivery_list,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_sweep,
)
from amends.core.worker import Worker
from amends.domain.access import ActorKind, ApiScope, Role
from amends.domain.lifecycle import Action
from amends.providers.models import ProviderLedger, StaffMember
from amends.providers.services import staff_create
from tests.cases.conftest import World, london

T0 = london(2026, 11, 20, 10)  # a Friday, Greenwich Mean Time
SUMMER = london(2026, 7, 1, 10)  # British Summer Time: London is not UTC
ALL = list(WebhookType.values)
EMAIL = "pat.example@example.invalid"
#: What a customer or handler wrote: never in a webhook body.
PRIVATE = (
    "Pat Example",
    "Example Ltd",
    EMAIL,
    "Line dead since Monday",
    "1 High Street",
    "still no dial tone at home",
    "Sorry about the outage at 1 High Street",
    "No fault found at the customer's premises",
)


# --------------------------------------------------------------------------- the receiver


@dataclass
class Hit:
    """One request the receiver got, and how it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    mode: str
    accepted: bool = False

    @property
    def msg_id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def json(self) -> dict[str, Any]:
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed


class Receiver:
    """A local HTTP server whose answers a test switches: each request takes the next mode of
    ``plan``, else its path's mode in ``by_path``, else ``default``.

    ``ok`` 200; ``fail`` 500; ``slow`` never answers (holds the connection until the test
    ends: the sender times out); ``hang`` waits for ``release`` then answers 200;
    ``redirect`` 302 to another path here; ``drip`` starts an answer and sends a byte of it
    every half second (each read is quick, the whole answer never comes)."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.by_path: dict[str, str] = {}
        self.default = "ok"
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    if receiver.plan:
                        mode = receiver.plan.pop(0)
                    else:
                        mode = receiver.by_path.get(self.path, receiver.default)
                    hit = Hit(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body, mode
                    )
                    receiver.hits.append(hit)
                with contextlib.suppress(OSError):  # the sender gave up first
                    receiver.answer(self, hit)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, handler: BaseHTTPRequestHandler, hit: Hit) -> None:
        if hit.mode == "slow":
            self.closing.wait(120)
            return
        if hit.mode == "hang":
            self.hanging.set()
            if not self.release.wait(120):
                return
        if hit.mode == "drip":
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            handler.wfile.flush()
            for _ in range(240):
                if self.closing.wait(0.5):
                    return
                handler.wfile.write(b"X")
                handler.wfile.flush()
            return
        if hit.mode == "redirect":
            handler.send_response(302)
            handler.send_header("Location", f"{self.base}/elsewhere")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        status = 500 if hit.mode == "fail" else 200
        with self.lock:  # (before the sender can see the answer)
            hit.accepted = status == 200
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", "2")
            handler.end_headers()
            handler.wfile.write(b"ok" if status == 200 else b"no")
            handler.wfile.flush()
        except OSError:
            with self.lock:
                hit.accepted = False
            raise

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base}/hook"

    def accepted(self) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.accepted]

    def paths(self) -> list[str]:
        with self.lock:
            return [hit.path for hit in self.hits]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.release.set()
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(10)


@pytest.fixture(autouse=True)
def webhook_settings(settings: Any) -> None:
    """The receiver is on loopback over http (allowed outside production), and has the
    default 10 s to answer (tests that wait a timeout out make it short for that step)."""
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    settings.AMENDS_WEBHOOK_TIMEOUT = 10.0


# --------------------------------------------------------------------------- the verifier


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """The Standard Webhooks scheme, recomputed: base64 HMAC-SHA256 of
    ``{webhook-id}.{webhook-timestamp}.{body}`` with the base64-decoded secret after
    ``whsec_``, among the space-separated ``v1,<signature>`` values."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    assert len(key) >= 24
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    assert ["v1", expected] in offered, (headers["webhook-signature"], expected)


# --------------------------------------------------------------------------- helpers


def admin_of(world: World) -> Actor:
    """The provider's administrator (made once): may manage webhooks, is told of a disabled
    endpoint."""
    member = StaffMember.objects.filter(provider=world.provider, role=Role.ADMIN.value).first()
    if member is None:
        member = staff_create(
            provider=world.provider,
            username=f"{world.provider.slug}-admin",
            role=Role.ADMIN,
            email=f"admin@{world.provider.slug}.example.invalid",
        )
    return staff_actor(member)


def integration(world: World) -> Actor:
    """The provider's CRM through an API token with the webhooks scope."""
    return Actor(
        kind=ActorKind.INTEGRATION,
        label="token:1",
        provider_id=world.provider.pk,
        scopes=frozenset({ApiScope.WEBHOOKS}),
    )


def subscribe(
    world: World, url: str, types: list[str] | None = None, *, actor: Actor | None = None
) -> WebhookEndpoint:
    return webhook_endpoint_create(
        actor=actor or admin_of(world),
        url=url,
        types=ALL if types is None else types,
        now=T0 - timedelta(days=1),
    )


def sweep(now: datetime) -> int:
    """One pass of the webhook sweep at ``now`` (every attempt made at that instant)."""
    return webhook_sweep(now, clock=lambda: now)


def pending() -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(status=WebhookStatus.PENDING).order_by("id"))


def later_due(owed: list[WebhookDelivery], now: datetime) -> datetime:
    """The next time after ``now`` a pending delivery is due (those waiting behind an earlier
    one of their case are due already and wait for it)."""
    return min(d.next_attempt_at for d in owed if d.next_attempt_at > now)


def drain(start: datetime, *, passes: int = 100) -> datetime:
    """Sweep from ``start``, each pass at the earliest time anything pending is due, until
    nothing is pending; return the time of the last pass."""
    now = start
    for _ in range(passes):
        if not sweep(now):  # nothing more now: on to the next time something is due
            owed = pending()
            if not owed:
                return now
            now = later_due(owed, now)
    raise AssertionError(f"still pending after {passes} passes: {pending()}")


def in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``target`` in a thread with its own database connection (closed at the end)."""
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(target())
        except BaseException as error:  # reported by the test
            results.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def with_email(world: World) -> World:
    Customer.objects.filter(pk=world.customer.pk).update(
        email=EMAIL, postal_address="1 High Street\nEbbw Vale\nNP23 6AA"
    )
    world.customer.refresh_from_db()
    return world


def compensate(world: World, case: Case, now: datetime, actor: Actor | None = None) -> None:
    actions.case_record_compensation(
        case_id=case.pk,
        actor=actor or world.staff,
        amount_pence=2000,
        reason="Sorry about the outage at 1 High Street",
        form="invoice_credit",  # type: ignore[arg-type]
        basis="goodwill",  # type: ignore[arg-type]
        now=now,
    )


def message_in(world: World, case: Case, now: datetime) -> None:
    actions.case_message_received(
        case_id=case.pk,
        actor=world.system,
        message=17,
        summary="Pat Example: still no dial tone at home",
        now=now,
    )


# --------------------------------------------------------------------------- 1. what is made


@pytest.mark.django_db
def test_each_type_is_made_by_its_cause_and_only_for_the_endpoints_subscribed_to_it(
    iss: World, receiver: Receiver
) -> None:
    world = with_email(iss)
    every = subscribe(world, receiver.url)
    single = {t: subscribe(world, f"{receiver.url}/{t}", [t]) for t in ALL}
    mark = [0]

    def made(cause: Callable[[], object], expected: set[str]) -> list[WebhookDelivery]:
        cause()
        rows = list(WebhookDelivery.objects.filter(id__gt=mark[0]).order_by("id"))
        mark[0] = max([mark[0], *(r.pk for r in rows)])
        to_every = [r for r in rows if r.endpoint_id == every.pk]
        assert {r.type for r in to_every} == expected
        for type_, endpoint in single.items():
            mine = [r for r in rows if r.endpoint_id == endpoint.pk]
            assert {r.type for r in mine} == ({type_} & expected), type_
            assert len(mine) == len([r for r in to_every if r.type == type_])
            assert [r.body for r in mine] == [r.body for r in to_every if r.type == type_]
        assert len({r.msg_id for r in rows}) == len(rows)
        return to_every

    cases: dict[str, Case] = {}
    made_first = made(lambda: cases.update(a=world.open(T0)), {"case.opened"})
    made(lambda: cases.update(b=world.open(T0 + timedelta(minutes=5))), {"case.opened"})
    made(lambda: cases.update(c=world.open(T0 + timedelta(minutes=6))), {"case.opened"})
    a, b, c = cases["a"], cases["b"], cases["c"]

    acknowledged = made(
        lambda: world.act(a, Action.ACKNOWLEDGE, T0 + timedelta(hours=1)), {"case.state_changed"}
    )
    made(lambda: compensate(world, a, T0 + timedelta(hours=2)), {"compensation.recorded"})
    made(lambda: message_in(world, a, T0 + timedelta(hours=3)), {"message.received"})
    ack_due = Obligation.objects.get(case=b, key="acknowledge").due_at
    breached = made(lambda: obligation_sweep(ack_due + timedelta(seconds=1)), {"clock.breached"})
    deadlock = made(
        lambda: world.act(
            a,
            Action.DECLARE_DEADLOCK,
            ack_due + timedelta(hours=1),
            final_position="No fault found at the customer's premises",
        ),
        {"case.state_changed", "adr_letter.issued"},
    )
    requested = made(
        lambda: world.act(c, Action.REQUEST_ADR_LETTER, ack_due + timedelta(hours=2)),
        {"case.state_changed", "adr_letter.issued"},
    )

    # What each body says: the case, the event (its kind and sequence), facts, no person.
    for row in WebhookDelivery.objects.select_related("case"):
        body = json.loads(row.body)
        assert body["type"] == row.type
        event = Event.objects.get(provider=world.provider, sequence=row.event_sequence)
        assert body["data"]["event"]["sequence"] == event.sequence
        assert body["data"]["event"]["kind"] == event.kind
        assert body["data"]["case"]["id"] == row.case_id == event.case_id
        assert body["data"]["case"]["reference"] == row.case.reference
        assert "customer" not in body["data"] and "customer" not in body["data"]["case"]
        for text in PRIVATE:
            assert text not in row.body, (row.type, text)
    by_kind = {
        json.loads(r.body)["data"]["event"]["kind"]: json.loads(r.body)["data"]["event"]
        for r in [*acknowledged, *breached, *deadlock, *requested]
    }
    opening = json.loads(made_first[0].body)["data"]
    assert (opening["event"]["kind"], opening["case"]["kind"]) == ("case_opened", "complaint")
    assert opening["event"]["channel"] == "phone" and "first_received_at" in opening["event"]
    assert by_kind["acknowledge"]["from"] == "received"
    assert by_kind["acknowledge"]["to"] == "acknowledged"
    assert by_kind["obligation_breached"]["obligation"] == "acknowledge"
    assert {
        json.loads(r.body)["data"]["event"].get("trigger")
        for r in [*deadlock, *requested]
        if r.type == "adr_letter.issued"
    } == {"deadlock", "customer_request"}
    assert b.pk in {d.case_id for d in breached}
    assert {json.loads(d.body)["data"]["event"]["obligation"] for d in breached} >= {"acknowledge"}


# --------------------------------------------------------------------------- 2. what it costs


def statements(call: Callable[[], object]) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        call()
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))
    ]


def touches_webhooks(sql: str) -> bool:
    return "webhookdelivery" in sql.lower() or "webhookendpoint" in sql.lower()


@pytest.mark.django_db
def test_no_subscriber_costs_no_statement_and_deliveries_owed_cost_one_insert(
    iss: World, receiver: Receiver
) -> None:
    staff = iss.staff  # a face resolves its actor once, outside the service
    warm = iss.open(T0)  # (the code is parsed once per process)
    iss.act(warm, Action.ACKNOWLEDGE, T0 + timedelta(minutes=1), actor=staff)

    def costs(minute: int) -> dict[str, list[str]]:
        at = T0 + timedelta(minutes=minute)
        made: list[Case] = []
        opened = statements(lambda: made.append(iss.open(at)))
        case = made[0]
        return {
            "open": opened,  # the chain without a head read: UPDATE ... RETURNING the routes
            "acknowledge": statements(  # the head read with the case: UPDATE ... WHERE head
                lambda: iss.act(case, Action.ACKNOWLEDGE, at + timedelta(hours=1), actor=staff)
            ),
            "compensate": statements(
                lambda: compensate(iss, case, at + timedelta(hours=2), actor=staff)
            ),
            # several events, several types, several endpoints: still one INSERT
            "deadlock": statements(
                lambda: iss.act(case, Action.DECLARE_DEADLOCK, at + timedelta(hours=3), actor=staff)
            ),
        }

    none = costs(10)
    subscribe(iss, receiver.url, ["message.received", "clock.breached"])
    other = costs(20)
    assert WebhookDelivery.objects.count() == 0
    subscribe(iss, receiver.url, ALL)
    subscribe(iss, receiver.url, ["case.opened", "case.state_changed", "adr_letter.issued"])
    owed = costs(30)

    for name in none:
        assert len(other[name]) == len(none[name]), (name, other[name], none[name])
        assert not [s for s in none[name] + other[name] if touches_webhooks(s)]
        extra = [s for s in owed[name] if touches_webhooks(s)]
        assert len(owed[name]) == len(none[name]) + 1, name
        assert len(extra) == 1 and extra[0].upper().startswith("INSERT"), extra
    assert WebhookDelivery.objects.filter(type="adr_letter.issued").count() == 2
    assert WebhookDelivery.objects.filter(type="case.state_changed").count() == 2 * 3
    assert WebhookDelivery.objects.filter(type="compensation.recorded").count() == 1


# --------------------------------------------------------------------------- 3. the signature


@pytest.mark.django_db
def test_each_attempt_is_signed_by_the_standard_webhooks_scheme_at_its_own_time(
    iss: World, receiver: Receiver
) -> None:
    endpoint = subscribe(iss, receiver.url, ["case.opened"])
    iss.open(SUMMER)
    delivery = WebhookDelivery.objects.get()
    receiver.plan = ["fail"]
    first = SUMMER + timedelta(minutes=7, seconds=30)  # British Summer Time on the clock
    assert sweep(first) == 1
    second = first + SCHEDULE[0]
    assert sweep(second) == 1

    assert [hit.mode for hit in receiver.hits] == ["fail", "ok"]
    for hit, at in zip(receiver.hits, (first, second), strict=True):
        assert hit.path == "/hook"
        assert hit.headers["content-type"] == "application/json"
        assert hit.headers["webhook-id"] == delivery.msg_id  # the same on every attempt
        assert hit.headers["webhook-timestamp"] == str(int(at.timestamp()))
        assert hit.body == delivery.body.encode()
        verify(endpoint.secret, hit.headers, hit.body)
    assert (
        receiver.hits[0].headers["webhook-signature"]
        != receiver.hits[1].headers["webhook-signature"]
    )
    # The verifier is not a rubber stamp: a changed body, id or time fails it.
    hit = receiver.hits[1]
    for headers, body in (
        (hit.headers, hit.body.replace(b"case.opened", b"case.closed")),
        ({**hit.headers, "webhook-id": "msg_other"}, hit.body),
        ({**hit.headers, "webhook-timestamp": str(int(second.timestamp()) + 3600)}, hit.body),
    ):
        with pytest.raises(AssertionError):
            verify(endpoint.secret, headers, body)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("sent", 2, second)
    assert endpoint.secret not in delivery.body


# --------------------------------------------------------------------------- 4. exactly once


@pytest.mark.django_db
def test_a_receiver_that_fails_then_times_out_then_recovers_gets_each_event_once_in_order(
    iss: World, receiver: Receiver, settings: Any
) -> None:
    subscribe(iss, receiver.url)
    a = iss.open(T0)
    iss.act(a, Action.ACKNOWLEDGE, T0 + timedelta(minutes=1))
    compensate(iss, a, T0 + timedelta(minutes=2))
    b = iss.open(T0 + timedelta(minutes=3))
    iss.act(a, Action.ESCALATE, T0 + timedelta(minutes=4))
    iss.act(b, Action.ACKNOWLEDGE, T0 + timedelta(minutes=5))
    message_in(iss, a, T0 + timedelta(minutes=6))
    owed = pending()
    assert len(owed) == 7
    first = owed[0]
    assert (first.case_id, first.type) == (a.pk, "case.opened")

    receiver.plan = ["fail", "slow"]
    start = T0 + timedelta(minutes=10)
    assert sweep(start) == 1  # a's first event fails: nothing else to that endpoint this pass
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_status) == ("pending", 1, 500)
    assert first.next_attempt_at == start + SCHEDULE[0]
    # a's later events wait behind it: only b's first event is due meanwhile (and times out)
    settings.AMENDS_WEBHOOK_TIMEOUT = 2.0
    assert sweep(start + SCHEDULE[0] - timedelta(seconds=1)) == 1
    settings.AMENDS_WEBHOOK_TIMEOUT = 10.0
    assert receiver.hits[1].mode == "slow"
    assert json.loads(receiver.hits[1].body)["data"]["case"]["id"] == b.pk
    slow = WebhookDelivery.objects.get(msg_id=receiver.hits[1].msg_id)
    assert (slow.attempts, slow.last_status) == (1, None)
    assert "No answer within" in slow.last_error
    assert slow.next_attempt_at == slow.last_attempt_at + SCHEDULE[0]
    first.refresh_from_db()
    assert first.attempts == 1  # not tried before its time

    drain(start + SCHEDULE[0])

    delivered = WebhookDelivery.objects.order_by("id")
    assert {d.status for d in delivered} == {"sent"}
    accepted = receiver.accepted()
    counts = Counter(hit.msg_id for hit in accepted)
    assert set(counts) == {d.msg_id for d in delivered}
    assert set(counts.values()) == {1}, counts
    for case in (a, b):
        seen = [
            hit.json["data"]["event"]["sequence"]
            for hit in accepted
            if hit.json["data"]["case"]["id"] == case.pk
        ]
        expected = list(
            delivered.filter(case=case)
            .order_by("event_sequence")
            .values_list("event_sequence", flat=True)
        )
        assert seen == expected, (case.pk, seen, expected)
    first.refresh_from_db()
    assert (first.attempts, first.sent_at) == (2, start + SCHEDULE[0])
    assert [hit.mode for hit in receiver.hits[:2]] == ["fail", "slow"]


# --------------------------------------------------------------------------- 5. a day of failures


def fail_for_a_day(delivery: WebhookDelivery, start: datetime) -> list[datetime]:
    """Sweep at each time anything is due until ``delivery`` is no longer pending; return
    the times it was tried."""
    tried: list[datetime] = []
    now = start
    for _ in range(200):
        attempts = sweep(now)
        delivery.refresh_from_db()
        if delivery.last_attempt_at == now and (not tried or tried[-1] != now):
            tried.append(now)
        if delivery.status != WebhookStatus.PENDING:
            return tried
        if not attempts:
            now = later_due(pending(), now)
    raise AssertionError("still pending after 200 passes")


@pytest.mark.django_db
def test_a_day_of_failures_disables_the_endpoint_fails_what_it_is_owed_and_tells_the_admin(
    iss: World, receiver: Receiver
) -> None:
    admin = admin_of(iss)
    broken = subscribe(iss, f"{receiver.base}/broken")
    working = subscribe(iss, receiver.url)
    receiver.by_path["/broken"] = "fail"
    a = iss.open(T0)
    iss.act(a, Action.ACKNOWLEDGE, T0 + timedelta(minutes=1))  # waits behind a's first
    b = iss.open(T0 + timedelta(hours=1))  # another case: tried on its own schedule
    first = WebhookDelivery.objects.get(endpoint=broken, case=a, type="case.opened")

    tried = fail_for_a_day(first, T0)

    # 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, and the last when the day is up
    gaps = [later - earlier for earlier, later in zip(tried, tried[1:], strict=False)]
    assert gaps[:-1] == list(SCHEDULE), gaps
    assert tried[-1] == first.created_at + RETRY_WINDOW  # not 10 h after the one before
    assert timedelta(0) < gaps[-1] <= SCHEDULE[-1]
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_status) == ("failed", len(tried), 500)

    broken.refresh_from_db()
    assert broken.disabled_at == tried[-1]
    assert first.msg_id in broken.disabled_reason
    owed = WebhookDelivery.objects.filter(endpoint=broken).exclude(pk=first.pk)
    assert owed.count() >= 2 and {d.status for d in owed} == {"failed"}
    assert {d.case_id for d in owed} == {a.pk, b.pk}
    assert {d.status for d in WebhookDelivery.objects.filter(endpoint=working)} == {"sent"}
    routes = ProviderLedger.objects.get(provider=iss.provider).webhook_routes
    assert all(ids == [working.pk] for ids in routes.values()), routes

    # New events make no delivery for it; the working endpoint still gets them.
    iss.act(b, Action.ACKNOWLEDGE, tried[-1] + timedelta(minutes=1))
    latest = WebhookDelivery.objects.filter(case=b, type="case.state_changed")
    assert [d.endpoint_id for d in latest] == [working.pk]
    hits = len(receiver.hits)
    assert sweep(tried[-1] + timedelta(days=2)) == 1
    assert receiver.paths()[hits:] == ["/hook"]

    notices = OutboxMessage.objects.filter(kind="webhook_disabled")
    assert notices.count() == 1
    notice = notices.get()
    assert (notice.audience, notice.channel, notice.case_id) == ("staff", "staff", None)
    assert notice.recipient_user_id == admin.user_id
    assert notice.recipient_address == f"admin@{iss.provider.slug}.example.invalid"
    assert broken.url in notice.body_text and broken.secret not in notice.body_text


@pytest.mark.django_db
def test_with_no_administrator_the_providers_alerts_address_is_told(
    iss: World, receiver: Receiver
) -> None:
    endpoint = subscribe(iss, receiver.url, ["case.opened"], actor=integration(iss))
    receiver.default = "fail"
    iss.open(T0)
    tried = fail_for_a_day(WebhookDelivery.objects.get(), T0)
    assert tried[-1] == T0 + RETRY_WINDOW
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    notice = OutboxMessage.objects.get(kind="webhook_disabled")
    assert (notice.recipient_user_id, notice.recipient_address) == (
        None,
        iss.provider.alerts_email,
    )


# --------------------------------------------------------------------------- 6. replay


@pytest.mark.django_db
def test_replay_sends_the_same_body_again_under_a_new_webhook_id(
    iss: World, v4voip: World, receiver: Receiver
) -> None:
    endpoint = subscribe(iss, receiver.url, ["case.opened"])
    iss.open(T0)
    original = WebhookDelivery.objects.get()
    assert sweep(T0) == 1
    admin = admin_of(iss)

    replay = webhook_delivery_replay(
        actor=admin, delivery_id=original.pk, now=T0 + timedelta(hours=1)
    )
    assert replay.msg_id != original.msg_id
    assert (replay.body, replay.replay_of_id, replay.status) == (
        original.body,
        original.pk,
        "pending",
    )
    assert sweep(T0 + timedelta(hours=1)) == 1
    replay.refresh_from_db()
    assert replay.status == "sent"
    assert [hit.msg_id for hit in receiver.accepted()] == [original.msg_id, replay.msg_id]
    again = receiver.accepted()[1]
    assert again.body == receiver.accepted()[0].body == original.body.encode()
    verify(endpoint.secret, again.headers, again.body)
    log = webhook_delivery_list(actor=admin, endpoint_id=endpoint.pk)
    assert [d.pk for d in log] == [replay.pk, original.pk]

    # Only those who manage webhooks may replay, and only their own provider's deliveries.
    with pytest.raises(WebhookError) as refused:
        webhook_delivery_replay(actor=iss.staff, delivery_id=original.pk, now=T0)
    assert refused.value.code == "forbidden"
    with pytest.raises(WebhookError) as missing:
        webhook_delivery_replay(actor=admin_of(v4voip), delivery_id=original.pk, now=T0)
    assert missing.value.code == "not_found"


@pytest.mark.django_db
def test_a_failed_delivery_is_replayed_once_its_endpoint_is_enabled_again(
    iss: World, receiver: Receiver
) -> None:
    endpoint = subscribe(iss, receiver.url, ["case.opened"])
    receiver.default = "fail"
    iss.open(T0)
    failed = WebhookDelivery.objects.get()
    tried = fail_for_a_day(failed, T0)
    admin = admin_of(iss)
    receiver.default = "ok"
    later = tried[-1] + timedelta(hours=1)
    replay = webhook_delivery_replay(actor=admin, delivery_id=failed.pk, now=later)
    assert sweep(later) == 0  # the endpoint is disabled: nothing goes to it
    webhook_endpoint_update(actor=admin, endpoint_id=endpoint.pk, enabled=True, now=later)
    assert sweep(later) == 1
    replay.refresh_from_db()
    failed.refresh_from_db()
    assert (replay.status, failed.status) == ("sent", "failed")
    assert [hit.msg_id for hit in receiver.accepted()] == [replay.msg_id]
    assert receiver.accepted()[0].body == failed.body.encode()


# --------------------------------------------------------------------------- 7. clocks never wait


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_hangs_never_delays_the_workers_clocks(
    iss: World, receiver: Receiver, settings: Any
) -> None:
    settings.AMENDS_WEBHOOK_TIMEOUT = 300  # the receiver holds the lane for as long as it likes
    subscribe(iss, receiver.url, ["case.opened"])
    receiver.default = "hang"
    case = iss.open(T0)
    ack = Obligation.objects.get(case=case, key="acknowledge")
    times = [T0 + timedelta(minutes=1)]  # the worker's clock, moved by the test
    worker = Worker(
        interval=0.05,
        sweeps=[obligation_sweep],
        lane=[webhook_sweep],
        clock=lambda: times[0],
    )
    thread, results = in_thread(worker.run)
    try:
        assert receiver.hanging.wait(60), "the lane never posted the webhook"
        # The lane is inside a request that will not end for minutes. The clock passes the
        # acknowledgement's due time: the worker's main loop breaches it regardless.
        times[0] = ack.due_at + timedelta(seconds=1)
        assert wait_until(
            lambda: Obligation.objects.get(pk=ack.pk).state == "breached", timeout=60
        ), "the clock waited for the receiver"
        assert not receiver.release.is_set()
        assert WebhookDelivery.objects.get().status == "pending"  # still on the wire
        assert Event.objects.filter(case=case, kind="obligation_breached").exists()
    finally:
        receiver.release.set()
        worker.stop_requested.set()
        thread.join(60)
    assert not thread.is_alive() and results == [None], results
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert [hit.msg_id for hit in receiver.accepted()] == [delivery.msg_id]


# --------------------------------------------------------------------------- 8. the lease


@pytest.mark.django_db(transaction=True)
def test_a_delivery_on_the_wire_is_not_sent_by_a_second_sweep_while_its_lease_holds(
    iss: World, receiver: Receiver, settings: Any
) -> None:
    settings.AMENDS_WEBHOOK_TIMEOUT = 60  # lease: 3 x 60 + 30 s
    subscribe(iss, receiver.url)
    a = iss.open(T0)
    iss.act(a, Action.ACKNOWLEDGE, T0 + timedelta(minutes=1))
    b = iss.open(T0 + timedelta(minutes=2))
    first, second, other = pending()
    assert (first.case_id, second.case_id, other.case_id) == (a.pk, a.pk, b.pk)
    receiver.plan = ["hang"]
    at = T0 + timedelta(minutes=5)
    thread, results = in_thread(lambda: sweep(at))
    try:
        assert receiver.hanging.wait(60), "the first sweep never posted"
        # While the first sweep waits for the receiver: a's first event is leased, a's
        # second waits behind it, b's goes.
        assert sweep(at) == 1
        assert sweep(at + timedelta(minutes=3)) == 0
        assert receiver.paths().count("/hook") == 2
    finally:
        receiver.release.set()
        thread.join(90)
    assert results == [2]  # a's first, then (in the same pass) a's second, now it may go
    assert sweep(at + timedelta(minutes=3)) == 0
    counts = Counter(hit.msg_id for hit in receiver.hits)
    assert counts == {first.msg_id: 1, second.msg_id: 1, other.msg_id: 1}
    assert {d.status for d in WebhookDelivery.objects.all()} == {"sent"}
    assert WebhookDelivery.objects.get(pk=first.pk).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_deliver_every_event_exactly_once_in_order_per_case(
    iss: World, receiver: Receiver
) -> None:
    subscribe(iss, receiver.url)
    subscribe(iss, f"{receiver.base}/second", ["case.opened", "case.state_changed"])
    cases = [iss.open(T0 + timedelta(minutes=n)) for n in range(4)]
    for n, case in enumerate(cases):
        iss.act(case, Action.ACKNOWLEDGE, T0 + timedelta(hours=1, minutes=n))
        compensate(iss, case, T0 + timedelta(hours=2, minutes=n))
        iss.act(case, Action.ESCALATE, T0 + timedelta(hours=3, minutes=n))
    owed = pending()
    assert len(owed) == 4 * (4 + 3)
    at = T0 + timedelta(hours=4)

    def keep_sweeping() -> int:
        attempts = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            made = sweep(at)
            attempts += made
            if not made:
                if not WebhookDelivery.objects.filter(status="pending").exists():
                    return attempts
                time.sleep(0.02)  # the others have the rest on the wire
        raise AssertionError("deliveries still pending after 2 minutes")

    workers = [in_thread(keep_sweeping) for _ in range(3)]
    for thread, _ in workers:
        thread.join(180)
    made = [result for _, results in workers for result in results]
    assert all(isinstance(n, int) for n in made), made
    assert sum(made) == len(owed)  # no attempt twice, none failed
    counts = Counter(hit.msg_id for hit in receiver.accepted())
    assert counts == Counter(d.msg_id for d in owed)
    for path in ("/hook", "/second"):
        for case in cases:
            seen = [
                hit.json["data"]["event"]["sequence"]
                for hit in receiver.accepted()
                if hit.path == path and hit.json["data"]["case"]["id"] == case.pk
            ]
            assert seen == sorted(seen) and len(seen) == (4 if path == "/hook" else 3), seen
    assert {d.status for d in WebhookDelivery.objects.all()} == {"sent"}


# --------------------------------------------------------------------------- 9. where it may post


@pytest.mark.django_db
def test_endpoint_addresses_are_https_public_and_without_credentials(
    iss: World, settings: Any
) -> None:
    admin = admin_of(iss)

    def refused(url: str) -> str:
        with pytest.raises(WebhookError) as error:
            subscribe(iss, url, actor=admin)
        assert error.value.field == "url"
        return error.value.message

    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = False
    assert "https" in refused("http://1.1.1.1/hook")
    for private in (
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.4/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
    ):
        assert "private network" in refused(private), private
    assert "user name or password" in refused("https://crm:secret@1.1.1.1/hook")
    assert "port" in refused("https://1.1.1.1:99999/hook")
    refused("ftp://1.1.1.1/hook")
    refused("https:///hook")
    refused("https://1.1.1.1/a hook")
    public = subscribe(iss, "https://1.1.1.1/hook", actor=admin)
    assert public.url == "https://1.1.1.1/hook"

    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True  # development and these tests
    assert subscribe(iss, "http://127.0.0.1:8000/hook", actor=admin).pk
    assert "user name or password" in refused("http://crm:secret@127.0.0.1:8000/hook")
    refused("ftp://127.0.0.1/hook")
    # Only an administrator (or a token with the webhooks scope) registers endpoints.
    with pytest.raises(WebhookError) as forbidden:
        subscribe(iss, "https://1.1.1.1/hook", actor=iss.staff)
    assert forbidden.value.code == "forbidden"


@pytest.mark.django_db
def test_an_endpoint_made_local_is_not_posted_to_once_local_delivery_is_off(
    iss: World, receiver: Receiver, settings: Any
) -> None:
    subscribe(iss, receiver.url, ["case.opened"])
    iss.open(T0)
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = False
    assert sweep(T0) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("pending", None)
    assert "private network" in delivery.last_error or "https" in delivery.last_error
    assert receiver.hits == []


@pytest.mark.django_db
def test_a_redirect_is_an_answer_not_followed(iss: World, receiver: Receiver) -> None:
    subscribe(iss, receiver.url, ["case.opened"])
    iss.open(T0)
    receiver.plan = ["redirect"]
    assert sweep(T0) == 1
    assert receiver.paths() == ["/hook"]  # never to /elsewhere
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("pending", 302)
    assert delivery.next_attempt_at == T0 + SCHEDULE[0]
    assert sweep(T0 + SCHEDULE[0]) == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and receiver.paths() == ["/hook", "/hook"]


@pytest.mark.django_db
def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_timeout(
    iss: World, receiver: Receiver, settings: Any
) -> None:
    """Each read comes within the timeout, the answer never does: the attempt still ends
    after the timeout (so it never outlives its lease, nor holds the lane)."""
    settings.AMENDS_WEBHOOK_TIMEOUT = 2
    subscribe(iss, receiver.url, ["case.opened"])
    iss.open(T0)
    receiver.plan = ["drip"]
    started = time.monotonic()
    assert sweep(T0) == 1
    took = time.monotonic() - started
    assert took < 60, took  # the trickle would go on for two minutes
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status) == ("pending", None)
    assert delivery.last_error == "No answer within 2 s."


@pytest.mark.django_db
def test_the_address_checked_is_the_address_posted_to(
    iss: World, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host whose DNS answers a public address when checked and loopback a moment later
    (DNS rebinding) never gets a request through to loopback."""
    port = receiver.server.server_address[1]
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    subscribe(iss, f"https://rebind.example.test:{port}/hook", ["case.opened"])
    iss.open(T0)
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = False
    settings.AMENDS_WEBHOOK_TIMEOUT = 2
    answers = iter(["192.0.2.1" if n == 0 else "127.0.0.1" for n in range(10)])
    real = socket.getaddrinfo

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example.test":
            address = next(answers)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    # 192.0.2.1 is for documentation (not global): refused as it is, no request anywhere.
    assert sweep(T0) == 1
    assert receiver.hits == []
    assert "private network" in WebhookDelivery.objects.get().last_error

    # A public answer first, loopback after: the request goes to the public address (here
    # refused at once, without leaving the machine), never to a second answer.
    answers = iter(["93.184.215.14" if n == 0 else "127.0.0.1" for n in range(10)])
    dialled: list[tuple[str, int]] = []
    real_connect = socket.create_connection

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        if address[0] == "93.184.215.14":
            dialled.append(address)
            raise ConnectionRefusedError(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", connect)
    assert sweep(T0 + timedelta(minutes=1)) == 1
    assert dialled == [("93.184.215.14", port)]
    assert receiver.hits == []
    assert WebhookDelivery.objects.get().last_error == "Could not connect: ConnectionRefusedError."


# --------------------------------------------------------------------------- 10. routes


def routes_of(world: World) -> dict[str, list[int]]:
    routes = ProviderLedger.objects.get(provider=world.provider).webhook_routes
    assert isinstance(routes, dict)
    return routes


def held(change: Callable[[], object]) -> tuple[threading.Thread, list[Any], threading.Event]:
    """Run ``change`` in a transaction in another thread and keep it open (its locks held)
    until the returned event is set."""
    holding, release = threading.Event(), threading.Event()

    def run() -> object:
        with transaction.atomic():
            result = change()
            holding.set()
            assert release.wait(60)
        return result

    thread, results = in_thread(run)
    assert wait_until(lambda: holding.is_set() or bool(results)) and not results, results
    return thread, results, release


@pytest.mark.django_db(transaction=True)
def test_an_endpoint_registered_or_disabled_during_a_case_write_is_routed_under_the_ledger(
    iss: World, receiver: Receiver
) -> None:
    """The routes are rewritten holding the ledger's row, and a writer reads them with the
    statement that takes that row: a writer waits for an endpoint's change and then owes
    what it says, never what it read before."""
    admin = admin_of(iss)
    case = iss.open(T0)
    assert routes_of(iss) == {} and not WebhookDelivery.objects.exists()

    registrar, registered, release = held(
        lambda: subscribe(iss, receiver.url, ["case.state_changed"], actor=admin)
    )
    writer, written = in_thread(lambda: iss.act(case, Action.ACKNOWLEDGE, T0 + timedelta(hours=1)))
    writer.join(1.0)
    waited = writer.is_alive()
    release.set()
    registrar.join(60)
    writer.join(60)
    assert waited, "the writer did not wait for the routes being written"
    endpoint = registered[0]
    assert isinstance(endpoint, WebhookEndpoint) and isinstance(written[0], Case), written
    assert routes_of(iss) == {"case.state_changed": [endpoint.pk]}
    owed = WebhookDelivery.objects.get()
    assert (owed.endpoint_id, owed.type) == (endpoint.pk, "case.state_changed")

    disabler, disabled, release = held(
        lambda: webhook_endpoint_update(
            actor=admin, endpoint_id=endpoint.pk, enabled=False, now=T0 + timedelta(hours=2)
        )
    )
    writer, written = in_thread(lambda: iss.act(case, Action.ESCALATE, T0 + timedelta(hours=3)))
    writer.join(1.0)
    waited = writer.is_alive()
    release.set()
    disabler.join(60)
    writer.join(60)
    assert waited, "the writer did not wait for the routes being written"
    assert isinstance(disabled[0], WebhookEndpoint) and isinstance(written[0], Case), written
    assert routes_of(iss) == {}
    assert WebhookDelivery.objects.count() == 1  # nothing for the escalation

    # Enabled again: routed again (its first delivery was waiting all along, and goes).
    webhook_endpoint_update(
        actor=admin, endpoint_id=endpoint.pk, enabled=True, now=T0 + timedelta(hours=4)
    )
    assert routes_of(iss) == {"case.state_changed": [endpoint.pk]}
    assert sweep(T0 + timedelta(hours=4)) == 1
    assert [hit.msg_id for hit in receiver.accepted()] == [owed.msg_id]


@pytest.mark.django_db
def test_a_removed_endpoint_is_owed_nothing_more_and_keeps_its_log(
    iss: World, receiver: Receiver
) -> None:
    admin = admin_of(iss)
    gone = subscribe(iss, receiver.url, ["case.opened", "case.state_changed"])
    kept = subscribe(iss, f"{receiver.base}/kept", ["case.opened"])
    case = iss.open(T0)
    webhook_endpoint_delete(actor=admin, endpoint_id=gone.pk, now=T0 + timedelta(minutes=1))
    assert routes_of(iss) == {"case.opened": [kept.pk]}
    failed = WebhookDelivery.objects.get(endpoint=gone)
    assert (failed.status, failed.last_error) == ("failed", "The endpoint was removed.")
    iss.act(case, Action.ACKNOWLEDGE, T0 + timedelta(hours=1))
    assert not WebhookDelivery.objects.filter(endpoint=gone).exclude(pk=failed.pk).exists()
    assert sweep(T0 + timedelta(hours=1)) == 1
    assert receiver.paths() == ["/kept"]
    with pytest.raises(WebhookError):
        webhook_delivery_list(actor=admin, endpoint_id=gone.pk)
    with pytest.raises(WebhookError):
        webhook_delivery_replay(actor=admin, delivery_id=failed.pk, now=T0 + timedelta(hours=2))
    assert WebhookDelivery.objects.filter(endpoint=gone).count() == 1  # the log is kept


@pytest.mark.django_db(transaction=True)
def test_disabling_an_endpoint_never_deadlocks_a_case_write_that_owes_it_a_delivery(
    iss: World, receiver: Receiver
) -> None:
    """The worker, giving up on an endpoint, locks it and then waits for the ledger; a case
    writer holds the ledger and then inserts a delivery for it (whose foreign key locks the
    endpoint's key). The endpoint is locked without its key, so the writer goes on, and what
    it wrote for the endpoint is failed with the rest."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time: there is no lock to order")
    admin_of(iss)
    endpoint = subscribe(iss, f"{receiver.base}/broken")
    receiver.by_path["/broken"] = "fail"
    a = iss.open(T0)
    b = iss.open(T0 + timedelta(minutes=1))
    go = threading.Event()

    def write() -> Case:
        with transaction.atomic():
            # A writer between moving the ledger's head and inserting its deliveries.
            ProviderLedger.objects.select_for_update().get(provider=iss.provider)
            assert go.wait(60)
            return iss.act(b, Action.ACKNOWLEDGE, T0 + timedelta(hours=2))

    writer, written = in_thread(write)
    giving_up, swept = in_thread(lambda: sweep(T0 + RETRY_WINDOW))  # a's first: its last try

    def waiting_on_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            row = cursor.fetchone()
        return bool(row and row[0] >= 1)

    try:
        assert wait_until(waiting_on_a_lock, timeout=60), "the sweep never waited for the ledger"
    finally:
        go.set()
        writer.join(60)
        giving_up.join(60)
    assert isinstance(written[0], Case), written
    assert swept == [1], swept
    endpoint.refresh_from_db()
    assert endpoint.disabled_at == T0 + RETRY_WINDOW
    assert routes_of(iss) == {}
    owed = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert owed.filter(case=b, type="case.state_changed").count() == 1  # the writer's
    assert {d.status for d in owed} == {"failed"}
    assert OutboxMessage.objects.filter(kind="webhook_disabled").count() == 1
    last = owed.get(case=a, type="case.opened")
    assert (last.attempts, last.last_status, last.last_attempt_at) == (1, 500, T0 + RETRY_WINDOW)


@pytest.mark.django_db
def test_a_dead_receiver_owed_more_than_a_pass_reads_never_holds_up_another_endpoint(
    iss: World, v4voip: World, receiver: Receiver
) -> None:
    subscribe(iss, f"{receiver.base}/dead", ["case.opened"])
    receiver.by_path["/dead"] = "fail"
    for n in range(6):  # more than a pass reads (here 4), each case's first owed to it
        iss.open(T0 + timedelta(minutes=n))
    subscribe(v4voip, receiver.url, ["case.opened"])
    v4voip.open(T0 + timedelta(hours=1))
    later = WebhookDelivery.objects.get(provider=v4voip.provider)

    assert webhook_sweep(T0 + timedelta(hours=1), limit=4, clock=lambda: T0 + timedelta(hours=1))
    later.refresh_from_db()
    assert later.status == "sent"
    assert receiver.paths() == ["/dead", "/hook"]  # one try for the dead one in a pass


@pytest.mark.django_db(transaction=True)
def test_the_lane_goes_on_after_a_failed_pass_and_stops_with_the_worker() -> None:
    calls: list[datetime] = []

    def flaky(now: datetime) -> int:
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("the first pass fails")
        return 0

    worker = Worker(interval=0.01, sweeps=[], lane=[flaky], clock=lambda: T0)
    thread, results = in_thread(worker.run)
    try:
        assert wait_until(lambda: len(calls) >= 3), calls
    finally:
        worker.stop_requested.set()
        thread.join(60)
    assert results == [None] and not thread.is_alive()
    assert set(calls) == {T0}
    stopped = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped  # the lane ended with the worker
