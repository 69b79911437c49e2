"""The email sender: the worker's sweep that delivers the outbox's email and staff rows over SMTP.

``outbox_email_sweep(now)`` is listed in ``settings.AMENDS_WORKER_SWEEPS``. It reads the due
rows (channel ``email`` or ``staff``, status queued or failed, ``next_attempt_at <= now``,
through the partial index ``outbox_due_idx``), the longest-waiting first, and delivers each on
its own, so that one message that cannot be sent never holds up the others.

**One row, three short steps.** (1) *Claim*, in a transaction of its own (PostgreSQL ``SELECT
... FOR UPDATE SKIP LOCKED``; SQLite's IMMEDIATE transaction): count the attempt and move
``next_attempt_at`` a lease ahead (``AMENDS_EMAIL_LEASE``, 10 minutes), then COMMIT. From then
on no other worker sees the row as due, whether or not this one survives. (2) *Send*, holding
no database lock: Django's ``EmailMultiAlternatives`` over ``settings.EMAIL_*``, From
``DEFAULT_FROM_EMAIL`` under the provider's name, the text part and, when the row has one, the
HTML part, and the headers ``Message-ID`` (the row's own: a retry is recognisably the same
message), ``Auto-Submitted: auto-generated`` (RFC 3834) on everything Amends wrote itself (not
on a reply a person wrote). The subject already carries the case reference with its check
character. (3) *Record*: a customer's message on a case through
``amends.cases.actions.case_message_delivered`` (marks the row sent at the time the server
accepted it and meets the promise the message keeps, in one transaction with its event); a
message to staff or without a case is marked sent here.

**Failures.** An attempt that fails records ``last_error`` (the exception's type, the SMTP code
and the server's short reply, with any address in it replaced by ``<address>``), status failed
and ``next_attempt_at = now + backoff(attempts)``: 1 minute, doubling, at most an hour. After
``AMENDS_EMAIL_MAX_ATTEMPTS`` attempts (30 by default: about a day of retries) the row is
dead and staff get one alert (an outbox ``worker_alert`` to the case's manager, or the
provider's alerts address, keyed ``outbox:<id>:dead``); the alert of an alert that died is not
sent again (it would go to the same place). A permanent refusal of the recipient (a 5xx reply
to ``RCPT TO``: no such mailbox) goes dead at once, since retrying cannot help; a 5xx reply to
the message itself is retried like a 4xx (it is usually the relay's configuration, which
someone fixes). A message that cannot be built (no address, a header Django refuses) is dead
at once. A mail server that cannot be reached at all is not the message's fault: nothing is
claimed, no attempt is counted, the due rows' ``last_error`` says why they wait, and they go
out on the first pass after the server answers.

**Crash safety: at most one extra send per crash.** The lease is what bounds it. A worker
killed between the server's acceptance and step 3's commit leaves the row claimed but not
sent; after the lease it is claimed again and sent again, with the same Message-ID (mail
programs that de-duplicate by Message-ID show one message, and a reply threads the same way
whichever copy it answers), and marked.
Each crash can thus cause at most one extra delivery, never a stream of them; a message whose
attempts end in crashes is given up (dead, with its alert) once its attempts are used up, so a
message that kills the worker cannot loop either. If the server accepted a message but
recording it fails (the database refused the write), ``sent_at`` is kept on the row and the
next claim only retries the recording, without sending. The lease must outlast one attempt:
with the default ``EMAIL_TIMEOUT`` of 30 s per SMTP step an attempt takes a few minutes at
the very worst, well inside 10.

Logs carry ids only (outbox row, case, provider, attempts, error type and SMTP code), never an
address, a name, a subject or a body.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from amends.cases.actions import case_message_delivered
from amends.cases.actors import system_actor
from amends.comms.models import (
    Audience,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from amends.comms.outbox import Outbox, message_id_for, staff_recipient

log = logging.getLogger("amends.comms.sender")

#: The channels this sender delivers: the customer's email and messages to staff.
CHANNELS = (OutboxChannel.EMAIL.value, OutboxChannel.STAFF.value)
PENDING = (OutboxStatus.QUEUED.value, OutboxStatus.FAILED.value)
#: Rows handled per pass at most (the worker loops at once while a pass did work).
BATCH = 200
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MOST = timedelta(hours=1)
DEFAULT_MAX_ATTEMPTS = 30
DEFAULT_LEASE_SECONDS = 600.0

# Anything shaped like an address, in a server's reply or an exception's text.
_ADDRESS = re.compile(r"[^\s<>()\[\]{}'\",;:@]+@[^\s<>()\[\]{}'\",;:]+")


def _setting(name: str, default: float) -> float:
    """A number from settings, else the environment, else ``default``."""
    value: Any = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "").strip() or default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if number <= 0:
        raise ImproperlyConfigured(f"{name} must be positive, not {value!r}")
    return number


def max_attempts() -> int:
    """Attempts before a row is given up (``AMENDS_EMAIL_MAX_ATTEMPTS``, default 30)."""
    return int(_setting("AMENDS_EMAIL_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def lease() -> timedelta:
    """How long a claimed row is not due for anyone else (``AMENDS_EMAIL_LEASE``, seconds)."""
    return timedelta(seconds=_setting("AMENDS_EMAIL_LEASE", DEFAULT_LEASE_SECONDS))


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4 ... minutes, at most an hour."""
    delay: timedelta = BACKOFF_FIRST * (2 ** min(max(0, attempts - 1), 16))
    return min(delay, BACKOFF_MOST)


