"""The print queue and the call tasks: messages a person delivers by hand.

A letter (channel ``post``) waits in its provider's print queue until someone prints it,
posts it and marks it posted; a call task (channel ``phone``) waits until someone makes the
call and logs it. Until then the message has not reached the customer, and the promise it
meets (an acknowledgement, a handler's introduction, an update) is not met: delivery is
recorded by :func:`amends.cases.actions.case_message_delivered`, by staff, at the time it
happened.

The posting date is the letter's date of issue, for the clocks and for the customer's 12
months after an ADR letter: :func:`letter_mark_posted` prints a letter not printed yet dated
its posting date, and records its delivery on that date (now, when it is posted today; the
end of that UK day, the latest it can have been, when it was posted on an earlier day). A
letter printed earlier is kept as it was printed: it is what the customer received.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from amends.cases.actors import Actor, actor_for_staff
from amends.cases.errors import CaseError, ErrorCode
from amends.comms.documents import LONDON, context_for, render_template, tidy_text
from amends.comms.letters import letter_store
from amends.comms.models import Audience, OutboxChannel, OutboxKind, OutboxMessage, OutboxStatus
from amends.domain.access import Work

__all__ = [
    "call_script",
    "call_tasks_for_staff",
    "letter_mark_posted",
    "posting_instant",
    "print_queue_for_staff",
]


def _staff(user: User | AnonymousUser) -> Actor | None:
    """The member of staff, if they may deliver messages by hand (those who log calls)."""
    try:
        actor = actor_for_staff(user)
    except CaseError:
        return None
    return actor if actor.may(Work.LOG_CALL) else None


def _waiting(user: User | AnonymousUser, channel: OutboxChannel) -> QuerySet[OutboxMessage]:
    actor = _staff(user)
    if actor is None:
        return OutboxMessage.objects.none()
    return (
        OutboxMessage.objects.filter(
            provider_id=actor.provider_id,
            audience=Audience.CUSTOMER,
            channel=channel,
            status=OutboxStatus.QUEUED,
        )
        .select_related("case", "provider")
        .order_by("created_at", "pk")
    )


def print_queue_for_staff(user: User | AnonymousUser) -> QuerySet[OutboxMessage]:
    """Letters to customers of the user's provider waiting to be posted, oldest first."""
    return _waiting(user, OutboxChannel.POST)


def call_tasks_for_staff(user: User | AnonymousUser) -> QuerySet[OutboxMessage]:
    """Messages to customers of the user's provider waiting for a call, oldest first."""
    return _waiting(user, OutboxChannel.PHONE)


def call_script(message: OutboxMessage) -> str:
    """What to say on the call: the message's own words, with how to open and close it."""
    context: dict[str, Any] = context_for(
        OutboxKind(message.kind),
        provider=message.provider,
        case=message.case,
        payload=message.payload,
        channel="phone",
        recipient_name=message.recipient_name,
        on=message.created_at.astimezone(LONDON).date(),
    )
    context["call_number"] = message.recipient_address.strip()
    return tidy_text(render_template("call_script.txt", context))


def posting_instant(posted_on: date, now: datetime) -> datetime:
    """When a letter posted on ``posted_on`` counts as delivered: now when that is today
    (UK), otherwise the end of that UK day (the latest it can have been posted)."""
    if posted_on == now.astimezone(LONDON).date():
        return now
    return datetime.combine(posted_on, time(23, 59, 59), tzinfo=LONDON)


def letter_mark_posted(
    *, outbox_id: int, actor: Actor, now: datetime, posted_on: date
) -> OutboxMessage:
    """A letter was posted on ``posted_on``: print it if it was not printed yet (dated that
    day), then record its delivery on that date, which meets its promise. A second call for
    the same letter is refused (it was delivered once)."""
    if isinstance(outbox_id, bool) or not isinstance(outbox_id, int):
        raise CaseError("No such letter.", code=ErrorCode.NOT_FOUND)
    if not isinstance(posted_on, date) or isinstance(posted_on, datetime):
        raise CaseError("Give the date the letter was posted.", field="posted_on")
    message = (
        OutboxMessage.objects.select_related("case", "provider")
        .filter(
            pk=outbox_id,
            provider_id=actor.provider_id,
            channel=OutboxChannel.POST,
            audience=Audience.CUSTOMER,
        )
        .first()
    )
    if message is None or message.case_id is None:
        raise CaseError("No such letter.", code=ErrorCode.NOT_FOUND)
    actor.require(Work.LOG_CALL)
    today = now.astimezone(LONDON).date()
    if posted_on > today:
        raise CaseError("A letter cannot be marked posted on a later day.", field="posted_on")
    written = message.created_at.astimezone(LONDON).date()
    if posted_on < written:
        raise CaseError(
            f"This letter was written on {written.isoformat()}; it cannot have been posted before.",
            field="posted_on",
        )
    if message.status == OutboxStatus.SENT:
        when = (message.sent_at or now).astimezone(LONDON).date()
        raise CaseError(f"This letter was already posted on {when.isoformat()}.", field="outbox_id")
    letter_store(message, now, dated=posted_on)

    from amends.cases.actions import case_message_delivered

    case_message_delivered(
        outbox_id=message.pk, actor=actor, now=now, at=posting_instant(posted_on, now)
    )
    message.refresh_from_db()
    return message
