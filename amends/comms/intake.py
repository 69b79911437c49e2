"""Inbound mail: every email stored before it is read, then placed on its case.

Two steps, each its own transaction, so that nothing received is ever lost:

1. :func:`inbound_store` writes the raw bytes through Django's storage API (content-addressed:
   ``mail/raw/<sha256>.eml``, so a retry writes the same file) and commits a row for them. A
   message is stored once per provider: the same Message-ID, or the same bytes when it has
   none, is a duplicate (two partial unique constraints), however many times the MTA or the
   poller hands it over.
2. :func:`inbound_process` reads it (:func:`amends.domain.mail.parse`, pure, never raises) and
   places it: a delivery report marks the message of ours it returns as failed and tells
   staff; an automatic reply is linked to its case and never answered; a reply lands on its
   case (In-Reply-To and References against the Message-IDs Amends sent, then a case
   reference in the subject whose check character is right); anything else opens a case of
   the mailbox's kind, first received when the receiving server took it. Words of
   dissatisfaction make it a complaint (or turn its case into one), with the words kept.
   What cannot be read or placed is quarantined with its reason. A crash or a database outage
   between the steps leaves the row ``stored``; :func:`inbound_sweep` (the worker) and
   ``amends mail process`` pick it up again.

Threading on a mistyped reference: a subject reference whose check character does not match
is never trusted, because it may be another customer's case. The message opens a new case
(it is still a customer's message, and a complaint must be recognised the day it arrives; a
quarantine would leave it unrecognised until someone looks), and the row names the reference
as written and the case it probably meant, for staff to merge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from amends.cases.actions import case_message_received, case_open, customer_create
from amends.cases.actors import Actor, system_actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Customer
from amends.comms.models import (
    InboundAttachment,
    InboundMessage,
    InboundStatus,
    Mailbox,
    MailboxAuth,
    MailboxKind,
    MailboxSecurity,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from amends.comms.outbox import Outbox, staff_recipient
from amends.domain import mail
from amends.domain.codes import CaseKind, ChannelType
from amends.providers.models import Provider

log = logging.getLogger("amends.comms.intake")

#: The kind of case a new message to each kind of mailbox opens.
CASE_KIND = {
    MailboxKind.COMPLAINTS.value: CaseKind.COMPLAINT,
    MailboxKind.QUERIES.value: CaseKind.ACCOUNT_QUERY,
    MailboxKind.SUPPORT.value: CaseKind.SUPPORT_REQUEST,
    MailboxKind.ABUSE.value: CaseKind.ABUSE_REPORT,
}
#: An arrival time this far ahead of our clock is a wrong server clock, not the future.
CLOCK_SKEW = timedelta(minutes=5)
#: After this many failed interpretations (not database outages: errors in the message's
#: handling) the message is quarantined for staff instead of retried forever.
MAX_ATTEMPTS = 5
#: The status a bounced message of ours is given (with ``last_error`` "bounced: ..."): not
#: delivered, given up, shown to staff. Not ``failed``: the sender retries failed rows, and
#: one it had already handed to the server would be recorded as delivered all over again.
BOUNCED_STATUS = OutboxStatus.DEAD


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class Route:
    """Where a message goes: a provider (None: unrouted, quarantined), a mailbox if known,
    and the kind of mailbox (what a new case from it is)."""

    provider: Provider | None
    mailbox: Mailbox | None
    kind: str
    problem: str = ""


def _header_recipients(raw: bytes) -> list[str]:
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: 256 * 1024])
        values: list[str] = []
        for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
            values += [str(v) for v in headers.get_all(name) or []]
        return [a.strip().lower() for _n, a in getaddresses(values) if "@" in a]
    except Exception:  # noqa: BLE001 - routing falls back to the options and the provider
        return []


def route(
    *,
    raw: bytes,
    provider_slug: str | None = None,
    mailbox_kind: str | None = None,
    recipients: Sequence[str] = (),
) -> Route:
    """Which provider and mailbox a piped message is for: ``--provider``/``--mailbox`` when
    given; else the mailbox whose address the envelope recipient (``--recipient``) or the
    headers name; else the only provider, when there is one. Never raises for the message."""
    kind = mailbox_kind or ""
    if provider_slug:
        provider = Provider.objects.filter(slug=provider_slug).first()
        if provider is None:
            return Route(
                None, None, kind or MailboxKind.COMPLAINTS, f"no provider {provider_slug!r}"
            )
        boxes = Mailbox.objects.filter(provider=provider, active=True)
        addressed = [a.lower() for a in recipients] + _header_recipients(raw)
        mailbox = (
            boxes.filter(kind=kind).first()
            if kind
            else next((b for b in boxes if b.address.lower() in addressed), None)
        )
        return Route(provider, mailbox, kind or (mailbox.kind if mailbox else "complaints"))
    addressed = [a.lower() for a in recipients] + _header_recipients(raw)
    if addressed:
        by_address = {b.address.lower(): b for b in Mailbox.objects.filter(active=True)}
        for address in addressed:
            box = by_address.get(address)
            if box is not None:
                return Route(box.provider, box, kind or box.kind)
    providers = list(Provider.objects.all()[:2])
    if len(providers) == 1:
        return Route(providers[0], None, kind or MailboxKind.COMPLAINTS)
    return Route(
        None,
        None,
        kind or MailboxKind.COMPLAINTS,
        "no mailbox of any provider matches the recipients; use --provider",
    )


# --------------------------------------------------------------------------- storing


@dataclass(frozen=True)
class Stored:
    inbound_id: int
    #: False when this message was stored before (a duplicate: nothing more to do).
    created: bool


def _raw_name(sha: str) -> str:
    return f"mail/raw/{sha[:2]}/{sha}.eml"


def _save_file(name: str, data: bytes) -> str:
    """Write ``data`` under a content-addressed name, once (a retry finds it there)."""
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(data))


def _duplicate(scope: str, message_id: str, sha: str) -> InboundMessage | None:
    lookup = Q(message_id=message_id) if message_id else Q(message_id="", raw_sha256=sha)
    return InboundMessage.objects.filter(lookup, scope=scope).only("pk").first()


def inbound_store(
    *,
    raw: bytes,
    now: datetime,
    source: str,
    route: Route,
    arrived_at: datetime | None = None,
) -> Stored:
    """Store the raw message and commit, before anything interprets it. Storage and database
    errors propagate (the caller answers "try again later": nothing was stored)."""
    sha = mail.sha256(raw)
    message_id = mail.quick_message_id(raw)
    scope = f"provider:{route.provider.pk}" if route.provider is not None else "unrouted"
    existing = _duplicate(scope, message_id, sha)
    if existing is not None:
        log.info("inbound duplicate", extra={"inbound_id": existing.pk})
        return Stored(existing.pk, False)
    name = _save_file(_raw_name(sha), raw)
    # When the receiving server took it, known before the message is read (so that even a
    # message that cannot be read keeps its arrival); else the IMAP server's date, else now.
    arrived = mail.quick_arrival(raw)
    if arrived is None or arrived > now + CLOCK_SKEW:
        arrived = arrived_at or now
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(
                provider=route.provider,
                mailbox=route.mailbox,
                mailbox_kind=route.kind,
                scope=scope,
                source=source,
                raw=name,
                raw_sha256=sha,
                raw_size=len(raw),
                message_id=message_id,
                stored_at=now,
                arrived_at=min(arrived, now),
                quarantine_reason=route.problem[:300],
            )
    except IntegrityError:
        # Another process stored the same message between our look and our insert.
        existing = _duplicate(scope, message_id, sha)
        if existing is None:
            raise
        return Stored(existing.pk, False)
    log.info("inbound stored", extra={"inbound_id": row.pk, "source": source})
    return Stored(row.pk, True)


# --------------------------------------------------------------------------- reading


def _read_raw(row: InboundMessage) -> bytes:
    with default_storage.open(row.raw.name, "rb") as handle:
        data = handle.read()
    return bytes(data)


def _store_attachments(parsed: mail.ParsedMail) -> list[str]:
    """Write each kept attachment (content-addressed); the names, in order ("" if refused)."""
    names: list[str] = []
    for attachment in parsed.attachments:
        if attachment.refused:
            names.append("")
            continue
        filename = default_storage.get_valid_name(attachment.filename) or "attachment"
        names.append(
            _save_file(
                f"mail/attachments/{attachment.sha256[:2]}/{attachment.sha256}/{filename[:80]}",
                attachment.content,
            )
        )
    return names


def _arrival(parsed: mail.ParsedMail, row: InboundMessage, now: datetime) -> datetime:
    """The receiving server's time; never in the future (a wrong clock there is not a
    complaint received tomorrow): then when the message was stored."""
    when = parsed.arrived_at
    if when is None or when > now + CLOCK_SKEW:
        return row.arrived_at
    return min(when, now)


def _fill(row: InboundMessage, parsed: mail.ParsedMail, now: datetime) -> None:
    row.from_address = parsed.from_address[:254]
    row.from_name = parsed.from_name[:200]
    row.subject = parsed.subject[:500]
    row.display_text = parsed.display_text
    row.text = parsed.text
    row.html = parsed.html
    row.in_reply_to = list(parsed.in_reply_to)
    row.references = list(parsed.references)
    row.defects = list(parsed.defects)
    row.arrived_at = _arrival(parsed, row, now)


# --------------------------------------------------------------------------- threading


@dataclass
class Placement:
    case: Case | None = None
    outbox: OutboxMessage | None = None
    threaded_by: str = ""
    note: str = ""
    suggested: Case | None = None


def _thread(provider: Provider, parsed: mail.ParsedMail) -> Placement:
    """The case a message answers (a merged duplicate's mail lands on the case it was
    merged into)."""
    placement = _thread_raw(provider, parsed)
    case = placement.case
    for _ in range(10):  # a chain of merges, never a loop (merges only join open cases)
        if case is None or case.merged_into_id is None:
            break
        case = Case.objects.filter(pk=case.merged_into_id).first()
    if case is not placement.case:
        return Placement(
            case=case,
            outbox=placement.outbox,
            threaded_by=placement.threaded_by,
            note=placement.note,
            suggested=placement.suggested,
        )
    return placement


def _thread_raw(provider: Provider, parsed: mail.ParsedMail) -> Placement:
    """The case a message answers: In-Reply-To and References against the Message-IDs
    Amends sent (and the customer's own earlier messages on a case), then a reference in
    the subject whose check character is right."""
    ids = parsed.thread_ids()
    if ids:
        sent = {
            m.message_id: m
            for m in OutboxMessage.objects.filter(
                provider=provider, message_id__in=ids, case__isnull=False
            ).select_related("case")
        }
        received = {
            m.message_id: m
            for m in InboundMessage.objects.filter(
                provider=provider, message_id__in=ids, case__isnull=False
            ).select_related("case")
        }
        for mid in ids:
            how = "in_reply_to" if mid in parsed.in_reply_to else "references"
            if mid in sent:
                return Placement(case=sent[mid].case, outbox=sent[mid], threaded_by=how)
            if mid in received:
                return Placement(case=received[mid].case, threaded_by=how)
    notes: list[str] = []
    suggested: Case | None = None
    for mention in mail.subject_references(parsed.subject):
        if mention.reference:
            case = Case.objects.filter(provider=provider, reference=mention.reference).first()
            if case is not None:
                return Placement(case=case, threaded_by="subject_reference")
            notes.append(f"the subject names {mention.reference}, not a case of this provider")
            continue
        notes.append(f"the subject names {mention.text!r}: {mention.problem}, so it is not trusted")
        if suggested is None:
            stem = f"{mention.prefix}-{mention.year:02d}-{mention.serial:06d}-"
            suggested = Case.objects.filter(provider=provider, reference__startswith=stem).first()
    return Placement(note="; ".join(notes)[:300], suggested=suggested)


def _our_own(provider: Provider, parsed: mail.ParsedMail) -> str:
    """Why a message is one of ours come back (a loop), or ""."""
    if parsed.message_id and OutboxMessage.objects.filter(message_id=parsed.message_id).exists():
        return "one of Amends' own messages came back (a mail loop, not answered)"
    ours = {settings.DEFAULT_FROM_EMAIL.lower()} | {
        a.lower()
        for a in Mailbox.objects.filter(provider=provider).values_list("address", flat=True)
    }
    if parsed.from_address and parsed.from_address in ours:
        return "sent from one of the provider's own mailboxes (a mail loop, not answered)"
    return ""


# --------------------------------------------------------------------------- bounces


_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def outbox_mark_bounced(*, outbox_id: int, reason: str, now: datetime) -> bool:
    """A delivery report says one of our messages did not reach its recipient: mark it not
    delivered (:data:`BOUNCED_STATUS`, ``last_error`` "bounced: ...") and tell staff with a
    ``worker_alert``, once per message (the alert's key is unique). A bounced message to staff
    is marked and logged, never alerted about. Returns False when it was already marked."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(of=("self",))
            .select_related("provider", "case", "case__handler")
            .filter(pk=outbox_id)
            .first()
        )
        if message is None:
            return False
        # No address in an error field (as the sender does): the alert to staff names it.
        error = f"bounced: {_ADDRESS.sub('<address>', reason)}"[:300]
        if message.status == BOUNCED_STATUS and message.last_error.startswith("bounced:"):
            return False
        message.status = BOUNCED_STATUS
        message.last_error = error
        message.save(update_fields=["status", "last_error"])
        if message.audience != "customer":
            # A message to staff that bounced is not announced to staff by another message
            # (it would go to the same place, and its bounce would start a loop).
            log.warning("staff message bounced", extra={"outbox_id": message.pk})
            return True
        case = message.case
        reference = case.reference if case is not None else ""
        handler = case.handler if case is not None else None
        outbox = Outbox()
        outbox.add(
            provider=message.provider,
            case=case,
            kind=OutboxKind.WORKER_ALERT,
            key=f"outbox:{message.pk}:bounced",
            recipient=staff_recipient(handler, fallback_email=message.provider.alerts_email),
            now=now,
            payload={
                "reference": reference,
                "alert": "bounced",
                "outbox": message.pk,
                "kind": message.kind,
                "error": error,
            },
        )
        # The renderer's worker alert is about a clock; this one says what bounced.
        alert = outbox.rows[-1]
        prefix = f"{reference}: " if reference else ""
        alert.subject = f"{prefix}a message did not reach the customer"[:300]
        alert.body_text = (
            f"Case {reference or '(none)'}: the {OutboxKind(message.kind).label.lower()} "
            f"sent to {message.recipient_address or 'the customer'} was returned by the mail "
            f"server ({reason}).\n"
            "Check the customer's address and reach them another way; the clock it meets is "
            "not met by a message that did not arrive.\n"
        )
        alert.body_sha256 = hashlib.sha256(alert.body_text.encode()).hexdigest()
        outbox.flush()
    log.info("outbox message bounced", extra={"outbox_id": outbox_id})
    return True


# --------------------------------------------------------------------------- placing


def _customer_for(provider: Provider, parsed: mail.ParsedMail | _Sender, now: datetime) -> Customer:
    found = (
        Customer.objects.filter(provider=provider, email__iexact=parsed.from_address)
        .order_by("pk")
        .first()
    )
    if found is not None:
        return found
    name = parsed.from_name.strip().strip("\"'") or parsed.from_address.split("@")[0]
    return customer_create(
        provider=provider,
        now=now,
        contact_name=name[:200],
        email=parsed.from_address,
        preferred_contact="email",
    )


def _triggers(parsed: mail.ParsedMail, case: Case | None) -> tuple[mail.Trigger, ...]:
    """The dissatisfaction rules the sender's own words match: what they wrote this time (the
    whole text of a forward), and the subject unless it is one of ours replied to ("RE: ...:
    your complaint" says nothing about how the customer feels)."""
    body = parsed.text if parsed.forwarded else parsed.display_text
    subject = parsed.subject
    if case is not None and subject:
        ours = {
            mail.subject_core(s)
            for s in OutboxMessage.objects.filter(case=case).values_list("subject", flat=True)[:200]
        }
        if mail.subject_core(subject) in ours:
            subject = ""
    return mail.dissatisfaction(f"{subject}\n{body}")


def _trigger_rows(triggers: Iterable[mail.Trigger]) -> list[dict[str, str]]:
    return [{"rule": t.rule, "words": t.words} for t in triggers]


def _summary(parsed: mail.ParsedMail) -> str:
    subject = parsed.subject.strip() or "(no subject)"
    return f"Email: {subject}"[:200]


def _place(row: InboundMessage, parsed: mail.ParsedMail, now: datetime) -> None:
    provider = row.provider
    assert provider is not None
    actor = system_actor(provider.pk)
    if parsed.bounce is not None:
        row.status = InboundStatus.BOUNCE
        row.bounce = {
            "action": parsed.bounce.action,
            "status": parsed.bounce.status,
            "recipients": list(parsed.bounce.recipients),
            "diagnostic": parsed.bounce.diagnostic,
            "original_message_ids": list(parsed.bounce.original_message_ids),
        }
        ids = parsed.bounce.original_message_ids or parsed.thread_ids()
        ours = (
            OutboxMessage.objects.filter(provider=provider, message_id__in=ids).first()
            if ids
            else None
        )
        if ours is not None:
            row.outbox = ours
            row.case_id = ours.case_id
            row.threaded_by = "bounce"
            if parsed.bounce.failed:
                outbox_mark_bounced(outbox_id=ours.pk, reason=parsed.bounce.describe(), now=now)
        return
    loop = _our_own(provider, parsed)
    if parsed.auto_reply or loop:
        placement = _thread(provider, parsed)
        # Kept for staff to see, never acted on: a machine is not dissatisfied.
        row.triggers = _trigger_rows(_triggers(parsed, placement.case))
        row.status = InboundStatus.AUTO_REPLY
        row.auto_reply_reason = (loop or parsed.auto_reply)[:200]
        row.case = placement.case
        row.outbox = placement.outbox
        row.threaded_by = placement.threaded_by
        row.reference_note = placement.note
        row.suggested_case = placement.suggested
        return
    placement = _thread(provider, parsed)
    triggers = _triggers(parsed, placement.case)
    row.triggers = _trigger_rows(triggers)
    row.reference_note = placement.note
    row.suggested_case = placement.suggested
    if placement.case is not None:
        was_complaint = placement.case.kind == CaseKind.COMPLAINT.value
        case = case_message_received(
            case_id=placement.case.pk,
            actor=actor,
            message=row.pk,
            summary=_summary(parsed),
            now=now,
            received_at=row.arrived_at,
            dissatisfied=bool(triggers),
        )
        row.case = case
        row.customer_id = case.customer_id
        row.outbox = placement.outbox
        row.threaded_by = placement.threaded_by
        row.recognised_as_complaint = bool(triggers) and not was_complaint
        row.status = InboundStatus.THREADED
        return
    if not parsed.from_address:
        raise _Quarantine("no usable sender address to open a case for")
    customer = _customer_for(provider, parsed, now)
    mailbox_kind = CASE_KIND.get(row.mailbox_kind, CaseKind.COMPLAINT)
    kind = CaseKind.COMPLAINT if triggers else mailbox_kind
    note = ""
    if now - row.arrived_at > timedelta(hours=1):
        note = (
            f"email received by the mail server at {row.arrived_at.isoformat(timespec='minutes')}"
            f" and read by Amends at {now.isoformat(timespec='minutes')}"
        )
    description = parsed.display_text
    if triggers and mailbox_kind is not CaseKind.COMPLAINT:
        words = ", ".join(f"{t.words!r}" for t in triggers)
        description = (
            f"[Recognised as a complaint: the email says {words}. "
            f"It came to the {row.mailbox_kind} mailbox.]\n\n{description}"
        )
    case = case_open(
        provider=provider,
        customer=customer,
        kind=kind,
        channel=ChannelType.EMAIL,
        first_received_at=row.arrived_at,
        summary=_summary(parsed),
        description=description[:20_000],
        now=now,
        actor=actor,
        first_received_note=note[:300],
    )
    case_message_received(
        case_id=case.pk,
        actor=actor,
        message=row.pk,
        summary=_summary(parsed),
        now=now,
        received_at=row.arrived_at,
    )
    row.case = case
    row.customer = customer
    row.threaded_by = "new"
    row.recognised_as_complaint = bool(triggers) and mailbox_kind is not CaseKind.COMPLAINT
    row.status = InboundStatus.OPENED


class _Quarantine(Exception):
    pass


def _quarantine(row: InboundMessage, reason: str, now: datetime) -> None:
    row.status = InboundStatus.QUARANTINED
    row.quarantine_reason = reason[:300]
    row.processed_at = now


def inbound_process(*, inbound_id: int, now: datetime | None = None) -> InboundMessage | None:
    """Read a stored message and place it (once: a message already placed is left alone).
    Database errors propagate, leaving it stored for the next try; anything the message
    itself causes quarantines it with the reason."""
    now = now or timezone.now()
    row = InboundMessage.objects.filter(pk=inbound_id).select_related("provider").first()
    if row is None or row.status != InboundStatus.STORED:
        return row
    parsed: mail.ParsedMail | mail.Quarantined
    try:
        parsed = mail.parse(_read_raw(row))
    except OSError as error:
        parsed = mail.Quarantined(
            f"the raw message cannot be read from storage ({type(error).__name__})"
        )
    names: list[str] = []
    if isinstance(parsed, mail.ParsedMail) and row.provider is not None:
        names = _store_attachments(parsed)
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().filter(pk=inbound_id).first()
        if locked is None or locked.status != InboundStatus.STORED:
            return locked
        row = locked
        if isinstance(parsed, mail.Quarantined):
            row.subject = parsed.subject[:500]
            row.from_address = parsed.from_address[:254]
            _quarantine(row, parsed.reason, now)
        else:
            _fill(row, parsed, now)
            InboundAttachment.objects.filter(message=row).delete()
            InboundAttachment.objects.bulk_create(
                InboundAttachment(
                    message=row,
                    position=position,
                    filename=a.filename[:200],
                    content_type=a.content_type[:100],
                    size=a.size,
                    sha256=a.sha256,
                    file=name,
                    refused=a.refused[:200],
                )
                for position, (a, name) in enumerate(
                    zip(parsed.attachments, names or [""] * len(parsed.attachments), strict=True),
                    start=1,
                )
            )
            if row.provider is None:
                _quarantine(row, row.quarantine_reason or "no provider for this message", now)
            else:
                try:
                    with transaction.atomic():
                        _place(row, parsed, now)
                except (_Quarantine, CaseError) as refused:
                    # Nothing _place did was kept (its savepoint rolled back): say why.
                    row.case = row.customer = row.outbox = None
                    row.threaded_by = ""
                    row.recognised_as_complaint = False
                    _quarantine(row, f"cannot place it: {refused}", now)
        row.processed_at = now
        row.last_error = ""
        row.save()
    log.info(
        "inbound processed",
        extra={"inbound_id": row.pk, "status": row.status, "case_id": row.case_id},
    )
    return row


def inbound_record_failure(*, inbound_id: int, error: BaseException, now: datetime) -> None:
    """An interpretation failed for a reason outside the message (the database, a bug):
    count it, and after :data:`MAX_ATTEMPTS` quarantine the message for staff."""
    try:
        with transaction.atomic():
            row = InboundMessage.objects.select_for_update().filter(pk=inbound_id).first()
            if row is None or row.status != InboundStatus.STORED:
                return
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:300]
            fields = ["attempts", "last_error"]
            if row.attempts >= MAX_ATTEMPTS and not isinstance(error, DatabaseError):
                _quarantine(row, f"could not be read after {row.attempts} tries", now)
                fields += ["status", "quarantine_reason", "processed_at"]
            row.save(update_fields=fields)
    except DatabaseError:
        log.error("inbound failure not recorded", extra={"inbound_id": inbound_id})


