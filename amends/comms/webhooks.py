"""Webhooks: a provider's CRM and billing systems told what happened, signed, in order.

**Written with their cause.** Each audit event that a provider's endpoints subscribe to becomes
one :class:`WebhookDelivery` per endpoint, inserted by the transaction that appended the event
(``amends.cases.events.Chain.flush``). The ledger row that statement moves carries the
provider's routes (``ProviderLedger.webhook_routes``: type -> endpoint ids, kept by the
endpoint services below under the same row's lock), so a transaction learns what it owes
without another read, and one with nothing to deliver costs nothing more.

**Sent by the worker, apart from the clocks.** :func:`webhook_sweep` runs in the worker's own
webhook thread (``amends.core.worker``): a receiver that answers slowly or never delays other
webhooks by at most its timeout and never the clocks or the letters. Each delivery is claimed
with a lease (committed before the request), posted with the Standard Webhooks headers
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``: ``v1,`` base64 HMAC-SHA256 of
``id.timestamp.body`` under the endpoint's secret), and recorded. A case's deliveries to an
endpoint go in the order of their events: the next waits while an earlier one is still owed.

**Retries for a day.** A failed attempt (no answer in time, a connection refused, any status
other than 2xx) is tried again after 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h, until a
day has passed since the delivery was written; then it is marked failed, the endpoint is
disabled (its other deliveries owed are marked failed too: they could never go in order), and
the provider's administrator is told by email. The delivery log shows every delivery; replay
sends one again as a new delivery (a new ``webhook-id``).

**What a body says.** The case's id, reference, kind, state and version and the facts of the
event, never a customer's name, address or message text: the receiver reads more through the
API with its token.

**Where it may post.** Only to ``https`` addresses on public IP addresses, unless
``AMENDS_WEBHOOK_ALLOW_LOCAL`` is set (development and the tests): an endpoint must not make
Amends reach into its own network.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
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


#: The event facts each type carries (never free text a customer or handler wrote).
_FACTS: dict[WebhookType, tuple[str, ...]] = {
    WebhookType.CASE_OPENED: ("kind", "channel", "first_received_at", "code_version"),
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
            "event": {"sequence": sequence, "kind": event_kind, **facts},
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
        _public_host(parts.hostname, parts.port or 443)
    return url


def _public_host(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookError(f"The host {host!r} cannot be found.", field="url") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookError(
                "The address points into a private network; webhooks go to public addresses.",
                field="url",
            )


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
        endpoint = webhook_endpoint_get(actor=actor, endpoint_id=endpoint_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
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
        endpoint = webhook_endpoint_get(actor=actor, endpoint_id=endpoint_id)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(deleted_at=now)
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint.pk, status=WebhookStatus.PENDING
        ).update(status=WebhookStatus.FAILED, last_error="The endpoint was removed.")
        refresh_routes(actor.provider_id)


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
    return Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body)


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


def webhook_sweep(now: datetime, *, limit: int = BATCH, clock: Any = timezone.now) -> int:
    """Send what is due (in order per case and endpoint); an endpoint that did not answer
    is not tried again in the same pass. Returns how many attempts were made."""
    done = 0
    skipped: set[int] = set()
    for candidate in list(_due(now).values_list("pk", "endpoint_id")[:limit]):
        pk, endpoint_id = candidate
        if endpoint_id in skipped:
            continue
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


def _post(row: WebhookDelivery, at: datetime) -> tuple[int | None, str]:
    """Post the delivery; (HTTP status or None, error text or "")."""
    endpoint = row.endpoint
    try:
        url = check_url(endpoint.url)
    except WebhookError as refused:
        return None, refused.message
    data = row.body.encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Amends-Webhooks/1",
            "webhook-id": row.msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": sign(endpoint.secret, row.msg_id, at, row.body),
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout()) as response:
            response.read(1024)
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        return int(error.code), f"The receiver answered {error.code}."
    except TimeoutError:
        return None, f"No answer within {timeout():g} s."
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError | socket.timeout):
            return None, f"No answer within {timeout():g} s."
        return None, f"Could not connect: {type(reason).__name__}."


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not an instruction to post elsewhere (it could point inside
    our network)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _attempt(row: WebhookDelivery, clock: Any) -> bool:
    status, error = _post(row, clock())
    ok = status is not None and 200 <= status < 300
    at = clock()
    try:
        with transaction.atomic():
            current = WebhookDelivery.objects.select_for_update().filter(pk=row.pk).first()
            if current is None or current.status != WebhookStatus.PENDING:
                return ok
            current.last_status = status
            if ok:
                current.status = WebhookStatus.SENT
                current.sent_at = at
                current.last_error = ""
            else:
                current.last_error = error[:300] or f"The receiver answered {status}."
                if at - current.created_at >= RETRY_WINDOW:
                    current.status = WebhookStatus.FAILED
                else:
                    current.next_attempt_at = at + backoff(current.attempts)
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


def _disable(row: WebhookDelivery, at: datetime) -> None:
    """A day of failures: disable the endpoint, fail what it is still owed, tell the admin."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=row.endpoint_id)
    if endpoint.disabled_at is None:
        endpoint.disabled_at = at
        endpoint.disabled_reason = (
            f"Delivery {row.msg_id} failed for a day ({row.attempts} attempts; {row.last_error})"
        )[:300]
        endpoint.save(update_fields=["disabled_at", "disabled_reason"])
        _notify_admin(endpoint, row, at)
    WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=WebhookStatus.PENDING).update(
        status=WebhookStatus.FAILED, last_error="Not sent: the endpoint was disabled."
    )
    refresh_routes(endpoint.provider_id)
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
