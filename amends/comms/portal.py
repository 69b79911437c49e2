"""What the customer's private case page reads and writes (``amends.portal.casepage``).

* :func:`portal_reply`: the customer's reply on their page, with up to three files, goes in
  exactly as an email would: an RFC 5322 message from the customer's address on file to the
  provider's complaints address, "Re: <reference>", handed to :func:`intake.ingest` (source
  ``portal``). So it is stored before anything reads it, placed on its case by the reference,
  read for dissatisfaction (a query becomes a complaint) and its attachments kept under the
  same limits as email ones. Files are checked here first (type by content, size, count): a
  refused upload stores nothing.
* :func:`portal_link_request`: "send me my link again" (a new link to the address on file,
  only when the reference and that address match; the caller answers the same either way).
* The reads of the page: the actions the customer may take now, the ADR scheme's details,
  the messages and letters sent to them (each as a PDF) and what they wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Protocol

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from amends.cases import actions
from amends.cases import validation as v
from amends.cases.actors import system_actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case
from amends.cases.writes import case_status
from amends.comms import intake
from amends.comms.documents import LONDON, _provider_context, _scheme_context, _scheme_of
from amends.comms.letters import letter_pdf
from amends.comms.models import (
    Audience,
    InboundMessage,
    InboundStatus,
    Mailbox,
    MailboxKind,
    OutboxKind,
    OutboxMessage,
)
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import Action, State, allowed_actions
from amends.providers.models import Provider
from amends.providers.services import code_of

log = logging.getLogger("amends.comms.portal")

MB = 1024 * 1024
#: What the customer may upload with a reply: at most this many files of this size each.
MAX_FILES = 3
MAX_FILE_BYTES = 10 * MB
#: The longest reply (characters).
MAX_REPLY = 10_000
#: The From of a reply when the customer gave no email address (never one of ours: a message
#: from the provider's own address would be read as a mail loop).
NO_ADDRESS = "no-email-on-file@portal.invalid"

#: Accepted upload types: (MIME type, file name endings, how the content starts).
UPLOAD_TYPES: tuple[tuple[str, tuple[str, ...], tuple[bytes, ...]], ...] = (
    ("application/pdf", (".pdf",), (b"%PDF-",)),
    ("image/jpeg", (".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    ("image/png", (".png",), (b"\x89PNG\r\n\x1a\n",)),
    ("text/plain", (".txt",), ()),
)

#: Messages to the customer that are not shown on their page: a new link is for their inbox.
HIDDEN_KINDS = frozenset({OutboxKind.CASE_LINK.value})


class Upload(Protocol):
    """A file the customer sent (Django's ``UploadedFile`` is one)."""

    name: str | None
    size: int | None

    def read(self, size: int = ...) -> bytes: ...


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    content: bytes


def _upload_error(message: str) -> CaseError:
    return CaseError(message, field="files", code=ErrorCode.INVALID)


def _type_of(filename: str, head: bytes) -> str | None:
    lower = filename.lower()
    for content_type, endings, magic in UPLOAD_TYPES:
        if not lower.endswith(endings):
            continue
        if magic:
            return content_type if head.startswith(magic) else None
        return content_type
    return None


def _plain_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def uploads_check(files: Sequence[Upload]) -> list[CheckedFile]:
    """The customer's files, checked: at most :data:`MAX_FILES`, each at most
    :data:`MAX_FILE_BYTES`, each a PDF, JPEG, PNG or plain text file by its name and its
    content. Refused with ``CaseError(field="files")``; nothing is stored here."""
    files = [f for f in files if f is not None and (f.name or f.size)]
    if len(files) > MAX_FILES:
        raise _upload_error(
            ngettext("Choose at most %(count)d file.", "Choose at most %(count)d files.", MAX_FILES)
            % {"count": MAX_FILES}
        )
    checked: list[CheckedFile] = []
    for upload in files:
        raw_name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]
        filename = " ".join(raw_name.split())[:120] or "file"
        if upload.size is not None and upload.size > MAX_FILE_BYTES:
            raise _upload_error(
                _("%(name)s is larger than 10 MB: choose a smaller file.") % {"name": filename}
            )
        content = upload.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            raise _upload_error(
                _("%(name)s is larger than 10 MB: choose a smaller file.") % {"name": filename}
            )
        if not content:
            raise _upload_error(_("%(name)s is empty.") % {"name": filename})
        content_type = _type_of(filename, content[:16])
        if content_type == "text/plain" and not _plain_text(content):
            content_type = None
        if content_type is None:
            raise _upload_error(
                _("%(name)s must be a PDF, JPEG, PNG or plain text (.txt) file.")
                % {"name": filename}
            )
        checked.append(CheckedFile(filename, content_type, content))
    return checked