def inbound_process_safely(*, inbound_id: int, now: datetime | None = None) -> bool:
    """:func:`inbound_process`, recording a failure instead of raising. True when done."""
    try:
        inbound_process(inbound_id=inbound_id, now=now)
        return True
    except Exception as error:  # noqa: BLE001 - one message never stops the others
        log.exception("inbound processing failed", extra={"inbound_id": inbound_id})
        inbound_record_failure(inbound_id=inbound_id, error=error, now=now or timezone.now())
        return False


def inbound_sweep(
    now: datetime, *, limit: int = 100, min_age: timedelta = timedelta(seconds=60)
) -> int:
    """The worker's pass over messages stored but not yet read (a crash or an outage between
    storing and reading); ``min_age`` leaves a message to the process that has just stored it.
    Returns how many it handled."""
    pending = list(
        InboundMessage.objects.filter(status=InboundStatus.STORED, stored_at__lte=now - min_age)
        .order_by("stored_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in pending if inbound_process_safely(inbound_id=pk, now=now))


# --------------------------------------------------------------------------- by hand


def inbound_open_case(
    *,
    inbound_id: int,
    actor: Actor,
    kind: CaseKind,
    now: datetime,
    reason: str,
    customer_id: int | None = None,
) -> Case:
    """Staff turn a message Amends could not place (quarantined, or automatic) into a case by
    hand: first received when it arrived, the message on the case, ``reason`` recorded as why
    it is entered late. The customer is the one given, else the sender (found or created)."""
    reason = reason.strip()
    if not reason:
        raise CaseError(
            "Say why this email is opened by hand.", field="reason", code=ErrorCode.INVALID
        )
    with transaction.atomic():
        row = (
            InboundMessage.objects.select_for_update()
            .filter(pk=inbound_id, provider_id=actor.provider_id)
            .first()
        )
        if row is None or row.provider is None:
            raise CaseError("No such message.", code=ErrorCode.NOT_FOUND)
        if row.case_id is not None:
            raise CaseError("This message is already on a case.", code=ErrorCode.REFUSED)
        if row.status not in (InboundStatus.QUARANTINED, InboundStatus.AUTO_REPLY):
            raise CaseError("Only a message Amends could not place is opened by hand.")
        provider = row.provider
        if customer_id is not None:
            customer = Customer.objects.filter(pk=customer_id, provider=provider).first()
            if customer is None:
                raise CaseError("No such customer.", field="customer_id", code=ErrorCode.INVALID)
        elif row.from_address:
            customer = _customer_for(
                provider,
                _Sender(from_address=row.from_address, from_name=row.from_name),
                now,
            )
        else:
            raise CaseError(
                "The email has no usable sender: choose the customer.",
                field="customer_id",
                code=ErrorCode.INVALID,
            )
        summary = f"Email: {row.subject.strip() or '(no subject)'}"[:200]
        case = case_open(
            provider=provider,
            customer=customer,
            kind=kind,
            channel=ChannelType.EMAIL,
            first_received_at=row.arrived_at,
            summary=summary,
            description=(row.display_text or row.text)[:20_000],
            now=now,
            actor=actor,
            first_received_note=f"email opened by hand: {reason}"[:300],
        )
        case_message_received(
            case_id=case.pk,
            actor=actor,
            message=row.pk,
            summary=summary,
            now=now,
            received_at=row.arrived_at,
        )
        row.case = case
        row.customer = customer
        row.threaded_by = "by_hand"
        row.status = InboundStatus.OPENED
        row.save(update_fields=["case", "customer", "threaded_by", "status"])
    log.info("inbound opened by hand", extra={"inbound_id": row.pk, "case_id": case.pk})
    return case


@dataclass(frozen=True)
class _Sender:
    from_address: str
    from_name: str


# --------------------------------------------------------------------------- the pipe


def ingest(
    *,
    raw: bytes,
    provider_slug: str | None = None,
    mailbox_kind: str | None = None,
    recipients: Sequence[str] = (),
    source: str = "pipe",
    now: Callable[[], datetime] = timezone.now,
) -> tuple[Stored, InboundMessage | None]:
    """What ``amends mail ingest`` does: store (errors propagate: nothing was stored), then
    read and place (errors recorded, never raised: the message is safe)."""
    where = route(
        raw=raw, provider_slug=provider_slug, mailbox_kind=mailbox_kind, recipients=recipients
    )
    stored = inbound_store(raw=raw, now=now(), source=source, route=where)
    if not stored.created:
        return stored, InboundMessage.objects.filter(pk=stored.inbound_id).first()
    inbound_process_safely(inbound_id=stored.inbound_id, now=now())
    try:
        return stored, InboundMessage.objects.filter(pk=stored.inbound_id).first()
    except DatabaseError:
        return stored, None


# --------------------------------------------------------------------------- IMAP


class MailboxError(Exception):
    """A mailbox that cannot be read now (login refused, server unreachable): recorded on the
    mailbox, retried on the next poll."""


def _secret(name: str, what: str) -> str:
    if not name:
        raise MailboxError(f"no environment variable is named for the {what}")
    value = os.environ.get(name, "")
    if not value:
        raise MailboxError(f"the environment variable {name} (the {what}) is not set")
    return value


MICROSOFT_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"


def oauth2_token_request(mailbox: Mailbox) -> tuple[str, dict[str, str]]:
    """The token endpoint and form for the mailbox's OAuth 2.0 configuration: a refresh token
    when one is named (Google; Microsoft delegated access), else Microsoft's client
    credentials grant (app-only access to Exchange Online)."""
    secret = _secret(mailbox.oauth2_client_secret_env, "OAuth 2.0 client secret")
    form = {"client_id": mailbox.oauth2_client_id, "client_secret": secret}
    if mailbox.auth == MailboxAuth.MICROSOFT:
        url = mailbox.oauth2_token_url or MICROSOFT_TOKEN_URL.format(
            tenant=urllib.parse.quote(mailbox.oauth2_tenant or "organizations", safe="")
        )
        if mailbox.oauth2_refresh_token_env:
            form |= {
                "grant_type": "refresh_token",
                "refresh_token": _secret(mailbox.oauth2_refresh_token_env, "refresh token"),
                "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
            }
        else:
            form |= {
                "grant_type": "client_credentials",
                "scope": "https://outlook.office365.com/.default",
            }
        return url, form
    url = mailbox.oauth2_token_url or GOOGLE_TOKEN_URL
    form |= {
        "grant_type": "refresh_token",
        "refresh_token": _secret(mailbox.oauth2_refresh_token_env, "refresh token"),
    }
    return url, form


def oauth2_access_token(mailbox: Mailbox, *, timeout: float = 30) -> str:
    url, form = oauth2_token_request(mailbox)
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise MailboxError(f"the token endpoint refused: HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise MailboxError(f"the token endpoint cannot be reached ({error})") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise MailboxError("the token endpoint gave no access token")
    return token


def _connect(mailbox: Mailbox, timeout: float) -> Any:
    from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted

    if mailbox.imap_security == MailboxSecurity.PLAIN:
        return MailBoxUnencrypted(mailbox.imap_host, mailbox.imap_port, timeout=timeout)
    context = ssl.create_default_context()
    if mailbox.imap_security == MailboxSecurity.STARTTLS:
        return MailBoxStartTls(
            mailbox.imap_host, mailbox.imap_port, timeout=timeout, ssl_context=context
        )
    return MailBox(mailbox.imap_host, mailbox.imap_port, timeout=timeout, ssl_context=context)


def mailbox_login(mailbox: Mailbox, *, timeout: float = 30) -> Any:
    """A logged-in imap-tools mailbox: a password from the environment, or XOAUTH2 with a
    token from Microsoft's or Google's identity platform."""
    if not mailbox.imap_host:
        raise MailboxError("no IMAP server is configured (the mailbox is fed by the pipe)")
    if mailbox.auth == MailboxAuth.PASSWORD:
        password = _secret(mailbox.password_env, "IMAP password")
        token = ""
    else:
        token = oauth2_access_token(mailbox, timeout=timeout)
        password = ""
    user = mailbox.imap_user or mailbox.address
    try:
        box = _connect(mailbox, timeout)
    except OSError as error:
        raise MailboxError(f"the IMAP server cannot be reached ({error})") from None
    try:
        if token:
            box.xoauth2(user, token, initial_folder=None)
        else:
            box.login(user, password, initial_folder=None)
    except Exception as error:
        with contextlib.suppress(Exception):
            box.logout()
        # The RFC 5530 response code says why (AUTHENTICATIONFAILED, UNAVAILABLE...).
        code = re.search(r"\[([A-Z][A-Z-]+)\]", str(error))
        why = code.group(1) if code else type(error).__name__
        raise MailboxError(f"the IMAP server refused the login ({why})") from None
    return box


@dataclass
class PollResult:
    stored: int = 0
    duplicates: int = 0
    moved: int = 0
    placed: int = 0
    errors: list[str] = field(default_factory=list)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _internal_date(value: str) -> datetime | None:
    """An IMAP INTERNALDATE (``17-Jul-1996 02:44:25 -0700``, RFC 3501) as an aware instant."""
    try:
        return datetime.strptime(value.strip(), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return None


def _fetched(data: Iterable[Any]) -> Iterator[tuple[str, datetime | None, bytes]]:
    """(uid, internal date, raw bytes) from an IMAP ``UID FETCH`` answer."""
    for item in data:
        if not isinstance(item, tuple) or len(item) < 2:
            continue
        head = item[0].decode("ascii", "replace") if isinstance(item[0], bytes) else str(item[0])
        uid = re.search(r"UID (\d+)", head)
        if uid is None:
            continue
        stamp = re.search(r'INTERNALDATE "([^"]+)"', head)
        internal = _internal_date(stamp.group(1)) if stamp is not None else None
        yield uid.group(1), internal, bytes(item[1])


#: The raw message exactly as the server holds it (PEEK: not marked seen) and its arrival.
FETCH_PARTS = "(UID INTERNALDATE BODY.PEEK[])"


def mailbox_poll(
    mailbox: Mailbox,
    *,
    now: Callable[[], datetime] = timezone.now,
    batch: int = 25,
    timeout: float = 30,
    result: PollResult | None = None,
) -> PollResult:
    """Fetch every message in the mailbox's folder: store it and commit, then move it to the
    processed folder, then place it. A crash between store and move leaves it in the folder:
    the next poll finds it stored already (a duplicate) and moves it. Nothing is deleted
    before it is stored. ``result`` is filled as it goes (a failure half-way still says what
    was stored and moved)."""
    result = result if result is not None else PollResult()
    route_to = Route(mailbox.provider, mailbox, mailbox.kind)
    to_place: list[int] = []
    box = mailbox_login(mailbox, timeout=timeout)
    try:
        if not box.folder.exists(mailbox.processed_folder):
            box.folder.create(mailbox.processed_folder)
        box.folder.set(mailbox.imap_folder)
        uids = box.uids("ALL")
        for chunk in _chunks(uids, batch):
            status, data = box.client.uid("fetch", ",".join(chunk), FETCH_PARTS)
            if status != "OK":
                raise MailboxError(f"the IMAP server refused to fetch ({status})")
            done: list[str] = []
            try:
                for uid, internal, raw in _fetched(data):
                    stored = inbound_store(
                        raw=raw, now=now(), source="imap", route=route_to, arrived_at=internal
                    )
                    done.append(uid)
                    if stored.created:
                        result.stored += 1
                        to_place.append(stored.inbound_id)
                    else:
                        result.duplicates += 1
            finally:
                # Only what is stored and committed leaves the folder.
                if done:
                    box.move(done, mailbox.processed_folder)
                    result.moved += len(done)
    finally:
        with contextlib.suppress(Exception):  # the server may have closed already
            box.logout()
    for inbound_id in to_place:
        if inbound_process_safely(inbound_id=inbound_id, now=now()):
            result.placed += 1
    return result


def poll_all(
    *,
    provider_slug: str | None = None,
    now: Callable[[], datetime] = timezone.now,
    timeout: float = 30,
) -> dict[int, PollResult]:
    """Poll every active IMAP mailbox (of one provider, or all). One mailbox that fails is
    recorded on its row and never stops the others; database errors propagate."""
    boxes = Mailbox.objects.filter(active=True).exclude(imap_host="").select_related("provider")
    if provider_slug:
        boxes = boxes.filter(provider__slug=provider_slug)
    results: dict[int, PollResult] = {}
    for mailbox in boxes:
        result = PollResult()
        error = ""
        try:
            mailbox_poll(mailbox, now=now, timeout=timeout, result=result)
        except MailboxError as failure:
            error = str(failure)
        except DatabaseError:
            raise
        except Exception as failure:  # noqa: BLE001 - the network, an IMAP protocol error
            error = f"{type(failure).__name__}: {failure}"
        if error:
            result.errors.append(error)
            log.warning("mailbox poll failed", extra={"mailbox_id": mailbox.pk})
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now(), last_error=error[:300])
        results[mailbox.pk] = result
    # Messages stored but not placed earlier (a crash, an outage) are placed now too.
    inbound_sweep(now(), min_age=timedelta(0))
    return results
