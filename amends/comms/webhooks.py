"""Webhooks: a provider's CRM and billing systems told what happened, signed, in order.

**Written with their cause.** Each audit event that a provider's endpoints subscribe to becomes
one :class:`WebhookDelivery` per endpoint, inserted by the transaction that appended the event
(``amends.cases.events.Chain.flush``). The ledger row that statement moves carries the
provider's routes (``ProviderLedger.webhook_routes``: type -> endpoint ids, kept by the
endpoint services below under the same row's lock), so a transaction learns what it owes
without another read, and one with nothing to deliver costs nothing more.

**Sent by the worker, apart from the clocks.** :func:`webhook_sweep` runs in the worker's own
webhook thread (``amends.core.worker``): a receiver that answers slowly or never delays other
webhooks by at most its timeout (for the whole exchange, however it trickles) and never the
clocks or the letters. Each delivery is claimed with a lease (committed before the request,
longer than any attempt), posted with the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: ``v1,`` base64 HMAC-SHA256 of
``id.timestamp.body`` under the endpoint's secret), and recorded. A case's deliveries to an
endpoint go in the order of their events: the next waits while an earlier one is still owed.

**Retries for a day.** A failed attempt (no answer in time, a connection refused, any status
other than 2xx, a redirect too) is tried again after 5 s, 5 min, 30 min, 2 h, 5 h, then every
10 h, and a last time when a day has passed since the delivery was written; if that fails too
it is marked failed, the endpoint is disabled (its other deliveries owed are marked failed
too: they could never go in order), and the provider's administrator is told by email. The
delivery log shows every delivery; replay sends one again as a new delivery (a new
``webhook-id``).

**What a body says.** The case's id, reference, kind, state and version and the facts of the
event, never a customer's name, address or message text: the receiver reads more through the
API with its token.

**Where it may post.** Only to ``https`` addresses on public IP addresses, unless
``AMENDS_WEBHOOK_ALLOW_LOCAL`` is set (development and the tests): an endpoint must not make
Amends reach into its own network. Each attempt resolves the host once and connects to the
address it checked (no proxy, no second DNS answer), and never follows a redirect.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef
from standardwebhooks.webhooks import Webhook

from amends.comms.models import (
    OutboxKind,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookStatus,
    WebhookType,
)
from amends.providers.models import ProviderLedger

if TYPE_CHECKING:
    from amends.cases.actors import Actor

log = logging.getLogger("amends.webhooks")

#: Waits after the 1st, 2nd, ... failed attempt (the last repeats) while the day lasts.
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)
#: How long a delivery is retried before it is given up and its endpoint disabled.
RETRY_WINDOW = timedelta(days=1)
BATCH = 100
MAX_TYPES = len(WebhookType.values)


class WebhookError(Exception):
    """A webhook request refused, naming the field (the faces show it beside the field)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


# --------------------------------------------------------------------------- what to send


def types_for(kind: str, data: dict[str, Any]) -> list[WebhookType]:
    """The webhook types an audit event of ``kind`` with ``data`` makes."""
    made: list[WebhookType] = []
    if kind == "case_opened":
        made.append(WebhookType.CASE_OPENED)
    if "from" in data and "to" in data and data["from"] != data["to"]:
        made.append(WebhookType.CASE_STATE_CHANGED)
    if kind == "obligation_breached":
        made.append(WebhookType.CLOCK_BREACHED)
    if kind == "issue_adr_letter":
        made.append(WebhookType.ADR_LETTER_ISSUED)
    if kind == "message_received":
        made.append(WebhookType.MESSAGE_RECEIVED)
    if kind == "compensation_recorded":
        made.append(WebhookType.COMPENSATION_RECORDED)
    return made


#: The event facts each type carries (never free text a customer or handler wrote). The case's
#: kind is in the body's ``case``: the event's ``kind`` is the audit event's.
_FACTS: dict[WebhookType, tuple[str, ...]] = {
    WebhookType.CASE_OPENED: ("channel", "first_received_at", "code_version"),
    WebhookType.CASE_STATE_CHANGED: ("from", "to", "at"),
    WebhookType.CLOCK_BREACHED: ("obligation", "due_at", "met_late_at"),
    WebhookType.ADR_LETTER_ISSUED: ("trigger", "dated"),
    WebhookType.MESSAGE_RECEIVED: ("message", "received_at", "dissatisfied"),
    WebhookType.COMPENSATION_RECORDED: ("compensation", "amount_pence", "form", "basis"),
}


