"""An inbound email, read: the facts Amends acts on, and why it is or is not a complaint.

Pure (no Django, no clock, no database): :func:`parse` turns the raw bytes of one message into
a :class:`ParsedMail`, or a :class:`Quarantined` with the reason it cannot be read. It never
raises for any input (it is fuzzed): a message that cannot be parsed is quarantined with its
reason, shown to staff and never lost, because the raw bytes were stored before anything here
ran.

What is read, and where each rule comes from:

- headers through the standard library's ``email`` package with ``policy.default`` (RFC 5322,
  RFC 2047 encoded words decoded); a header the parser chokes on is read from its raw value;
- bodies in their declared charset, with the real-world repairs every mail client makes
  (ISO-8859-1 and US-ASCII labels on Windows-1252 or UTF-8 text, Shift_JIS as Microsoft's
  CP932); never an exception for an unknown or wrong label;
- the arrival time from the topmost ``Received`` header, the one the receiving server wrote
  (RFC 5321 s4.4): the sender's ``Date`` is the sender's clock and is not when the provider
  received the complaint;
- quoted text stripped for display (mail-parser-reply); HTML sanitised (nh3), never trusted;
- attachments listed with size, type and digest; one over :attr:`Limits.max_attachment_bytes`
  or of a type not allowed is refused with its reason and still listed, never silently dropped;
- automatic messages (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``, ``X-Autorespond``,
  ``Precedence: bulk/list/junk``, out-of-office subjects, the null sender) and delivery reports
  (RFC 3464 ``multipart/report; report-type=delivery-status``) recognised, so that they are
  never taken for a customer's reply or a new complaint, and never answered (no mail loops);
- dissatisfaction (:data:`RULES`): Ofcom's Approved Complaints Code defines a complaint as
  "an expression of dissatisfaction ... where a response or resolution is explicitly or
  implicitly expected" (General Condition C4, Annex 1). A small, explainable rule set finds
  the words; it errs towards "complaint", the safe side, and says which words triggered it.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Final

import nh3
from mailparser_reply import EmailReplyParser

from amends.domain.reference import ReferenceError, parse_reference

# --------------------------------------------------------------------------- limits

MB: Final = 1024 * 1024

#: The attachment types Amends keeps: documents, pictures, sound (a voicemail), text, and a
#: forwarded message. Everything else (executables, scripts, archives that may hide them) is
#: refused and listed; the raw message still holds it for whoever must look.
ALLOWED_TYPES: Final = frozenset(
    {
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/rtf",
        "text/plain",
        "text/csv",
        "text/calendar",
        "text/html",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/heif",
        "image/tiff",
        "image/bmp",
        "audio/mpeg",
        "audio/mp4",
        "audio/wav",
        "audio/x-wav",
        "audio/ogg",
        "message/rfc822",
    }
)

#: Names that run code when opened, whatever type the sender declared.
BLOCKED_EXTENSIONS: Final = frozenset(
    {
        "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "dll", "cpl", "js", "jse",
        "vbs", "vbe", "wsf", "wsh", "ps1", "hta", "jar", "lnk", "reg", "iso", "img", "docm",
        "xlsm", "pptm", "sh", "app",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Limits:
    """What an attachment may be. A refused one is listed with the reason."""

    max_attachment_bytes: int = 10 * MB
    allowed_types: frozenset[str] = ALLOWED_TYPES
    #: More parts than this is not a customer's email; the rest are listed as refused.
    max_attachments: int = 50


LIMITS: Final = Limits()

#: Text longer than this is cut before quote-stripping and recognition (their regular
#: expressions must not take unbounded time on a hostile message); the raw message is kept.
MAX_TEXT: Final = 200_000
#: How deep nested multiparts are followed (a real message rarely goes past 4).
MAX_DEPTH: Final = 12


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    #: Why it was not kept ("" when it was).
    refused: str = ""
    #: The decoded bytes of a kept attachment (empty when refused: the raw message has them).
    content: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery report (RFC 3464) about a message someone sent."""

    #: ``failed`` (it was not delivered), ``delayed`` (still trying), or what the report says.
    action: str
    #: The enhanced status code (RFC 3463), e.g. ``5.1.1``.
    status: str
    recipients: tuple[str, ...]
    diagnostic: str
    #: The Message-IDs of the message that bounced, from the report's copy of its headers.
    original_message_ids: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return self.action == "failed"

    def describe(self) -> str:
        parts = [self.action or "failed"]
        if self.status:
            parts.append(self.status)
        if self.recipients:
            parts.append("to " + ", ".join(self.recipients))
        if self.diagnostic:
            parts.append(self.diagnostic)
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Trigger:
    """One dissatisfaction rule that matched, and the words that matched it."""

    rule: str
    words: str


