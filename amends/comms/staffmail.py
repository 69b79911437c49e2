"""The mailroom's reads and its one extra write: what staff see of the post, the calls, the
mail that needs a person and the messages that were not delivered.

Every read is scoped to the actor's provider; another provider's message answers "not found"
(:class:`~amends.cases.errors.CaseError` with ``code=not_found``), like a case. The writes a
person makes here (a letter posted, a call made, a case opened from an email) are the existing
services of :mod:`amends.comms.printqueue`, :mod:`amends.cases.actions` and
:mod:`amends.comms.intake`; :func:`outbox_retry` is the one this module adds: a message the
sender gave up on (``dead``) queued again by a person, with the error it died of kept on the
case's sealed trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet

from amends.cases.actors import Actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.events import EventKind
from amends.cases.models import Customer
from amends.cases.writes import CaseWrite, lock_case, not_found
from amends.comms.letters import letter_store
from amends.comms.models import (
    Audience,
    InboundMessage,
    InboundStatus,
    OutboxChannel,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from amends.domain.access import Work

__all__ = [
    "RECOGNISED_DAYS",
    "RawEmail",
    "customer_id_for_account",
    "inbound_quarantined_for_staff",
    "inbound_raw_for_staff",
    "inbound_recognised_for_staff",
    "letter_document_for_staff",
    "outbox_failed_for_staff",
    "outbox_retry",
]

log = logging.getLogger("amends.comms.staffmail")

#: How far back the list of emails recognised as complaints reaches.
RECOGNISED_DAYS = 30


def _id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaseError(f"No such {what}.", code=ErrorCode.NOT_FOUND)
    return value


# --------------------------------------------------------------------------- reads


def inbound_quarantined_for_staff(actor: Actor) -> QuerySet[InboundMessage]:
    """Emails to the actor's provider that Amends could not read or place and that no one has
    put on a case yet, newest first. (An email for no known provider belongs to no provider's
    staff: it is never listed here.)"""
    return InboundMessage.objects.filter(
        provider_id=actor.provider_id,
        status=InboundStatus.QUARANTINED,
        case__isnull=True,
    ).order_by("-arrived_at", "-pk")


def inbound_recognised_for_staff(actor: Actor, *, now: datetime) -> QuerySet[InboundMessage]:
    """Emails of the last :data:`RECOGNISED_DAYS` days in which the dissatisfaction rules found
    words of complaint (the words are on ``triggers``), newest first, with their case: for
    staff to check the rule's judgement and reclassify through the case when it was wrong."""
    return (
        InboundMessage.objects.filter(
            provider_id=actor.provider_id,
            stored_at__gte=now - timedelta(days=RECOGNISED_DAYS),
        )
        .exclude(triggers=[])
        .select_related("case")
        .order_by("-arrived_at", "-pk")
    )


def outbox_failed_for_staff(actor: Actor) -> QuerySet[OutboxMessage]:
    """The provider's messages not delivered: given up (``dead``) first, then those the sender
    will try again (``failed``), the longest-waiting first."""
    return (
        OutboxMessage.objects.filter(
            provider_id=actor.provider_id,
            status__in=[OutboxStatus.DEAD, OutboxStatus.FAILED],
        )
        .select_related("case")
        .defer("body_text", "body_html", "payload")
        .order_by("status", "created_at", "pk")
    )


@dataclass(frozen=True)
class RawEmail:
    inbound_id: int
    data: bytes


def inbound_raw_for_staff(actor: Actor, *, inbound_id: int) -> RawEmail:
    """The raw bytes of one of the provider's emails, as received (read through the storage
    API, so the same on a shared disk or S3)."""
    actor.require(Work.VIEW_CASES)
    row = (
        InboundMessage.objects.filter(pk=_id(inbound_id, "email"), provider_id=actor.provider_id)
        .only("pk", "raw")
        .first()
    )
    if row is None or not row.raw:
        raise CaseError("No such email.", code=ErrorCode.NOT_FOUND)
    with default_storage.open(row.raw.name, "rb") as handle:
        data = bytes(handle.read())
    log.info("inbound raw read", extra={"inbound_id": row.pk, "actor": actor.label})
    return RawEmail(row.pk, data)