class Undeliverable(Exception):
    """A message that cannot be sent as it stands (no address, a header Django refuses)."""


def describe(error: BaseException) -> str:
    """A short, address-free account of a failure for ``last_error`` (and staff)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        detail = " ".join(f"{code} {_decode(text)}" for code, text in replies[:1])
    elif isinstance(error, smtplib.SMTPResponseException):
        detail = f"{error.smtp_code} {_decode(error.smtp_error)}"
    else:
        detail = str(error)
    detail = _ADDRESS.sub("<address>", " ".join(detail.split()))
    name = type(error).__name__
    return (f"{name}: {detail}" if detail else name)[:200]


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _smtp_code(error: BaseException) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return codes[0] if codes else None
    if isinstance(error, smtplib.SMTPResponseException):
        return int(error.smtp_code)
    return None


def is_permanent(error: BaseException) -> bool:
    """Whether retrying cannot help: the recipient refused with a 5xx, or no message to send."""
    if isinstance(error, Undeliverable):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    return False


# -- the sweep ---------------------------------------------------------------------------------


#: The partial index's own condition, written as literals: SQLite uses a partial index only
#: when the query repeats its WHERE term (with bound parameters it scans the table and sorts).
_DUE_STATUS = RawSQL(
    f"\"{OutboxMessage._meta.db_table}\".\"status\" IN ('queued', 'failed')",
    (),
    output_field=BooleanField(),
)


def _due(now: datetime) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(_DUE_STATUS, next_attempt_at__lte=now, channel__in=CHANNELS)


def outbox_email_sweep(now: datetime, *, limit: int = BATCH) -> int:
    """Deliver up to ``limit`` due email and staff rows; return how many were handled
    (delivered, failed or given up). ``now`` is the pass's time: rows due by then are sent,
    and the times recorded after it (claims, deliveries) run on from it."""
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    if not _due(now).exists():
        return 0  # an idle pass opens no connection
    smtp = _Connection()
    handled = 0
    try:
        while handled < limit:
            unreachable = smtp.ensure_open()
            if unreachable is not None:
                _note_unreachable(now, unreachable)
                break
            row = claim_next(now, clock=clock)
            if row is None:
                break
            handled += 1
            if row.status == OutboxStatus.DEAD:
                continue  # given up when claimed (its last attempt never finished)
            deliver(row, smtp, clock=clock)
    finally:
        smtp.close()
    return handled


def claim_next(now: datetime, *, clock: Callable[[], datetime]) -> OutboxMessage | None:
    """Take the longest-waiting due row in a short transaction of its own: count the attempt
    and push ``next_attempt_at`` a lease ahead, then commit (before anything is sent).

    A row whose attempts are already used up (its last attempt ended in a crash) is given up
    instead: status dead, with its alert, and returned so that the caller counts it."""
    with transaction.atomic():
        row = (
            _due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("provider")
            # The index's own order (no tie-breaker: a burst written in one transaction
            # shares one instant, and sorting it would read the whole burst per claim).
            .order_by("next_attempt_at")
            .first()
        )
        if row is None:
            return None
        at = clock()
        if row.attempts >= max_attempts():
            earlier = f"; before it: {row.last_error}" if row.last_error else ""
            row.status = OutboxStatus.DEAD
            row.last_error = (
                f"Gave up after {row.attempts} attempts: the last one never finished "
                f"(the worker stopped){earlier}"
            )[:300]
            row.save(update_fields=["status", "last_error"])
            _alert_dead(row, at)
            log.error("email given up", extra=_ids(row))
            return row
        row.attempts += 1
        row.next_attempt_at = at + lease()
        row.save(update_fields=["attempts", "next_attempt_at"])
    return row


def deliver(row: OutboxMessage, smtp: _Connection, *, clock: Callable[[], datetime]) -> None:
    """Send a claimed row (unless the server already accepted it) and record the outcome."""
    if row.sent_at is not None and row.status != OutboxStatus.SENT:
        # The server accepted it on an earlier attempt; only recording it failed then.
        record_delivery(row, delivered_at=row.sent_at, now=clock(), clock=clock)
        return
    try:
        message = build_message(row, connection=smtp.backend)
        message.message()  # headers checked before anything goes on the wire
    except Exception as error:
        record_failure(row, error, at=clock(), permanent=True)
        return
    try:
        smtp.send(message)
    except Exception as error:
        smtp.close()  # the conversation's state is unknown: start afresh for the next row
        record_failure(row, error, at=clock(), permanent=is_permanent(error))
        return
    delivered_at = clock()
    record_delivery(row, delivered_at=delivered_at, now=delivered_at, clock=clock)


def build_message(
    row: OutboxMessage, *, connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The email of an outbox row: its text, its HTML part if any, its own Message-ID."""
    address = row.recipient_address.strip()
    if not address or "\n" in address or "@" not in address:
        raise Undeliverable("the row has no email address")
    headers = {"Message-ID": row.message_id}
    if not row.written_by:  # Amends' own message, not a reply a person wrote
        headers["Auto-Submitted"] = "auto-generated"
    message = EmailMultiAlternatives(
        subject=" ".join(row.subject.split()),
        body=row.body_text,
        from_email=_from_address(row),
        to=[_mailbox(row.recipient_name, address)],
        headers=headers,
        connection=connection,
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    return message


def _from_address(row: OutboxMessage) -> str:
    """``DEFAULT_FROM_EMAIL`` in the provider's name: the customer hears from their provider."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    provider_name = getattr(row.provider, "name", "") if row.provider_id else ""
    try:
        return _mailbox(provider_name or name, address)
    except Undeliverable:  # the setting's fault, not the message's: the server will say so
        return str(settings.DEFAULT_FROM_EMAIL)


def _mailbox(name: str, address: str) -> str:
    """``"Name" <address>``, quoted as needed (Django encodes it for the wire)."""
    try:
        return str(Address(display_name=" ".join(name.split()), addr_spec=address))
    except (ValueError, IndexError, TypeError) as error:
        raise Undeliverable("the address cannot be written in a header") from error


def record_delivery(
    row: OutboxMessage,
    *,
    delivered_at: datetime,
    now: datetime,
    clock: Callable[[], datetime],
) -> None:
    """Mark the row sent at ``delivered_at`` (and meet its promise), recorded at ``now``.
    Recording that fails keeps ``sent_at`` on the row, so that the next claim records it
    again instead of sending it again."""
    try:
        if row.case_id is not None and row.audience == Audience.CUSTOMER:
            case_message_delivered(
                outbox_id=row.pk,
                actor=system_actor(row.provider_id),
                now=now,
                at=delivered_at if delivered_at < now else None,
            )
        else:
            OutboxMessage.objects.filter(pk=row.pk).exclude(status=OutboxStatus.SENT).update(
                status=OutboxStatus.SENT, sent_at=delivered_at
            )
    except Exception as error:
        sent = OutboxMessage.objects.filter(pk=row.pk, status=OutboxStatus.SENT).exists()
        if sent:  # another worker recorded it (after our lease ran out): nothing to do
            return
        log.error(
            "email sent but not recorded",
            extra={**_ids(row), "error_type": type(error).__name__},
        )
        when = f"{delivered_at:%Y-%m-%d %H:%M:%S %Z}".strip()
        _record(
            row,
            at=clock(),
            last_error=f"Delivered at {when}; recording it failed: {describe(error)}",
            dead=row.attempts >= max_attempts(),
            sent_at=delivered_at,
        )
        return
    log.info("email sent", extra=_ids(row))


def record_failure(
    row: OutboxMessage, error: BaseException, *, at: datetime, permanent: bool
) -> None:
    """Note a failed attempt: retry after the back-off, or give up (dead, one alert)."""
    dead = permanent or row.attempts >= max_attempts()
    log.warning(
        "email not sent",
        extra={
            **_ids(row),
            "error_type": type(error).__name__,
            "smtp_code": _smtp_code(error),
            "gave_up": dead,
        },
    )
    _record(row, at=at, last_error=describe(error), dead=dead)


def _record(
    row: OutboxMessage,
    *,
    at: datetime,
    last_error: str,
    dead: bool,
    sent_at: datetime | None = None,
) -> None:
    fields: dict[str, Any] = {
        "status": OutboxStatus.DEAD if dead else OutboxStatus.FAILED,
        "last_error": last_error[:300],
        "next_attempt_at": at + backoff(row.attempts),
    }
    if sent_at is not None:
        fields["sent_at"] = sent_at
    try:
        with transaction.atomic():
            # Only while this claim still holds it: a row another worker claimed after our
            # lease ran out (attempts moved on) or delivered meanwhile is theirs.
            updated = OutboxMessage.objects.filter(
                pk=row.pk, attempts=row.attempts, status__in=PENDING
            ).update(**fields)
            if updated and dead:
                row.last_error = fields["last_error"]
                _alert_dead(row, at)
    except DatabaseError as error:
        # The lease runs out and the row is tried again: the bound still holds.
        log.error(
            "could not record an email attempt",
            extra={**_ids(row), "error_type": type(error).__name__},
        )
        return
    if updated and dead:
        log.error("email given up", extra=_ids(row))


def _alert_dead(row: OutboxMessage, at: datetime) -> None:
    """One alert to staff that a message was not delivered (never for an alert that died:
    it would go where the first one could not). A failure here never stops the row being
    marked dead."""
    if row.kind == OutboxKind.WORKER_ALERT:
        return
    try:
        with transaction.atomic():
            _write_alert(row, at)
    except Exception as error:
        log.error(
            "could not write the alert for an undelivered email",
            extra={**_ids(row), "error_type": type(error).__name__},
        )


def _write_alert(row: OutboxMessage, at: datetime) -> None:
    from amends.cases.writes import manager_of

    provider = row.provider
    case = row.case if row.case_id is not None else None
    manager = manager_of(case) if case is not None and row.audience == Audience.CUSTOMER else None
    recipient = staff_recipient(manager, fallback_email=provider.alerts_email)
    reference = getattr(case, "reference", "") or str(row.payload.get("reference", ""))
    kind = OutboxKind(row.kind).label if row.kind in OutboxKind.values else row.kind
    to_whom = "the customer" if row.audience == Audience.CUSTOMER else "a member of staff"
    where = f"Case {reference}: the" if reference else "The"
    subject = (
        f"{reference}: an email could not be delivered"
        if reference
        else ("An email could not be delivered")
    )
    body = "\n".join(
        [
            f'{where} message "{kind}" to {to_whom} (outbox message {row.pk}) could not be '
            f"delivered by email after {row.attempts} attempt(s). Amends has stopped trying.",
            f"Last error: {row.last_error}",
            "",
            "Reach the person another way (a letter or a call), or correct the address and "
            "send the message again from the console. The clock it keeps is still running.",
            "",
        ]
    )
    key = f"outbox:{row.pk}:dead"
    outbox = Outbox()
    outbox.rows.append(
        OutboxMessage(
            provider_id=row.provider_id,
            case_id=row.case_id,
            key=key,
            kind=OutboxKind.WORKER_ALERT.value,
            audience=Audience.STAFF.value,
            channel=OutboxChannel.STAFF.value,
            recipient_user_id=recipient.user_id,
            recipient_name=recipient.name,
            recipient_address=recipient.address,
            payload={
                "reference": reference,
                "outbox": row.pk,
                "kind": row.kind,
                "attempts": row.attempts,
                "error": row.last_error,
            },
            subject=subject[:300],
            body_text=body,
            body_sha256=hashlib.sha256(body.encode()).hexdigest(),
            message_id=message_id_for(key),
            created_at=at,
            next_attempt_at=at,
        )
    )
    outbox.flush()


def _note_unreachable(now: datetime, error: BaseException) -> None:
    """The mail server cannot be reached: no row is claimed and no attempt counted; the due
    rows say why they wait (one statement, and none once they all say it)."""
    text = f"Waiting: the mail server cannot be reached ({describe(error)})"[:300]
    log.error(
        "mail server unreachable",
        extra={"error_type": type(error).__name__, "smtp_code": _smtp_code(error)},
    )
    try:
        _due(now).exclude(last_error=text).update(last_error=text)
    except DatabaseError:
        log.error("could not note the unreachable mail server on the outbox")


def _ids(row: OutboxMessage) -> dict[str, Any]:
    return {
        "outbox_id": row.pk,
        "case_id": row.case_id,
        "provider_id": row.provider_id,
        "attempts": row.attempts,
    }


class _Connection:
    """One SMTP connection for a pass, opened on demand and again after a failed attempt."""

    def __init__(self) -> None:
        self.backend: BaseEmailBackend = get_connection(fail_silently=False)
        self._open = False

    def ensure_open(self) -> BaseException | None:
        """Open the connection if it is not; the error when the server cannot be reached."""
        if self._open:
            return None
        try:
            self.backend.open()
        except Exception as error:
            self.close()
            return error
        self._open = True
        return None

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.ensure_open() is not None:
            raise smtplib.SMTPServerDisconnected("the mail server cannot be reached")
        if self.backend.send_messages([message]) != 1:
            raise Undeliverable("the mail backend accepted nothing")

    def close(self) -> None:
        self._open = False
        try:
            self.backend.close()
        except Exception:  # already gone: nothing to tidy up
            log.debug("smtp close failed")