@dataclass(frozen=True, slots=True)
class SubjectReference:
    """A case reference named in a subject line."""

    #: As written.
    text: str
    #: The reference, canonical, when its check character is right; "" otherwise.
    reference: str
    #: Why it is not trusted ("" when it is).
    problem: str = ""
    #: Prefix, year and serial as written (for staff to find the case probably meant).
    prefix: str = ""
    year: int = 0
    serial: int = 0


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_address: str
    #: Everyone the message was addressed to (To, Cc, Delivered-To, X-Original-To), lower case.
    recipients: tuple[str, ...]
    #: The sender's ``Date`` (their clock; for display only).
    sent_at: datetime | None
    #: When the receiving server took it (topmost ``Received``), UTC; None when no server
    #: wrote one (the caller uses when it read the message).
    arrived_at: datetime | None
    #: The whole text (the plain part, or the HTML part as text).
    text: str
    #: What the customer wrote this time: quoted text and signature stripped.
    display_text: str
    #: The HTML part, sanitised (no script, style, images or event handlers).
    html: str
    attachments: tuple[Attachment, ...]
    #: Why this is an automatic message ("" for a person's message).
    auto_reply: str
    bounce: Bounce | None
    forwarded: bool
    #: What was wrong with the message and tolerated (RFC defects the parser reported).
    defects: tuple[str, ...]

    @property
    def automatic(self) -> bool:
        return bool(self.auto_reply) or self.bounce is not None

    def thread_ids(self) -> tuple[str, ...]:
        """The Message-IDs this replies to, nearest first: In-Reply-To, then References from
        the last (the message replied to) back to the first."""
        seen: dict[str, None] = {}
        for mid in (*self.in_reply_to, *reversed(self.references)):
            seen.setdefault(mid, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class Quarantined:
    reason: str
    #: What could still be read, for staff (may be empty).
    subject: str = ""
    from_address: str = ""


# --------------------------------------------------------------------------- Message-IDs

_MSGID: Final = re.compile(r"<([^<>\s]{1,900})>")
_MAX_ID: Final = 250


def normalise_message_id(value: str) -> str:
    """``<local@domain>`` as stored: surrounding space and comments gone; an id without its
    angle brackets gets them; a very long one is replaced by its digest (it stays unique)."""
    value = value.strip()
    found = _MSGID.search(value)
    if found is not None:
        mid = f"<{found.group(1)}>"
    else:
        bare = value.split()[0] if value.split() else ""
        if not bare:
            return ""
        mid = f"<{bare.strip('<>')}>"
    if len(mid) > _MAX_ID:
        digest = hashlib.sha256(mid.encode("utf-8", "surrogateescape")).hexdigest()
        return f"<{digest}@long-message-id.invalid>"
    return mid


def message_ids(value: str) -> tuple[str, ...]:
    """Every ``<id>`` in an In-Reply-To or References value, in order."""
    out = [normalise_message_id(f"<{m}>") for m in _MSGID.findall(value or "")]
    return tuple(dict.fromkeys(m for m in out if m))


def quick_message_id(raw: bytes) -> str:
    """The Message-ID from the headers alone, never raising: for storing a message once,
    before it is interpreted."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: 256 * 1024])
        value = headers.get("Message-ID")
        if value is None:
            return ""
        return normalise_message_id(_raw_text(value))
    except Exception:  # noqa: BLE001 - a message we cannot read has no id, and is kept
        return ""


def quick_arrival(raw: bytes) -> datetime | None:
    """:func:`arrival_time` from the headers alone, never raising (for a message stored before
    it is read, and for one that cannot be read at all)."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[: 256 * 1024])
        return arrival_time(_raw_text(v) for v in headers.get_all("Received") or [])
    except Exception:  # noqa: BLE001
        return None


# --------------------------------------------------------------------------- headers


def _raw_text(value: object) -> str:
    """A header value as text, decoding RFC 2047 words when the value is still encoded."""
    text = str(value)
    if "=?" in text:
        try:
            return str(make_header(decode_header(text)))
        except Exception:  # noqa: BLE001 - keep the encoded form rather than nothing
            return text
    return text


def _header(msg: Message, name: str) -> str:
    """One header, decoded; the raw value when the structured parser fails on it."""
    try:
        value = msg.get(name)
        if value is None:
            return ""
        return _clean_line(str(value))
    except Exception:  # noqa: BLE001
        for key, raw in msg.raw_items() if isinstance(msg, EmailMessage) else ():
            if key.lower() == name.lower():
                return _clean_line(_raw_text(raw))
        return ""


def _headers_all(msg: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in (msg.get_all(name) or [])]
    except Exception:  # noqa: BLE001
        return [
            _raw_text(raw)
            for key, raw in (msg.raw_items() if isinstance(msg, EmailMessage) else ())
            if key.lower() == name.lower()
        ]


def safe_text(value: str) -> str:
    """Text any database stores: no NUL, and no lone surrogate (the parser keeps undeclared
    8-bit header bytes as surrogate escapes; they are read here as UTF-8, else Windows-1252)."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return decode_text(data, "utf-8").replace("\x00", "")


_C1: Final = re.compile("[\x80-\x9f]")


def _c1_as_cp1252(value: str) -> str:
    """C1 control characters never appear in real text: they are Windows-1252 bytes (curly
    quotes, dashes, the euro) labelled ISO-8859-1, as Outlook does in RFC 2047 words."""
    return _C1.sub(lambda m: bytes([ord(m.group(0))]).decode("cp1252", "replace"), value)


def _clean_line(value: str) -> str:
    return re.sub(r"\s+", " ", _c1_as_cp1252(safe_text(value))).strip()


_REPLY_PREFIX: Final = re.compile(
    r"^\s*(?:(?:re|aw|sv|antw|vs|fwd?|fw|tr|wg|automatic reply|auto(?:matic)?[- ]?reply)"
    r"\s*(?:\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)


def subject_core(subject: str) -> str:
    """A subject without its reply and forward prefixes ("RE: Fwd: ..."), spaces collapsed,
    lower case: to tell a reply's subject that is ours from one the sender wrote."""
    return re.sub(r"\s+", " ", _REPLY_PREFIX.sub("", subject)).strip().lower()


_ADDRESS: Final = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


def plausible_address(address: str) -> bool:
    return bool(_ADDRESS.match(address)) and len(address) <= 254


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs of an address header, tolerant of broken ones."""
    out: list[tuple[str, str]] = []
    try:
        header = msg.get(name)
        if header is None:
            return []
        for addr in getattr(header, "addresses", ()):
            out.append((str(addr.display_name or ""), str(addr.addr_spec or "")))
        if out:
            return out
    except Exception:  # noqa: BLE001 - fall back to the lenient parser below
        out = []
    for raw in _headers_all(msg, name):
        for display, address in getaddresses([raw]):
            out.append((_raw_text(display), address))
    if not out:
        text = _header(msg, name)
        if text:
            out.append(parseaddr(text))
    return out


# --------------------------------------------------------------------------- times


def _as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:  # "-0000": UTC, origin unknown (RFC 5322 s3.3)
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _date(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except Exception:  # noqa: BLE001 - an unreadable date is no date
        return None
    if when is None or not 1990 <= when.year <= 2200:
        return None
    try:
        return _as_utc(when)
    except (OverflowError, ValueError):
        return None


def arrival_time(received_headers: Iterable[str]) -> datetime | None:
    """When the receiving server took the message: the date of the topmost ``Received``
    header that carries one (RFC 5321 s4.4: each server adds its line at the top, ending
    ``; date-time``). Lower lines were written by the sender's side and are not trusted."""
    for value in received_headers:
        text = _clean_line(value)
        if ";" not in text:
            continue
        when = _date(text.rpartition(";")[2])
        if when is not None:
            return when
    return None


# --------------------------------------------------------------------------- charsets

_ALIASES: Final = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "unicode-1-1-utf-7": "utf-7",
}
_LATIN1: Final = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1"})
_ASCII: Final = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", ""})


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset as text, never raising.

    A Latin-1 label is read as Windows-1252 (what every browser does: WHATWG Encoding), so
    Outlook's curly quotes and the euro sign survive; an ASCII label on 8-bit text is tried as
    UTF-8, then Windows-1252; Shift_JIS as CP932, its Microsoft superset; an unknown label as
    UTF-8, then Windows-1252 with replacement characters.
    """
    label = (charset or "").strip().strip('"').lower()
    label = _ALIASES.get(label, label)
    attempts: list[str]
    if label in _LATIN1:
        attempts = ["cp1252", "latin-1"]
    elif label in _ASCII:
        attempts = ["ascii", "utf-8", "cp1252"]
    else:
        attempts = [label, "utf-8", "cp1252"]
    for codec in attempts:
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("cp1252", errors="replace")


# --------------------------------------------------------------------------- bodies


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    return safe_text(decode_text(_payload_bytes(part), charset))


_BLOCK: Final = re.compile(
    r"<\s*(?:br|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table|hr)\b[^>]*>", re.IGNORECASE
)
_HTML_TAGS: Final = frozenset(nh3.ALLOWED_TAGS) - {"img"}


def sanitise_html(html: str) -> str:
    """The HTML part made safe to show staff: no script, style, event handlers, forms,
    frames or images (a remote image tells the sender the message was read)."""
    try:
        return str(
            nh3.clean(
                html,
                tags=set(_HTML_TAGS),
                url_schemes={"http", "https", "mailto"},
                link_rel="noopener noreferrer nofollow",
            )
        )
    except Exception:  # noqa: BLE001 - text that nh3 cannot read is shown as text
        return html_lib.escape(html)


def html_to_text(html: str) -> str:
    """The words of an HTML part, paragraphs kept as lines."""
    marked = _BLOCK.sub("\n", html)
    try:
        bare = str(nh3.clean(marked, tags=set()))
    except Exception:  # noqa: BLE001
        bare = re.sub(r"<[^>]*>", " ", marked)
    text = html_lib.unescape(bare).replace("\xa0", " ")
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_FORWARD_SUBJECT: Final = re.compile(r"^\s*(?:fwd?|fw|tr|wg|rv|enc)\s*:", re.IGNORECASE)
#: Gmail's and Apple Mail's forward markers (Outlook's "Original Message" marks a reply).
_FORWARD_MARK: Final = re.compile(
    r"^-{2,}\s*forwarded message\s*-{2,}|^begin forwarded message:",
    re.IGNORECASE | re.MULTILINE,
)


def strip_quotes(text: str) -> str:
    """What the sender wrote this time: the reply above the quoted message and signature
    (mail-parser-reply, English headers of Outlook, Gmail and Apple Mail). When nothing is left
    (a message that is all quote), the whole text."""
    if not text.strip():
        return ""
    try:
        reply = EmailReplyParser(languages=["en"]).parse_reply(text[:MAX_TEXT])
    except Exception:  # noqa: BLE001 - quote stripping is for display only
        reply = None
    reply_text = str(reply or "").strip()
    # Lines quoted with ">" that the library left (a reply written below a quote).
    kept = [line for line in reply_text.splitlines() if not line.lstrip().startswith(">")]
    reply_text = "\n".join(kept).strip()
    return reply_text or text.strip()


# --------------------------------------------------------------------------- automatic mail

_OOO_SUBJECT: Final = re.compile(
    r"^\s*(?:(?:re|aw|sv|antw)\s*:\s*)*(?:"
    r"auto(?:matic|matische)?[\s_-]*(?:reply|response|antwort|answer)"
    r"|autoreply|autoresponse|auto:"
    r"|out of (?:the )?office|ooo\b|on (?:annual )?leave\b|away from (?:the|my) (?:office|desk)"
    r"|abwesenheitsnotiz|r[ée]ponse automatique|absence du bureau|respuesta autom[áa]tica"
    r"|risposta automatica|automatisch antwoord|afwezig"
    r")",
    re.IGNORECASE,
)
_BULK: Final = frozenset({"bulk", "list", "junk", "auto_reply"})


def auto_reply_reason(msg: Message, subject: str) -> str:
    """Why a message was sent by a machine, or "" (RFC 3834 s5 and the headers in use)."""
    submitted = _header(msg, "Auto-Submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted} (RFC 3834)"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autogenerated"):
        value = _header(msg, name)
        if value and value.strip().lower() not in {"no", "false", "0"}:
            return f"{name}: {value[:60]}"
    precedence = _header(msg, "Precedence").strip().lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    if _header(msg, "X-Auto-Response-Suppress") and _OOO_SUBJECT.match(subject):
        return "out-of-office reply (Exchange)"
    if _OOO_SUBJECT.match(subject):
        return f"out-of-office subject ({subject[:60]})"
    return_path = _header(msg, "Return-Path")
    if return_path and return_path.replace(" ", "") in {"<>", "<<>>"}:
        return "sent from the null address (an automatic message, RFC 5321 s4.5.5)"
    return ""


# --------------------------------------------------------------------------- bounces

_BOUNCE_SENDER: Final = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT: Final = re.compile(
    r"undeliver(?:ed|able)|delivery (?:status notification|has failed|failure|failed)"
    r"|returned mail|mail delivery failed|failure notice|non[- ]?delivery",
    re.IGNORECASE,
)
_BODY_MSGID: Final = re.compile(r"^\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def _report_fields(blocks: list[Message]) -> Bounce:
    action = status = diagnostic = ""
    recipients: list[str] = []
    for block in blocks:
        recipient = _header(block, "Final-Recipient") or _header(block, "Original-Recipient")
        if recipient:
            address = recipient.split(";", 1)[-1].strip()
            if address and address not in recipients:
                recipients.append(address)
        this_action = _header(block, "Action").lower()
        # The worst action wins: one failed recipient makes the message failed.
        if this_action == "failed" or (this_action and not action):
            action = this_action
            status = _header(block, "Status") or status
            diagnostic = _header(block, "Diagnostic-Code") or diagnostic
    if diagnostic.lower().startswith("smtp;"):
        diagnostic = diagnostic[5:].strip()
    return Bounce(
        action=action or "failed",
        status=status[:20],
        recipients=tuple(recipients[:10]),
        diagnostic=diagnostic[:200],
        original_message_ids=(),
    )


def _delivery_status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = _part_text(part)
    parser = BytesHeaderParser(policy=policy.default)
    return [
        parser.parsebytes(chunk.encode("utf-8", "replace"))
        for chunk in re.split(r"\n\s*\n", text)
        if chunk.strip()
    ]


def _original_ids(part: Message) -> list[str]:
    """The Message-ID of the message a report returns (its message/rfc822 copy or its
    text/rfc822-headers)."""
    ctype = part.get_content_type()
    if ctype in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            mid = normalise_message_id(_header(inner, "Message-ID"))
            return [mid] if mid else []
    if ctype in ("text/rfc822-headers", "message/rfc822-headers", "message/global-headers"):
        headers = BytesHeaderParser(policy=policy.default).parsebytes(_payload_bytes(part))
        mid = normalise_message_id(_header(headers, "Message-ID"))
        return [mid] if mid else []
    return []


def find_bounce(msg: Message, subject: str, from_address: str, text: str) -> Bounce | None:
    """A delivery report: RFC 3464 ``multipart/report; report-type=delivery-status``, or the
    unstructured bounce some servers still send (from MAILER-DAEMON, "Undelivered Mail")."""
    ctype = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if ctype == "multipart/report" and report_type == "delivery-status":
        bounce: Bounce | None = None
        originals: list[str] = []
        for part in _iter_parts(msg):
            inner = part.get_content_type()
            if inner in ("message/delivery-status", "message/global-delivery-status"):
                bounce = _report_fields(_delivery_status_blocks(part))
            else:
                originals += _original_ids(part)
        found = bounce or Bounce("failed", "", (), "", ())
        return Bounce(
            found.action,
            found.status,
            found.recipients,
            found.diagnostic,
            tuple(dict.fromkeys(originals)),
        )
    if _BOUNCE_SENDER.match(from_address) and _BOUNCE_SUBJECT.search(subject):
        originals = []
        for part in _iter_parts(msg):
            originals += _original_ids(part)
        originals += [normalise_message_id(m) for m in _BODY_MSGID.findall(text)]
        return Bounce("failed", "", (), subject[:200], tuple(dict.fromkeys(originals)))
    return None


def _iter_parts(msg: Message) -> Iterator[Message]:
    if msg.get_content_maintype() != "multipart":
        return
    payload = msg.get_payload()
    if isinstance(payload, list):
        yield from (p for p in payload if isinstance(p, Message))


# --------------------------------------------------------------------------- recognition


@dataclass(frozen=True, slots=True)
class Rule:
    """One way people say they are dissatisfied. ``name`` is what staff see."""

    name: str
    pattern: re.Pattern[str]


def _rule(name: str, pattern: str) -> Rule:
    return Rule(name, re.compile(pattern, re.IGNORECASE))


#: Expressions of dissatisfaction (GC C4 Annex 1: "an expression of dissatisfaction"). Broad
#: on purpose: a query wrongly taken for a complaint costs a reclassification with a reason;
#: a complaint taken for a query is what Ofcom fines. A negation ("no complaints") still
#: matches: staff reclassify, the rule does not guess.
RULES: Final = (
    _rule(
        "not happy", r"\bnot\s+(?:at\s+all\s+|very\s+|remotely\s+)?(?:happy|satisfied|pleased)\b"
    ),
    _rule("unhappy", r"\b(?:unhappy|dissatisfied|unsatisfied)\b"),
    _rule("complain", r"\bcomplain(?:t|ts|ed|ing|s)?\b"),
    _rule("unacceptable", r"\bunacceptabl[ey]\b"),
    _rule("ombudsman", r"\b(?:ombudsm[ae]n|ofcom|cisas|adr\s+(?:letter|scheme)|deadlock)\b"),
    _rule("cancel", r"\bcancel(?:l?ed|l?ing|lation|s)?\b"),
    _rule("refund", r"\b(?:refund(?:ed|s)?|compensat(?:e|ed|ion)|money\s+back|reimburse\w*)\b"),
    _rule("disappointed", r"\bdisappoint(?:ed|ing|ment)\b"),
    _rule("fed up", r"\b(?:fed\s+up|sick\s+(?:and\s+tired|of)|had\s+enough)\b"),
    _rule(
        "still not fixed",
        r"\bstill\s+(?:not|isn't|hasn't|haven't|doesn't|won't|can't|no\b|waiting|broken|down"
        r"|dead|faulty|being\s+charged)",
    ),
    _rule(
        "poor service",
        r"\b(?:poor|terrible|awful|appalling|shocking|disgraceful|atrocious|dreadful"
        r"|rubbish|useless|worst|pathetic|ridiculous|outrageous)\b",
    ),
    _rule("angry", r"\b(?:angry|furious|livid|disgusted|outraged|frustrat(?:ed|ing|ion))\b"),
    _rule(
        "legal action",
        r"\b(?:solicitors?|legal\s+action|small\s+claims|trading\s+standards|citizens\s+advice"
        r"|chargeback)\b",
    ),
    _rule(
        "leaving",
        r"\b(?:switch(?:ing)?\s+(?:provider|supplier)|leav(?:e|ing)\s+you|take\s+my\s+business"
        r"\s+elsewhere|go(?:ing)?\s+elsewhere)\b",
    ),
    _rule(
        "escalate",
        r"\b(?:escalat(?:e|ed|ing|ion)|(?:speak|talk)\s+to\s+(?:a|your|the)\s+(?:manager|supervisor))\b",
    ),
    _rule("overcharged", r"\b(?:over-?charg(?:ed|ing)|wrongly\s+charged|charged\s+twice)\b"),
)


def dissatisfaction(text: str) -> tuple[Trigger, ...]:
    """The rules that match ``text``, each with the first words that matched it."""
    text = text[:MAX_TEXT].replace("\u2019", "'").replace("\u2018", "'")
    found: list[Trigger] = []
    for rule in RULES:
        match = rule.pattern.search(text)
        if match is not None:
            found.append(Trigger(rule.name, _clean_line(match.group(0))[:60]))
    return tuple(found)


# --------------------------------------------------------------------------- references

_SEP: Final = r"\s*[-\u2010-\u2015 ]\s*"
_REF_MENTION: Final = re.compile(
    rf"(?<![A-Za-z0-9])([A-Za-z0-9]{{2,5}}){_SEP}(\d{{2}}){_SEP}(\d{{6,9}})"
    rf"(?:{_SEP}([A-Za-z0-9]))?(?![A-Za-z0-9])"
)


def subject_references(subject: str) -> tuple[SubjectReference, ...]:
    """Case references named in a subject, each checked by its check character: a mistyped
    one is reported with its problem and never trusted (it could name someone else's case)."""
    out: list[SubjectReference] = []
    for match in _REF_MENTION.finditer(subject[:1000]):
        prefix, year, serial, check = match.groups()
        text = match.group(0)
        prefix = prefix.upper()
        if not re.search(r"[A-Z]", prefix):
            continue  # digits only: a phone number or a date, not a reference
        problem = ""
        reference = ""
        if check is None:
            problem = "no check character"
        else:
            try:
                reference = str(parse_reference(f"{prefix}-{year}-{serial}-{check.upper()}"))
            except ReferenceError:
                problem = "its check character does not match (mistyped)"
        out.append(
            SubjectReference(
                text=text,
                reference=reference,
                problem=problem,
                prefix=prefix,
                year=int(year),
                serial=int(serial),
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- parsing


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    name = _clean_line(_raw_text(name or ""))
    return name.replace("/", "_").replace("\\", "_")[:200]


def _extension(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


def _attachment(part: Message, index: int, limits: Limits, defects: list[str]) -> Attachment:
    ctype = part.get_content_type()
    filename = _filename(part) or f"part-{index}"
    if ctype in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        try:
            data = inner.as_bytes(policy=policy.SMTP) if isinstance(inner, Message) else b""
        except Exception:  # noqa: BLE001
            data = b""
            defects.append(f"attachment {index}: the attached message could not be read")
        if not _filename(part):
            filename = f"message-{index}.eml"
    else:
        data = _payload_bytes(part)
    digest = hashlib.sha256(data).hexdigest()
    refused = ""
    if len(data) > limits.max_attachment_bytes:
        refused = (
            f"too large: {len(data) / MB:.1f} MB, the limit is "
            f"{limits.max_attachment_bytes / MB:.0f} MB per attachment"
        )
    elif _extension(filename) in BLOCKED_EXTENSIONS:
        refused = f"files ending .{_extension(filename)} can run programs and are not accepted"
    elif ctype not in limits.allowed_types:
        refused = f"type {ctype} is not accepted"
    return Attachment(
        filename=filename,
        content_type=ctype,
        size=len(data),
        sha256=digest,
        refused=refused,
        content=b"" if refused else data,
    )


@dataclass
class _Walk:
    limits: Limits
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    report: bool = False

    def add_attachment(self, part: Message) -> None:
        index = len(self.attachments) + 1
        if index > self.limits.max_attachments:
            if index == self.limits.max_attachments + 1:
                self.defects.append(f"more than {self.limits.max_attachments} attachments")
            self.attachments.append(
                Attachment(
                    filename=_filename(part) or f"part-{index}",
                    content_type=part.get_content_type(),
                    size=len(_payload_bytes(part)),
                    sha256="",
                    refused=f"more than {self.limits.max_attachments} attachments",
                )
            )
            return
        self.attachments.append(_attachment(part, index, self.limits, self.defects))

    def walk(self, part: Message, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self.defects.append("parts nested too deeply; the rest is in the raw message")
            return
        ctype = part.get_content_type()
        maintype = part.get_content_maintype()
        if maintype == "message" or ctype.startswith("message/"):
            if ctype in ("message/delivery-status", "message/global-delivery-status"):
                return  # read by find_bounce
            if self.report and ctype in ("message/rfc822", "message/global"):
                return  # the returned copy of our own message: not an attachment
            self.add_attachment(part)
            return
        if maintype == "multipart":
            payload = part.get_payload()
            if not isinstance(payload, list):
                self.defects.append(f"{ctype} without parts")
                text = payload if isinstance(payload, str) else ""
                if text.strip():
                    self.plain.append(text)
                return
            for sub in payload:
                if isinstance(sub, Message):
                    self.walk(sub, depth + 1)
            return
        if self.report and ctype == "text/rfc822-headers":
            return
        try:
            disposition = part.get_content_disposition()
        except Exception:  # noqa: BLE001
            disposition = None
        named = bool(_filename(part))
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not named:
            text = _part_text(part)
            (self.plain if ctype == "text/plain" else self.html).append(text)
            return
        if (
            maintype == "text"
            and disposition != "attachment"
            and not named
            and ctype
            not in (
                "text/calendar",
                "text/csv",
            )
        ):
            self.plain.append(_part_text(part))  # text/enriched and the like: read as text
            return
        self.add_attachment(part)


_FATAL_DEFECTS: Final = ("StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect")


def _defect_names(msg: Message) -> list[str]:
    names: list[str] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        names += [type(d).__name__ for d in getattr(part, "defects", [])]
        if depth < MAX_DEPTH and part.get_content_maintype() == "multipart":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack += [(p, depth + 1) for p in payload if isinstance(p, Message)]
    return names


def parse(raw: bytes, *, limits: Limits = LIMITS) -> ParsedMail | Quarantined:
    """Read one message. Never raises: what cannot be read is :class:`Quarantined`."""
    try:
        return _parse(raw, limits)
    except RecursionError:
        return Quarantined("the message's structure is nested too deeply to read")
    except Exception as error:  # noqa: BLE001 - the raw message is kept; staff see why
        return Quarantined(f"the message could not be read ({type(error).__name__})")


def _parse(raw: bytes, limits: Limits) -> ParsedMail | Quarantined:
    if not raw.strip():
        return Quarantined("the message is empty")
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(msg, EmailMessage) or not list(msg.keys()):
        return Quarantined("this is not an email message: it has no header fields")
    subject = _header(msg, "Subject")[:500]
    senders = [(n, a) for n, a in _addresses(msg, "From") if a]
    if not senders:
        senders = [(n, a) for n, a in _addresses(msg, "Sender") if a]
    from_name, from_address = senders[0] if senders else ("", "")
    from_address = safe_text(from_address).strip().strip("<>").lower()
    from_name = _clean_line(from_name)[:200]
    defects = _defect_names(msg)
    fatal = [d for d in defects if d in _FATAL_DEFECTS]
    if fatal and msg.get_content_maintype() == "multipart":
        return Quarantined(
            "broken MIME: the message says it has parts but they cannot be found "
            f"({', '.join(sorted(set(fatal)))})",
            subject=subject,
            from_address=from_address,
        )
    if not keys_ok(msg):
        return Quarantined(
            "this is not an email message: no From, To, Subject or Message-ID",
            subject=subject,
            from_address=from_address,
        )

    ctype = msg.get_content_type()
    report = ctype == "multipart/report"
    walker = _Walk(limits=limits, report=report)
    walker.walk(msg)
    plain = "\n\n".join(t.strip("\n") for t in walker.plain if t.strip())
    html_raw = "\n".join(walker.html)
    text = plain or (html_to_text(html_raw) if html_raw else "")
    text = text[:MAX_TEXT]

    bounce = find_bounce(msg, subject, from_address, text)
    auto = "" if bounce is not None else auto_reply_reason(msg, subject)
    forwarded = bool(_FORWARD_SUBJECT.match(subject) or _FORWARD_MARK.search(text[:20_000]))
    display = text.strip() if forwarded else strip_quotes(text)

    recipients: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"):
        for _display, address in _addresses(msg, name):
            address = safe_text(address).strip().strip("<>").lower()
            if address and address not in recipients:
                recipients.append(address)

    tolerated = sorted({d for d in defects if d not in _FATAL_DEFECTS} | set(walker.defects))
    return ParsedMail(
        message_id=normalise_message_id(_header(msg, "Message-ID")),
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(_header(msg, "References")),
        subject=subject,
        from_name=from_name,
        from_address=from_address if plausible_address(from_address) else "",
        recipients=tuple(recipients[:50]),
        sent_at=_date(_header(msg, "Date")),
        arrived_at=arrival_time(_headers_all(msg, "Received")),
        text=text,
        display_text=display[:MAX_TEXT],
        html=safe_text(sanitise_html(html_raw[: MAX_TEXT * 5])) if html_raw else "",
        attachments=tuple(walker.attachments),
        auto_reply=auto,
        bounce=bounce,
        forwarded=forwarded,
        defects=tuple(tolerated),
    )


def keys_ok(msg: Message) -> bool:
    """At least one of the fields every email has: a header block of something else (a
    stray file, a web page) is not a message."""
    names = {k.lower() for k in msg}
    return bool(names & {"from", "to", "subject", "message-id", "received", "sender", "date"})


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
