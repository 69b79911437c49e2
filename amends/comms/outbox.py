"""Writing the outbox: who a message goes to, by which channel, and what it says.

Called by the case services inside the transaction of the message's cause. The recipient and
address are a snapshot; the document is rendered now and stored with its digest (it is the
evidence of what was sent); the Message-ID is derived from the row's unique key, so a retry is
recognisably the same message. All rows of a transaction are written in one statement, and a
key written before is skipped (``ON CONFLICT DO NOTHING``): the effect of one cause exists once.

Channel choice (the customer's preference and needs decide): email when they prefer email and
have an address; a letter when they prefer letters, need large print or braille, or have no
email address; a call task for staff when they prefer the phone (the clock is met when the
call is logged). Messages to staff (breach notices, alerts) never use the customer's channel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User

from amends.comms.documents import render_message
from amends.comms.models import Audience, OutboxChannel, OutboxKind, OutboxMessage
from amends.core.inserts import insert

#: Formats that need a printed letter, whatever else the customer prefers.
PRINT_FORMATS = frozenset({"large_print", "braille"})


def message_id_for(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.AMENDS_MAIL_DOMAIN}>"


@dataclass(frozen=True)
class Recipient:
    audience: Audience
    channel: OutboxChannel
    name: str
    address: str
    user_id: int | None = None
    formats: tuple[str, ...] = ()


def customer_recipient(customer: Any) -> Recipient:
    """How a customer is reached, from their preference, needs and what we hold."""
    needs = tuple(str(n) for n in (customer.access_needs or ()))
    preferred = customer.preferred_contact
    postal = (customer.postal_address or "").strip()
    name = customer.representative_name or customer.contact_name
    if preferred == "phone" and customer.phone:
        return Recipient(Audience.CUSTOMER, OutboxChannel.PHONE, name, customer.phone, None, needs)
    wants_print = preferred == "letter" or bool(PRINT_FORMATS.intersection(needs))
    if customer.email and not (wants_print and postal):
        return Recipient(Audience.CUSTOMER, OutboxChannel.EMAIL, name, customer.email, None, needs)
    if postal:
        address = "\n".join(filter(None, [customer.business_name, postal]))
        return Recipient(Audience.CUSTOMER, OutboxChannel.POST, name, address, None, needs)
    # Neither an email nor a postal address: a member of staff must call (and find one).
    return Recipient(
        Audience.CUSTOMER, OutboxChannel.PHONE, name, customer.phone or "", None, needs
    )


def staff_recipient(user: User | None, *, fallback_email: str) -> Recipient:
    if user is None:
        return Recipient(Audience.STAFF, OutboxChannel.STAFF, "Complaints team", fallback_email)
    return Recipient(
        Audience.STAFF,
        OutboxChannel.STAFF,
        user.get_full_name() or user.get_username(),
        user.email or fallback_email,
        user.pk,
    )


@dataclass
class Outbox:
    """The messages of one transaction, written together by :meth:`flush`."""

    rows: list[OutboxMessage] = field(default_factory=list)

    def add(
        self,
        *,
        provider: Any,
        case: Any,
        kind: OutboxKind,
        key: str,
        recipient: Recipient,
        now: datetime,
        payload: dict[str, Any],
        meets: str = "",
    ) -> None:
        # The text and the HTML from one context, written now: the evidence of what was sent.
        rendered = render_message(
            kind,
            provider=provider,
            case=case,
            payload=payload,
            channel=recipient.channel.value,
            recipient_name=recipient.name,
            now=now,
        )
        subject, body = rendered.subject, rendered.text
        self.rows.append(
            OutboxMessage(
                provider_id=provider.pk,
                case=case,
                key=key,
                kind=kind.value,
                audience=recipient.audience.value,
                channel=recipient.channel.value,
                recipient_user_id=recipient.user_id,
                recipient_name=recipient.name,
                recipient_address=recipient.address,
                formats=list(recipient.formats),
                payload=payload,
                subject=subject[:300],
                body_text=body,
                body_html=rendered.html if recipient.channel is OutboxChannel.EMAIL else "",
                body_sha256=hashlib.sha256(body.encode()).hexdigest(),
                message_id=message_id_for(key),
                created_at=now,
                next_attempt_at=now,
                meets=meets,
            )
        )

    def flush(self) -> None:
        if self.rows:
            insert(self.rows, conflict="ignore")
            self.rows = []