def body_for(
    *,
    type: WebhookType,
    event_kind: str,
    sequence: int,
    at: datetime,
    data: dict[str, Any],
    case: Any,
) -> str:
    """The JSON body of one delivery (Standard Webhooks' ``type``, ``timestamp``, ``data``)."""
    facts = {name: data[name] for name in _FACTS[type] if name in data}
    payload: dict[str, Any] = {
        "type": type.value,
        "timestamp": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": {
            "event": {**facts, "sequence": sequence, "kind": event_kind},
            "case": None
            if case is None
            else {
                "id": case.pk,
                "reference": case.reference,
                "kind": case.kind,
                "state": case.state,
                "version": case.version,
            },
        },
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def new_msg_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Caused:
    """An event just sealed, as the chain hands it over (and the case it is about)."""

    sequence: int
    kind: str
    at: datetime
    data: dict[str, Any]
    case: Any


def deliveries_for(
    *, provider_id: int, routes: dict[str, list[int]], events: Iterable[Caused], now: datetime
) -> list[WebhookDelivery]:
    """The deliveries a transaction's events owe, by the routes its ledger statement returned
    (empty, without a read, when the provider subscribes to none of them)."""
    if not routes:
        return []
    rows: list[WebhookDelivery] = []
    for event in events:
        for type_ in types_for(event.kind, event.data):
            endpoint_ids = routes.get(type_.value) or []
            if not endpoint_ids:
                continue
            body = body_for(
                type=type_,
                event_kind=event.kind,
                sequence=event.sequence,
                at=event.at,
                data=event.data,
                case=event.case,
            )
            for endpoint_id in endpoint_ids:
                rows.append(
                    WebhookDelivery(
                        provider_id=provider_id,
                        endpoint_id=endpoint_id,
                        case_id=getattr(event.case, "pk", None),
                        event_sequence=event.sequence,
                        type=type_.value,
                        msg_id=new_msg_id(),
                        body=body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
    return rows


def routes_of(value: Any) -> dict[str, list[int]]:
    """The ledger's routes as a database driver returns them (text on SQLite)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- endpoints


def _require(actor: Actor) -> None:
    from amends.cases.errors import CaseError
    from amends.domain.access import Work

    try:
        actor.require(Work.MANAGE_WEBHOOKS)
    except CaseError as refused:
        raise WebhookError(refused.message, code="forbidden") from None


def allow_local() -> bool:
    return bool(getattr(settings, "AMENDS_WEBHOOK_ALLOW_LOCAL", False))


def check_url(url: object, *, resolve: bool = True) -> str:
    """An endpoint's address: ``https`` (``http`` only when local delivery is allowed), no
    credentials in it, and a host that is not in a private, loopback or link-local range."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookError("Give the endpoint's address (https://...).", field="url")
    url = url.strip()
    if len(url) > 500 or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookError(
            "The address is at most 500 characters, with no spaces or control characters.",
            field="url",
        )
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_local() else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise WebhookError("The address must start with https:// and name a host.", field="url")
    if parts.username or parts.password:
        raise WebhookError("Put no user name or password in the address.", field="url")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise WebhookError("The address has a port that is not a number.", field="url") from None
    if resolve and not allow_local():
        addresses(parts.hostname, parts.port or 443)
    return url


def addresses(host: str, port: int) -> list[str]:
    """The host's IP addresses, each public unless local delivery is allowed. A request is
    made to one of these, never to a second DNS answer (which could point inside)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookError(f"The host {host!r} cannot be found.", field="url") from None
    found: list[str] = []
    for info in infos:
        address = str(info[4][0])
        try:
            public = ipaddress.ip_address(address).is_global
        except ValueError:
            public = False
        if not public and not allow_local():
            raise WebhookError(
                "The address points into a private network; webhooks go to public addresses.",
                field="url",
            )
        if address not in found:
            found.append(address)
    if not found:
        raise WebhookError(f"The host {host!r} cannot be found.", field="url")
    return found


def check_types(types: object) -> list[str]:
    if isinstance(types, str) or not isinstance(types, Iterable):
        raise WebhookError("Choose the event types as a list.", field="types")
    chosen = [str(t) for t in types]
    unknown = [t for t in chosen if t not in WebhookType.values]
    if unknown:
        raise WebhookError(
            f"Unknown event type {unknown[0][:60]!r}; choose from {', '.join(WebhookType.values)}.",
            field="types",
        )
    if not chosen:
        raise WebhookError("Choose at least one event type.", field="types")
    return sorted(set(chosen), key=WebhookType.values.index)


def _description(value: object) -> str:
    if not isinstance(value, str):
        raise WebhookError("The description is text.", field="description")
    value = value.strip()
    if len(value) > 200 or "\x00" in value:
        raise WebhookError("The description is at most 200 characters.", field="description")
    return value


def refresh_routes(provider_id: int) -> None:
    """Rewrite the provider's routes from its enabled endpoints, holding its ledger row (so no
    writer appends events between an endpoint's change and its routes)."""
    ProviderLedger.objects.get_or_create(provider_id=provider_id)
    ledger = ProviderLedger.objects.select_for_update().get(provider_id=provider_id)
    routes: dict[str, list[int]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        provider_id=provider_id, disabled_at__isnull=True, deleted_at__isnull=True
    ).order_by("id"):
        for type_ in endpoint.types:
            routes.setdefault(type_, []).append(endpoint.pk)
    ledger.webhook_routes = routes
    ledger.save(update_fields=["webhook_routes"])


def new_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_endpoint_create(
    *, actor: Actor, url: str, types: Sequence[str], now: datetime, description: str = ""
) -> WebhookEndpoint:
    """A new endpoint for the actor's provider, with a new signing secret (on the row)."""
    _require(actor)
    endpoint = WebhookEndpoint(
        provider_id=actor.provider_id,
        url=check_url(url),
        types=check_types(types),
        description=_description(description),
        secret=new_secret(),
        created_at=now,
        created_by=actor.label,
    )
    with transaction.atomic():
        # Counted holding the ledger's row (as the routes are written): two requests at once
        # cannot both make the 20th.
        ProviderLedger.objects.get_or_create(provider_id=actor.provider_id)
        ProviderLedger.objects.select_for_update().filter(provider_id=actor.provider_id).first()
        if (
            WebhookEndpoint.objects.filter(
                provider_id=actor.provider_id, deleted_at__isnull=True
            ).count()
            >= 20
        ):
            raise WebhookError("A provider has at most 20 endpoints.", field="url")
        endpoint.save()
        refresh_routes(actor.provider_id)
    log.info("webhook endpoint created", extra={"endpoint_id": endpoint.pk})
    return endpoint


def webhook_endpoint_get(*, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    _require(actor)
    endpoint = (
        WebhookEndpoint.objects.filter(
            pk=endpoint_id if isinstance(endpoint_id, int) else -1,
            provider_id=actor.provider_id,
            deleted_at__isnull=True,
        ).first()
        if not isinstance(endpoint_id, bool)
        else None
    )
    if endpoint is None:
        raise WebhookError("No such webhook endpoint.", code="not_found")
    return endpoint


def webhook_endpoint_list(*, actor: Actor) -> list[WebhookEndpoint]:
    _require(actor)
    return list(
        WebhookEndpoint.objects.filter(provider_id=actor.provider_id, deleted_at__isnull=True)
    )


def webhook_endpoint_update(
    *,
    actor: Actor,
    endpoint_id: int,
    now: datetime,
    url: str | None = None,
    types: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; ``enabled=True`` turns a disabled one back on (its failed
    deliveries stay failed: replay them from the log), ``False`` stops routing to it."""
    _require(actor)
    with transaction.atomic():
        endpoint = _lock_endpoint(webhook_endpoint_get(actor=actor, endpoint_id=endpoint_id).pk)
        if endpoint is None:
            raise WebhookError("No such webhook endpoint.", code="not_found")
        if url is not None:
            endpoint.url = check_url(url)
        if types is not None:
            endpoint.types = check_types(types)
        if description is not None:
            endpoint.description = _description(description)
        if enabled is True:
            endpoint.disabled_at = None
            endpoint.disabled_reason = ""
        elif enabled is False and endpoint.disabled_at is None:
            endpoint.disabled_at = now
            endpoint.disabled_reason = f"Disabled by {actor.label}."
        endpoint.save()
        refresh_routes(actor.provider_id)
    return endpoint


def webhook_endpoint_delete(*, actor: Actor, endpoint_id: int, now: datetime) -> None:
    """Remove an endpoint: nothing more is routed or sent to it; its log is kept."""
    _require(actor)
    with transaction.atomic():
        endpoint = _lock_endpoint(webhook_endpoint_get(actor=actor, endpoint_id=endpoint_id).pk)
        if endpoint is None:
            raise WebhookError("No such webhook endpoint.", code="not_found")
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(deleted_at=now)
        refresh_routes(actor.provider_id)
        _fail_owed(endpoint.pk, "The endpoint was removed.")


def webhook_delivery_list(
    *, actor: Actor, endpoint_id: int, limit: int = 100, before: int | None = None
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first (the delivery log)."""
    endpoint = webhook_endpoint_get(actor=actor, endpoint_id=endpoint_id)
    rows = WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).select_related("case")
    if before is not None:
        rows = rows.filter(id__lt=before)
    return list(rows.order_by("-id")[: max(1, min(limit, 200))])


def webhook_delivery_replay(*, actor: Actor, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Send a delivery again: a new delivery of the same body with a new ``webhook-id``."""
    _require(actor)
    original = (
        WebhookDelivery.objects.filter(
            pk=delivery_id, provider_id=actor.provider_id, endpoint__deleted_at__isnull=True
        ).first()
        if isinstance(delivery_id, int) and not isinstance(delivery_id, bool)
        else None
    )
    if original is None:
        raise WebhookError("No such delivery.", code="not_found")
    replay = WebhookDelivery.objects.create(
        provider_id=original.provider_id,
        endpoint_id=original.endpoint_id,
        case_id=original.case_id,
        event_sequence=original.event_sequence,
        type=original.type,
        msg_id=new_msg_id(),
        body=original.body,
        created_at=now,
        next_attempt_at=now,
        replay_of=original,
    )
    log.info(
        "webhook delivery replayed", extra={"delivery_id": replay.pk, "replay_of": original.pk}
    )
    return replay


# --------------------------------------------------------------------------- sending


def _setting(name: str, default: float) -> float:
    try:
        return float(getattr(settings, name, default))
    except (TypeError, ValueError):
        return default


def timeout() -> float:
    """Seconds a receiver has to answer (``AMENDS_WEBHOOK_TIMEOUT``, 10)."""
    return _setting("AMENDS_WEBHOOK_TIMEOUT", 10.0)


def lease() -> timedelta:
    """How long a claimed delivery is left to its worker (longer than an attempt)."""
    return timedelta(seconds=timeout() * 3 + 30)


def backoff(attempts: int) -> timedelta:
    return SCHEDULE[min(max(attempts, 1), len(SCHEDULE)) - 1]


def sign(secret: str, msg_id: str, at: datetime, body: str) -> str:
    """``v1,`` and the signature of ``msg_id.timestamp.body`` (the library reads the instant's
    wall clock as UTC: given in UTC, whatever zone ``at`` is in)."""
    return Webhook(secret).sign(msg_id=msg_id, timestamp=at.astimezone(UTC), data=body)


def _due(now: datetime) -> Any:
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        case_id=OuterRef("case_id"),
        status=WebhookStatus.PENDING,
        id__lt=OuterRef("id"),
    )
    return (
        WebhookDelivery.objects.filter(
            status=WebhookStatus.PENDING,
            next_attempt_at__lte=now,
            endpoint__disabled_at__isnull=True,
            endpoint__deleted_at__isnull=True,
        )
        .exclude(Exists(earlier))
        .order_by("next_attempt_at", "id")
    )


def _running_from(now: datetime) -> Callable[[], datetime]:
    """A clock that starts at ``now`` and runs as the pass takes time."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def webhook_sweep(
    now: datetime, *, limit: int = BATCH, clock: Callable[[], datetime] | None = None
) -> int:
    """Send what is due at ``now`` (in order per case and endpoint); an endpoint that did not
    answer is not tried again in the same pass. Returns how many attempts were made.

    ``clock`` gives the time of each attempt (signed into it; its retry counts from it): by
    default ``now``, running on as the pass takes time."""
    clock = clock or _running_from(now)
    done = 0
    skipped: set[int] = set()  # endpoints that failed in this pass
    passed: set[int] = set()  # deliveries tried, or claimed by another worker, in this pass
    while done < limit:
        # Read again past the endpoints that failed: however many a dead receiver is owed,
        # it never fills the batch and starves the others.
        candidates = list(
            _due(now)
            .exclude(endpoint_id__in=skipped)
            .exclude(pk__in=passed)
            .values_list("pk", "endpoint_id")[: limit - done]
        )
        if not candidates:
            break
        for pk, endpoint_id in candidates:
            if endpoint_id in skipped or done >= limit:
                continue
            passed.add(pk)
            row = _claim(pk, clock())
            if row is None:
                continue
            ok = _attempt(row, clock)
            done += 1
            if not ok:
                skipped.add(endpoint_id)
    return done


def _claim(pk: int, now: datetime) -> WebhookDelivery | None:
    """Count the attempt and lease the row, then commit, before anything is sent."""
    try:
        with transaction.atomic():
            row = (
                WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("endpoint")
                .filter(pk=pk, status=WebhookStatus.PENDING, next_attempt_at__lte=now)
                .first()
            )
            if row is None or row.endpoint.disabled_at or row.endpoint.deleted_at:
                return None
            row.attempts += 1
            row.last_attempt_at = now
            row.next_attempt_at = now + lease()
            row.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
            return row
    except DatabaseError:
        log.exception("could not claim a webhook delivery", extra={"delivery_id": pk})
        return None


def _dial(addresses: Sequence[str], port: int, until: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers before ``until``
    (a ``time.monotonic()`` instant)."""
    error: OSError = TimeoutError()
    for address in addresses:
        left = until - time.monotonic()
        if left <= 0:
            break
        try:
            return socket.create_connection((address, port), timeout=left)
        except OSError as failed:
            error = failed
    raise error


class _Pinned(http.client.HTTPConnection):
    """HTTP to the addresses that were checked (``Host`` still names the endpoint's host)."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[str], timeout: float, until: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses, self.until = addresses, until

    def connect(self) -> None:
        self.sock = _dial(self.addresses, self.port, self.until)


class _PinnedTls(http.client.HTTPSConnection):
    """HTTPS to the addresses that were checked; the certificate is checked against the
    host."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[str], timeout: float, until: float
    ) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses, self.until = addresses, until

    def connect(self) -> None:
        sock = _dial(self.addresses, self.port, self.until)
        self.sock = sock  # (so that the deadline can cut a slow handshake too)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _cut(connection: http.client.HTTPConnection, late: threading.Event) -> None:
    """The deadline passed: end the exchange, however slowly the receiver was trickling."""
    late.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # (closed meanwhile)
            sock.shutdown(socket.SHUT_RDWR)


def _post(row: WebhookDelivery, at: datetime) -> tuple[int | None, str]:
    """Post the delivery; (HTTP status or None, error text or "").

    The host is resolved once and its address checked (public, unless local delivery is
    allowed); the request goes to that address, with no proxy, and a redirect is an answer
    like any other status (never followed: it could point inside our network). The receiver
    has :func:`timeout` seconds for the whole exchange, not per read: one that trickles its
    answer is cut off at the deadline."""
    endpoint = row.endpoint
    limit = timeout()
    try:
        url = check_url(endpoint.url, resolve=False)
        parts = urlsplit(url)
        host = parts.hostname or ""
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        checked = addresses(host, port)
    except WebhookError as refused:
        return None, refused.message
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    stamp = at.astimezone(UTC)
    until = time.monotonic() + limit
    connection: http.client.HTTPConnection = (
        _PinnedTls(host, port, addresses=checked, timeout=limit, until=until)
        if tls
        else _Pinned(host, port, addresses=checked, timeout=limit, until=until)
    )
    late = threading.Event()
    deadline = threading.Timer(limit, _cut, args=(connection, late))
    deadline.daemon = True
    deadline.start()
    try:
        connection.request(
            "POST",
            path,
            body=row.body.encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Amends-Webhooks/1",
                "webhook-id": row.msg_id,
                "webhook-timestamp": str(int(stamp.timestamp())),
                "webhook-signature": sign(endpoint.secret, row.msg_id, stamp, row.body),
            },
        )
        response = connection.getresponse()
        response.read(1024)
        status = int(response.status)
        deadline.cancel()
    except (OSError, http.client.HTTPException, ValueError) as error:
        if late.is_set() or isinstance(error, TimeoutError) or time.monotonic() >= until:
            return None, f"No answer within {limit:g} s."
        return None, f"Could not connect: {type(error).__name__}."
    finally:
        deadline.cancel()
        connection.close()
    if late.is_set():
        # Cut off: what was read may be a fragment (a status line and no end of headers
        # parses as an answer), so it is no answer. Sent again later, with the same id.
        return None, f"No answer within {limit:g} s."
    return status, "" if 200 <= status < 300 else f"The receiver answered {status}."


def _attempt(row: WebhookDelivery, clock: Callable[[], datetime]) -> bool:
    status, error = _post(row, clock())
    ok = status is not None and 200 <= status < 300
    at = clock()
    try:
        with transaction.atomic():
            # The endpoint first (as disabling it and the endpoint services lock it), then the
            # delivery: two workers recording for one endpoint queue, never deadlock.
            _lock_endpoint(row.endpoint_id)
            current = WebhookDelivery.objects.select_for_update().filter(pk=row.pk).first()
            if current is None or current.status != WebhookStatus.PENDING:
                return ok
            mine = (current.attempts, current.last_attempt_at) == (
                row.attempts,
                row.last_attempt_at,
            )
            if not ok and not mine:
                # The lease ran out during this attempt and another worker has claimed it
                # since: its attempt decides (a success is recorded whoever made it).
                return ok
            current.last_status = status
            if ok:
                current.status = WebhookStatus.SENT
                current.sent_at = at
                current.last_error = ""
            else:
                current.last_error = error[:300] or f"The receiver answered {status}."
                given_up_at = current.created_at + RETRY_WINDOW
                if at >= given_up_at:
                    current.status = WebhookStatus.FAILED
                else:
                    # The last retry is when the day is up, not after it.
                    current.next_attempt_at = min(at + backoff(current.attempts), given_up_at)
            current.save(
                update_fields=["status", "sent_at", "last_error", "last_status", "next_attempt_at"]
            )
            if current.status == WebhookStatus.FAILED:
                _disable(current, at)
    except DatabaseError:
        log.exception("could not record a webhook attempt", extra={"delivery_id": row.pk})
    log.info(
        "webhook attempt",
        extra={
            "delivery_id": row.pk,
            "endpoint_id": row.endpoint_id,
            "status": status,
            "ok": ok,
            "attempts": row.attempts,
        },
    )
    return ok


def _lock_endpoint(endpoint_id: int) -> WebhookEndpoint | None:
    """Lock an endpoint's row for a change. ``FOR NO KEY UPDATE`` on PostgreSQL: a writer
    inserting a delivery for it (its foreign key takes ``KEY SHARE``, under the ledger's lock)
    is not held up, so holding this and waiting for the ledger cannot deadlock with it."""
    return (
        WebhookEndpoint.objects.select_for_update(no_key=_no_key()).filter(pk=endpoint_id).first()
    )


def _no_key() -> bool:
    from django.db import connection

    return bool(connection.features.has_select_for_no_key_update)


def _fail_owed(endpoint_id: int, reason: str) -> None:
    """Fail what an endpoint is still owed. Called after its routes were rewritten under the
    ledger's lock: every writer that routed to it has committed, and none will again."""
    WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=WebhookStatus.PENDING).update(
        status=WebhookStatus.FAILED, last_error=reason
    )


def _disable(row: WebhookDelivery, at: datetime) -> None:
    """A day of failures: disable the endpoint, fail what it is still owed, tell the admin."""
    endpoint = _lock_endpoint(row.endpoint_id)
    if endpoint is None:
        return
    if endpoint.disabled_at is None:
        endpoint.disabled_at = at
        endpoint.disabled_reason = (
            f"Delivery {row.msg_id} failed for a day ({row.attempts} attempts; {row.last_error})"
        )[:300]
        endpoint.save(update_fields=["disabled_at", "disabled_reason"])
        refresh_routes(endpoint.provider_id)
        _notify_admin(endpoint, row, at)
    _fail_owed(endpoint.pk, "Not sent: the endpoint was disabled.")
    log.error("webhook endpoint disabled", extra={"endpoint_id": endpoint.pk})


def _notify_admin(endpoint: WebhookEndpoint, row: WebhookDelivery, at: datetime) -> None:
    from amends.comms.outbox import Outbox, staff_recipient
    from amends.providers.models import StaffMember

    admin = (
        StaffMember.objects.filter(provider_id=endpoint.provider_id, role="admin")
        .select_related("user")
        .order_by("id")
        .first()
    )
    provider = endpoint.provider
    recipient = staff_recipient(
        admin.user if admin is not None else None, fallback_email=provider.alerts_email
    )
    outbox = Outbox()
    outbox.add(
        provider=provider,
        case=None,
        kind=OutboxKind.WEBHOOK_DISABLED,
        key=f"webhook_endpoint:{endpoint.pk}:disabled:{int(at.timestamp())}",
        recipient=recipient,
        now=at,
        payload={
            "reference": "",
            "webhook_endpoint": endpoint.pk,
            "url": endpoint.url,
            "error": row.last_error,
            "attempts": row.attempts,
        },
    )
    outbox.flush()