def letter_document_for_staff(actor: Actor, *, outbox_id: int, now: datetime) -> OutboxMessage:
    """A letter to one of the provider's customers, printed: a letter not printed yet is
    printed now, dated today (UK), and stored with its SHA-256 (:func:`letter_store`; it is
    then the letter the customer receives, so printing is for those who post letters)."""
    message = (
        OutboxMessage.objects.select_related("case", "provider")
        .filter(
            pk=_id(outbox_id, "letter"),
            provider_id=actor.provider_id,
            channel=OutboxChannel.POST,
            audience=Audience.CUSTOMER,
        )
        .first()
    )
    if message is None:
        raise CaseError("No such letter.", code=ErrorCode.NOT_FOUND)
    actor.require(Work.VIEW_CASES if message.document else Work.LOG_CALL)
    return letter_store(message, now)


def customer_id_for_account(actor: Actor, *, account_number: str, field: str) -> int | None:
    """The provider's customer with this account number (None when none was given)."""
    account_number = account_number.strip()
    if not account_number:
        return None
    found = (
        Customer.objects.filter(provider_id=actor.provider_id, account_number=account_number)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise CaseError("No customer has that account number.", field=field, code=ErrorCode.INVALID)
    return int(found)


# --------------------------------------------------------------------------- the write


def _requeue(message: OutboxMessage, now: datetime) -> None:
    message.status = OutboxStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = now
    # last_error is kept: it says why the message was given up until the next attempt says
    # otherwise (and the case's trail keeps it for good).
    message.save(update_fields=["status", "attempts", "next_attempt_at"])


def outbox_retry(*, outbox_id: int, actor: Actor, now: datetime) -> OutboxMessage:
    """A message Amends stopped trying to deliver (``dead``) is tried again: queued for the
    sender now, its attempts counted from zero. On a case, the retry is on the case's sealed
    trail (who asked, when, and the error the message had died of); the row's ``last_error``
    stays until the next attempt replaces it. Only a dead message: one that failed is retried
    by the sender anyway, and a delivered one is never sent twice by hand."""
    row = (
        OutboxMessage.objects.filter(pk=_id(outbox_id, "message"), provider_id=actor.provider_id)
        .only("pk", "case_id", "status")
        .first()
    )
    if row is None:
        raise CaseError("No such message.", code=ErrorCode.NOT_FOUND)
    actor.require(Work.LOG_CALL)

    def requeue_locked() -> OutboxMessage:
        message = OutboxMessage.objects.select_for_update().get(pk=row.pk)
        if message.status != OutboxStatus.DEAD:
            label = OutboxStatus(message.status).label.lower()
            raise CaseError(
                f"Only a message Amends has stopped trying can be tried again; this one is "
                f"{label}.",
                field="outbox_id",
            )
        if message.channel not in (OutboxChannel.EMAIL, OutboxChannel.STAFF):
            raise CaseError("A letter or a call is delivered by hand.", field="outbox_id")
        return message

    if row.case_id is None:
        with transaction.atomic():
            message = requeue_locked()
            error, attempts = message.last_error, message.attempts
            _requeue(message, now)
    else:
        with transaction.atomic():
            # The lock order of every writer: the case, then its outbox row.
            case = lock_case(row.case_id, actor)
            if case is None:
                raise not_found()
            write = CaseWrite(case, actor, now)
            message = requeue_locked()
            error, attempts = message.last_error, message.attempts
            _requeue(message, now)
            kind = OutboxKind(message.kind).label
            write.event(
                EventKind.NOTE_ADDED,
                {
                    "text": (
                        f"Message queued again by staff ({kind}): Amends had stopped trying "
                        f"after {attempts} attempt(s). Last error: {error or 'none recorded'}"
                    ),
                    "message": message.pk,
                    "requeued": True,
                    "attempts": attempts,
                    "last_error": error,
                },
            )
            write.finish()
    log.info(
        "outbox requeued by staff",
        extra={
            "outbox_id": message.pk,
            "case_id": message.case_id,
            "provider_id": actor.provider_id,
            "attempts": attempts,
            "actor": actor.label,
        },
    )
    return message