def complaints_address(provider: Provider, case: Case | None = None) -> str:
    """Where the provider takes complaints by email: its complaints mailbox, else the email
    address its code publishes, else the address Amends sends from."""
    box = (
        Mailbox.objects.filter(provider=provider, kind=MailboxKind.COMPLAINTS, active=True)
        .values_list("address", flat=True)
        .first()
    )
    if box:
        return str(box)
    if case is not None:
        code = code_of(case.code_version, provider)[0]
        email = _provider_context(provider, code).get("email")
        if email and "@" in email["one_line"]:
            return str(email["one_line"])
    return str(settings.DEFAULT_FROM_EMAIL)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reply_message(*, case: Case, text: str, files: Sequence[CheckedFile], now: datetime) -> bytes:
    """The customer's reply as an RFC 5322 message (what :func:`portal_reply` hands in)."""
    customer = case.customer
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = formataddr(
        (_one_line(customer.contact_name)[:150], customer.email or NO_ADDRESS)
    )
    message["To"] = complaints_address(case.provider, case)
    message["Subject"] = f"Re: {case.reference}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring="portal", domain=settings.AMENDS_MAIL_DOMAIN)
    message.set_content(text)
    for item in files:
        maintype, subtype = item.content_type.split("/", 1)
        message.add_attachment(
            item.content, maintype=maintype, subtype=subtype, filename=item.filename
        )
    return message.as_bytes()


def portal_reply(
    *, case: Case, text: str, files: Sequence[Upload], now: datetime
) -> InboundMessage | None:
    """The customer's reply (and files) through their page, handed in as an email (see the
    module docstring). Refused (``CaseError``, nothing stored) for an empty or too long text
    or a file that is not accepted; returns the stored message (None if the database could
    not be read back after storing it)."""
    body = v.text(text, field="text", label=_("Your message"), max_length=MAX_REPLY)
    if not body:
        raise CaseError(_("Write your message."), field="text", code=ErrorCode.INVALID)
    checked = uploads_check(files)
    raw = reply_message(case=case, text=body, files=checked, now=now)
    stored, row = intake.ingest(
        raw=raw, provider_slug=case.provider.slug, source="portal", now=lambda: now
    )
    log.info(
        "portal reply",
        extra={"case_id": case.pk, "inbound_id": stored.inbound_id, "files": len(checked)},
    )
    return row


# --------------------------------------------------------------------------- the link again


def portal_link_request(
    *,
    provider: Provider,
    reference: str,
    email: str,
    now: datetime,
    url_for: Callable[[str], str],
) -> bool:
    """Send a new link when ``reference`` names a case of ``provider`` whose customer's email
    is ``email`` (case-insensitively); True when one was sent. The caller says the same thing
    either way."""
    reference = reference.strip().upper()
    email = email.strip()
    if not reference or not email or len(reference) > 24 or len(email) > 254:
        return False
    case = (
        Case.objects.filter(provider=provider, reference=reference)
        .select_related("customer")
        .first()
    )
    if case is None or not case.customer.email or case.customer.email.lower() != email.lower():
        return False
    try:
        actions.case_link_send(
            case_id=case.pk, actor=system_actor(provider.pk), now=now, url_for=url_for
        )
    except CaseError:
        log.warning("case link not sent", extra={"case_id": case.pk})
        return False
    return True


# --------------------------------------------------------------------------- reads


def portal_actions(case: Case) -> frozenset[Action]:
    """What the customer may do on their page now: escalate, withdraw, accept or reject a
    proposed resolution (what the lifecycle allows), and ask for the ADR letter (on a
    complaint, always)."""
    code = code_of(case.code_version, case.provider)[0]
    allowed = set(allowed_actions(case_status(case, code)))
    offered = {a for a in (Action.ESCALATE, Action.WITHDRAW) if a in allowed}
    if case.state == State.RESOLUTION_PROPOSED.value:
        offered |= {a for a in (Action.ACCEPT_RESOLUTION, Action.REJECT_RESOLUTION) if a in allowed}
    if case.kind == CaseKind.COMPLAINT.value:
        offered.add(Action.REQUEST_ADR_LETTER)
    return frozenset(offered)


def scheme_details(case: Case, now: datetime) -> dict[str, Any] | None:
    """The ADR scheme of the case (snapshotted when it was opened): its name and verified
    contact details, as the letters give them."""
    return _scheme_context(_scheme_of(case, case.provider), now.astimezone(LONDON).date())


def letters_for_customer(case: Case) -> QuerySet[OutboxMessage]:
    """The messages and letters written to the customer on this case, newest first."""
    return (
        OutboxMessage.objects.filter(case=case, audience=Audience.CUSTOMER)
        .exclude(kind__in=HIDDEN_KINDS)
        .order_by("-created_at", "-pk")
    )


def letter_for_customer(case: Case, message_id: int) -> OutboxMessage | None:
    return (
        letters_for_customer(case).select_related("case", "provider").filter(pk=message_id).first()
    )


def letter_pdf_for_customer(message: OutboxMessage) -> bytes:
    """The letter as sent when it was printed and stored (the evidence); else the message
    laid out as a letter now, dated when it was written (never stored from here: storing a
    letter to post dates it)."""
    if message.document:
        with message.document.open("rb") as handle:
            return bytes(handle.read())
    return letter_pdf(message)


def writings_for_customer(case: Case) -> QuerySet[InboundMessage]:
    """What the customer wrote on this case (their page and their emails), newest first."""
    return (
        InboundMessage.objects.filter(case=case)
        .exclude(status__in=(InboundStatus.AUTO_REPLY, InboundStatus.BOUNCE))
        .prefetch_related("attachments")
        .order_by("-arrived_at", "-pk")
    )


__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "CheckedFile",
    "complaints_address",
    "letter_for_customer",
    "letter_pdf_for_customer",
    "letters_for_customer",
    "portal_actions",
    "portal_link_request",
    "portal_reply",
    "reply_message",
    "scheme_details",
    "uploads_check",
    "writings_for_customer",
]
