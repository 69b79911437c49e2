"""Publish a Code of Practice: the customer-facing code as HTML, PDF or plain text.

Everything the customer reads is written here from the data, never copied from the provider's
prose: :func:`build_document` turns a :class:`~amends.domain.codes.Code` into a
:class:`Document` (sections of paragraphs, lists and contact cards), and the three formats are
three views of that one document, so they cannot say different things.

* HTML (``codes/code.html``): ``lang="en-GB"``, a skip link, ``<header>``, ``<nav>`` (contents),
  ``<main>``, ``<footer>``, one ``<h1>`` then ``<h2>``/``<h3>``, lists and address blocks, no
  tables, large type, visible focus. Self-contained (the stylesheet is inlined) so that the
  file can be published as it is.
* PDF: the same HTML through WeasyPrint with its print rules: A4, page numbers, a running
  header with the provider's name and the code's version.
* Text: the same document wrapped at 72 columns.

Timings are the *promises in force* (:func:`amends.domain.regulation.promises_in_force`) for a
complaint first received on the render date: the published code says what the case clocks
will do. For a compliant code that is what the file says. For the ADR point of a code that is late
(V4VoIP's 8 weeks, rendered with ``--draft``) it is the law's 6 weeks, and the draft's error
list explains the difference: a draft shows what will happen, not the file's mistake.

The ADR section takes the scheme's name and contact details from the registry
(:data:`amends.domain.regulation.APPROVED_SCHEMES`), never from the file, and always says that
ADR is free and that the customer has 12 months from the ADR letter. When the file names no
approved scheme (ISS names Ofcom), a draft says so in place of the details. Only contact
details the registry marks verified (evidence ``"V"``) are published; one it holds from a
secondary source (``"S"``) or unverified (``"U"``) is left out and named to the provider
instead (:func:`withheld_notices`: the DRAFT listing and ``amends code render``'s stderr),
also when the provider's own file gives the same value.

The customer reads the provider speaking: the output never names the software that produced
it. Every free-text field the format accepts (details, notes, descriptions, the accessibility
statement, a channel's audience) appears in all three formats; a part the provider left empty
is left out or said in a complete sentence, never printed as a fragment ("2. Director."). A
channel without a value is left out of the published code and named to the provider.

A draft (``draft=True``) is marked DRAFT on every page (a running mark and a watermark in the
PDF, a banner on screen and in text) and lists the check's errors and warnings first, then
what is not published and why.

Print layout: a heading is never the last line of a page (``break-after: avoid``, and a
heading is kept with its first paragraph), and the closing colophon is kept with the end of the
last section, so that no page holds only the running header and footer.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from amends.domain.checks import Finding, Severity
from amends.domain.codes import (
    AdrContactType,
    AltFormat,
    CaseKind,
    CaseKindSpec,
    Channel,
    ChannelType,
    Code,
    CompensationApproach,
    CustomerType,
    EscalationLevel,
    ObligationKind,
    PaymentMethod,
    Promise,
    Purpose,
    format_clock,
)
from amends.domain.regulation import (
    AdrScheme,
    SchemeContact,
    identify_adr_body,
    promises_in_force,
    rules_in_force,
)

__all__ = [
    "Block",
    "Contact",
    "Document",
    "Section",
    "build_document",
    "render_html",
    "render_pdf",
    "render_text",
    "version_label",
    "withheld_notices",
]

Format = Literal["html", "pdf", "text"]


# --------------------------------------------------------------------------- the document


@dataclass(frozen=True)
class Contact:
    """One way to reach someone: 'Phone', its value's lines, a link, opening hours, a note."""

    label: str
    lines: tuple[str, ...]
    href: str | None = None
    hours: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Block:
    """A paragraph, a bulleted or numbered list, or a list of contacts."""

    kind: Literal["para", "bullets", "steps", "contacts"]
    text: str = ""
    items: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    blocks: tuple[Block, ...]
    subsections: tuple[Section, ...] = ()

    @property
    def lead(self) -> tuple[Block, ...]:
        """The first paragraph, printed with the heading so that the two stay on one page."""
        return self.blocks[:1] if self.blocks and self.blocks[0].kind == "para" else ()

    @property
    def rest(self) -> tuple[Block, ...]:
        return self.blocks[len(self.lead) :]


@dataclass(frozen=True)
class DraftNote:
    severity: str
    rule_id: str
    path: str
    message: str


@dataclass(frozen=True)
class Document:
    title: str
    provider: str
    provider_lines: tuple[str, ...]
    version_line: str
    sections: tuple[Section, ...]
    footer: str
    on: date
    draft: bool = False
    notes: tuple[DraftNote, ...] = field(default_factory=tuple)
    withheld: tuple[str, ...] = ()
    """What the published code leaves out and why, for the provider (drafts list it)."""

    @property
    def errors(self) -> tuple[DraftNote, ...]:
        return tuple(note for note in self.notes if note.severity == Severity.ERROR.value)

    @property
    def warnings(self) -> tuple[DraftNote, ...]:
        return tuple(note for note in self.notes if note.severity == Severity.WARNING.value)

    @property
    def running_title(self) -> str:
        title = f"{self.provider}: complaints code"
        return f"{title} · {self.version_line}" if self.version_line else title


def _para(text: str) -> Block:
    return Block("para", text=text)


def _bullets(items: Iterable[str]) -> Block:
    return Block("bullets", items=tuple(items))


def _join(words: Sequence[str], last: str = "and") -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {last} " + words[-1]


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _sentence(text: str) -> str:
    text = _capital(text.strip())
    return text if text.endswith((".", "!", "?")) else text + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _one_line(value: str) -> str:
    return ", ".join(value.split("\n"))


# "Vsn 1.3", "v2", "Version 4", "Ver. 2.1": the words a provider puts before the number.
_VERSION_WORD = re.compile(r"(?:version|vers|ver|vsn|vn|v)\b\.?[\s:#-]*|v(?=\d)", re.IGNORECASE)


def version_label(version: str) -> str:
    """'Version 1.3' for "Vsn 1.3", "v1.3", "Version 1.3" or "1.3"; other text as written.

    The provider's version string often carries its own word for "version"; the published
    code says "Version" once, whatever the file wrote ("Issue 7" stays "Issue 7").
    """
    rest = version.strip()
    while (match := _VERSION_WORD.match(rest)) and match.end():
        rest = rest[match.end() :]
    return f"Version {rest}" if re.fullmatch(r"\d[\w.\-/]*", rest) else version.strip()


def _published(channel: Channel) -> bool:
    """A channel the customer can use: one with a value (an account manager needs none)."""
    return bool(channel.value) or channel.type is ChannelType.ACCOUNT_MANAGER


def _channel_contact(channel: Channel) -> Contact:
    label = channel.type.label
    if channel.label and channel.label.casefold() != label.casefold():
        label = f"{label} ({channel.label})"
    if channel.type is ChannelType.ACCOUNT_MANAGER:
        lines: tuple[str, ...] = ("Contact your account manager directly.", *channel.lines)
    else:
        lines = channel.lines
    href = None
    if channel.value:
        if channel.type in (ChannelType.PHONE, ChannelType.TEXTPHONE):
            href = "tel:" + "".join(ch for ch in channel.value if ch.isdigit() or ch == "+")
        elif channel.type is ChannelType.EMAIL:
            href = f"mailto:{channel.value}"
        elif channel.type is ChannelType.WEB_FORM:
            href = channel.value
    hours = None
    if channel.hours is not None:
        hours = f"Open {channel.hours.describe()}."
    notes = []
    if channel.audience:
        audience = channel.audience
        notes.append(_sentence(f"For {audience}" if audience[:1].islower() else audience))
    if channel.notes:
        notes.append(_sentence(channel.notes))
    return Contact(label=label, lines=lines, href=href, hours=hours, note=" ".join(notes) or None)


def _contacts(channels: Iterable[Channel]) -> Block | None:
    contacts = tuple(_channel_contact(c) for c in channels if _published(c))
    return Block("contacts", contacts=contacts) if contacts else None


_PROMISE_ORDER = {
    kind: index
    for index, kind in enumerate(
        (
            ObligationKind.ACKNOWLEDGE,
            ObligationKind.FIRST_RESPONSE,
            ObligationKind.INTRODUCE_HANDLER,
            ObligationKind.AGREE_UPDATES,
            ObligationKind.UPDATE,
            ObligationKind.RESOLVE,
        )
    )
}

_SUBJECT = {
    CaseKind.COMPLAINT: "your complaint",
    CaseKind.ACCOUNT_QUERY: "your query",
    CaseKind.SUPPORT_REQUEST: "your support request",
    CaseKind.ABUSE_REPORT: "your report",
    CaseKind.CODE_COMMENT: "your comments",
}


def _promise_sentence(kind: CaseKind, promise: Promise) -> str:
    subject = _SUBJECT[kind]
    timing = f" within {promise.within}" if promise.within else ""
    condition = promise.condition.describe()
    lead = f"{condition[0].upper()}{condition[1:]}, " if condition else ""
    we = "we" if lead else "We"
    text = {
        ObligationKind.ACKNOWLEDGE: f"{we} will acknowledge {subject}{timing}.",
        ObligationKind.FIRST_RESPONSE: f"{we} will respond to {subject}{timing}.",
        ObligationKind.INTRODUCE_HANDLER: (
            f"{'your' if lead else 'Your'} case handler will contact you{timing} to introduce "
            "themselves."
        ),
        ObligationKind.AGREE_UPDATES: (
            f"If we have not resolved {subject}{timing}, we will agree with you when we will "
            "next contact you, and keep you updated."
            if not lead
            else f"{we} will agree with you{timing} when we will next contact you."
        ),
        ObligationKind.RESOLVE: f"{we} aim to resolve {subject}{timing}.",
    }.get(promise.kind, "")
    if promise.kind is ObligationKind.UPDATE:
        if promise.every is not None:
            text = f"{we} will update you on {subject} at least every {promise.every}."
        elif promise.agreed:
            text = f"{we} will update you on {subject} at intervals we agree with you."
        else:
            text = f"{we} will keep you updated on {subject}."
    text = lead + text
    if promise.detail:
        text += " " + _sentence(promise.detail)
    return text


def _promise_items(spec: CaseKindSpec) -> tuple[str, ...]:
    promises = sorted(spec.promises, key=lambda p: _PROMISE_ORDER.get(p.kind, 99))
    return tuple(_promise_sentence(spec.kind, promise) for promise in promises)


def _working_time_note(code: Code) -> str:
    hours = code.working_hours
    holidays = "" if hours.bank_holidays else f", except bank holidays in {code.nation.label}"
    days = hours.describe_days()
    return (
        f"Our working hours are {days}, {format_clock(hours.opens)} to "
        f"{format_clock(hours.closes)}{holidays}. Where this code says working days or working "
        "hours, it counts only those days and hours."
    )


def _customers(code: Code) -> str:
    names = {
        CustomerType.DOMESTIC: "home customers",
        CustomerType.SMALL_BUSINESS: "small business customers",
        CustomerType.NOT_FOR_PROFIT: "not-for-profit customers",
        CustomerType.OTHER_BUSINESS: "business customers with more than 10 working individuals",
    }
    return _join([names[c] for c in code.provider.customers])


def _about(code: Code) -> Section:
    provider = code.provider
    applies = f" It applies to our {_customers(code)}." if code.provider.customers else ""
    blocks = [
        _para(
            f"This code explains how to complain to {provider.display_name}, what we will do "
            "and by when, and how to take your complaint to an independent scheme if we "
            "cannot resolve it." + applies
        ),
        _para("This code is free. You can ask us for a copy at any time."),
    ]
    version = version_label(code.meta.version) if code.meta.version else None
    since = _long_date(code.meta.effective_from) if code.meta.effective_from else None
    if version is not None and version.startswith("Version "):
        number = version.removeprefix("Version ")
        blocks.append(
            _para(
                f"This is version {number} of our code"
                + (f", in force from {since}." if since else ".")
            )
        )
    elif version is not None:
        blocks.append(
            _para(
                f"This version of our code, “{version}”, is in force from {since}."
                if since
                else f"This version of our code is “{version}”."
            )
        )
    elif since:
        blocks.append(_para(f"This code is in force from {since}."))
    blocks.append(_para(_working_time_note(code)))
    return Section("about", "About this code", tuple(blocks))


def _how_to_complain(code: Code) -> Section:
    spec = code.case_kind(CaseKind.COMPLAINT)
    blocks: list[Block] = []
    if spec is not None and spec.description:
        blocks.append(_para(_sentence(spec.description)))
    contacts = _contacts(code.channels_for(Purpose.COMPLAINTS))
    if contacts is not None:
        blocks.append(
            _para(
                "You can complain in any of the ways below. However you contact us, your "
                "complaint is handled the same way, and our time limits start when we first "
                "receive it."
            )
        )
        blocks.append(contacts)
    else:
        blocks.append(
            _para(
                "However you contact us, your complaint is handled the same way, and our time "
                "limits start when we first receive it."
            )
        )
    subsections: list[Section] = []
    if code.intake.collect:
        subsections.append(
            Section(
                "what-to-tell-us",
                "What to tell us",
                (
                    _para("To help us deal with your complaint quickly, please tell us:"),
                    _bullets(item.label for item in code.intake.collect),
                ),
            )
        )
    if code.intake.identity_checks:
        subsections.append(
            Section(
                "checking-who-you-are",
                "Checking who you are",
                tuple(_para(_sentence(check)) for check in code.intake.identity_checks),
            )
        )
    return Section("how-to-complain", "How to complain", tuple(blocks), tuple(subsections))


def _what_happens(code: Code) -> Section | None:
    spec = code.case_kind(CaseKind.COMPLAINT)
    items: list[str] = list(_promise_items(spec)) if spec is not None else []
    closure = code.closure
    closing: list[str] = []
    if closure.requires_customer_confirmation:
        closing.append(
            "We will close your complaint only when you confirm that it has been resolved."
        )
    if closure.reopening:
        closing.append("If you are not satisfied with our response, we will re-open it.")
    if closure.detail:
        closing.append(_sentence(closure.detail))
    if closing:
        items.append(" ".join(closing))
    if not items:
        return None
    return Section(
        "what-happens-next",
        "What happens next",
        (Block("steps", items=tuple(items)),),
    )


# A trigger is "when a customer reaches" a level. Providers write it either as a whole sentence
# ("If you are not satisfied, you can ask for it to be escalated.") or as a bare condition
# ("If you are still not happy after the review."), which alone is not a sentence: a bare
# condition opens the sentence that names the level.
_CONDITION = re.compile(r"(?:if|when|once|where|after|should|unless)\b", re.IGNORECASE)
_MAIN_CLAUSE = re.compile(
    r"\b(?:can|could|will|would|may|might|must|should|shall|ask|asks|please|contact|call|"
    r"write|tell|speak|email|goes|go|passes|refer|escalate)\b",
    re.IGNORECASE,
)


def _bare_condition(text: str) -> bool:
    clause = text.strip().rstrip(".!?")
    if not _CONDITION.match(clause):
        return False
    tail = clause.rsplit(",", 1)[1] if "," in clause else clause
    return not _MAIN_CLAUSE.search(tail)


def _our(role: str) -> str:
    return role if re.match(r"(?:the|our|a|an|your)\s", role, re.IGNORECASE) else f"our {role}"


def _escalation_item(level: EscalationLevel, first: bool) -> str:
    role = _our(level.role)
    if level.trigger and _bare_condition(level.trigger):
        clause = _capital(level.trigger.strip().rstrip(".!?"))
        opening = f"{clause}, you can ask for your complaint to go to {role}."
    elif level.trigger and level.role.casefold() in level.trigger.casefold():
        opening = _sentence(level.trigger)  # it names the level already
    elif level.trigger:
        opening = f"{_sentence(level.trigger)} Your complaint then goes to {role}."
    elif first:
        opening = f"You can ask for your complaint to go to {role}."
    else:
        opening = f"If you are still not satisfied, you can ask for it to go to {role}."
    parts = [opening]
    if level.review_within:
        parts.append(f"They will review your complaint within {level.review_within}.")
    if level.detail:
        parts.append(_sentence(level.detail))
    return " ".join(parts)


def _escalation(code: Code) -> Section | None:
    if not code.escalation:
        return None
    items = [
        _escalation_item(level, first=index == 0) for index, level in enumerate(code.escalation)
    ]
    return Section(
        "escalation",
        "If you are not happy with how we are handling your complaint",
        (
            _para(
                "You can ask for your complaint to be escalated. It goes to these people in turn:"
            ),
            Block("steps", items=tuple(items)),
            _para(
                "Escalating your complaint does not change when you can take it to an "
                "independent scheme (see the next section)."
            ),
        ),
    )


def _verified(scheme: AdrScheme) -> tuple[SchemeContact, ...]:
    """The scheme's contact details that may be published: those checked at the source."""
    return tuple(contact for contact in scheme.contacts if contact.evidence == "V")


def _scheme_contacts(scheme: AdrScheme) -> Block | None:
    contacts = []
    for contact in _verified(scheme):
        href = None
        if contact.type.value in ("phone", "textphone"):
            href = "tel:" + "".join(ch for ch in contact.value if ch.isdigit())
        elif contact.type.value == "email":
            href = f"mailto:{contact.value}"
        elif contact.type.value == "website":
            href = contact.value
        contacts.append(Contact(label=contact.type.label, lines=contact.lines, href=href))
    return Block("contacts", contacts=tuple(contacts)) if contacts else None


def _scheme(code: Code) -> AdrScheme | None:
    """The approved scheme the code names, from the registry, or None."""
    if code.adr is None or code.adr.scheme is None:
        return None
    return identify_adr_body(code.adr.scheme).scheme


_CONTACT_NOUN = {
    AdrContactType.POST: "postal address",
    AdrContactType.PHONE: "phone number",
    AdrContactType.TEXTPHONE: "textphone",
    AdrContactType.FAX: "fax number",
    AdrContactType.EMAIL: "email address",
    AdrContactType.WEBSITE: "website",
}

_EVIDENCE = {
    "S": "from a secondary source only",
    "U": "unverified",
    "R": "not checked against the scheme's own pages",
}

_CHANNEL_NOUN = {
    ChannelType.PHONE: "number",
    ChannelType.TEXTPHONE: "number",
    ChannelType.FAX: "number",
    ChannelType.EMAIL: "address",
    ChannelType.POST: "address",
    ChannelType.WEB_FORM: "link",
}


def _same_value(kind: AdrContactType, given: str, known: str) -> bool:
    if kind in (AdrContactType.PHONE, AdrContactType.TEXTPHONE, AdrContactType.FAX):
        return [ch for ch in given if ch.isdigit()] == [ch for ch in known if ch.isdigit()]
    return " ".join(given.casefold().split()) == " ".join(known.casefold().split())


def withheld_notices(code: Code) -> tuple[str, ...]:
    """What the published code leaves out of what the file or the registry holds, and why.

    For the provider, never the customer: a draft lists them, and ``amends code render``
    prints them on stderr. A scheme contact detail the registry does not hold as verified is
    not published, also when the provider's file gives the same value; a channel with no
    value is left out.
    """
    notices: list[str] = []
    scheme = _scheme(code)
    given = code.adr.contacts if code.adr is not None else ()
    if scheme is None and given and code.adr is not None:
        named = f"“{code.adr.scheme}”" if code.adr.scheme else "no scheme"
        paths = ", ".join(stated.path for stated in given)
        notices.append(
            f"Not published: the ADR contact details in your code ({paths}), because it names "
            f"{named}, not an Ofcom-approved ADR scheme."
        )
    if scheme is not None:
        for stated in given:
            if any(
                c.type is stated.type and _same_value(c.type, c.value, stated.value)
                for c in scheme.contacts
            ):
                continue  # the registry's value: published if verified, else named below
            noun = _CONTACT_NOUN[stated.type]
            notices.append(
                f"Not published: your code gives {scheme.in_sentence}'s {noun} as "
                f"{_one_line(stated.value)} ({stated.path}), which does not match the "
                "scheme's details; the published code gives the scheme's verified details only."
            )
        for contact in scheme.contacts:
            if contact.evidence == "V":
                continue
            noun = _CONTACT_NOUN[contact.type]
            value = _one_line(contact.value)
            why = _EVIDENCE.get(contact.evidence, "not verified")
            notice = (
                f"Not published: {scheme.in_sentence}'s {noun} {value} is {why}; confirm it "
                "with the scheme."
            )
            same = [
                c.path
                for c in given
                if c.type is contact.type and _same_value(c.type, c.value, contact.value)
            ]
            if same:
                notice += (
                    f" Your code gives the same {noun} ({', '.join(same)}); it is not published "
                    f"as {scheme.in_sentence}'s until the scheme confirms it."
                )
            notices.append(notice)
    for channel in code.channels:
        if _published(channel):
            continue
        name = channel.type.label.lower() + (f" “{channel.label}”" if channel.label else "")
        noun = _CHANNEL_NOUN.get(channel.type, "value")
        notices.append(
            f"Not published: the {name} channel ({channel.path}) has no {noun}, so the "
            "published code leaves it out. Give its value to publish it."
        )
    return tuple(notices)


def _adr(code: Code, on: date) -> Section:
    rules = rules_in_force(on)
    letter = next(
        p
        for p in promises_in_force(code, kind=CaseKind.COMPLAINT, first_received=on)
        if p.kind is ObligationKind.ADR_LETTER
    )
    scheme = _scheme(code)
    name = scheme.in_sentence if scheme is not None else "our ADR scheme"
    blocks: list[Block] = []
    if scheme is not None:
        blocks.append(
            _para(
                "If we cannot resolve your complaint, you can ask an independent Alternative "
                f"Dispute Resolution (ADR) scheme to look at it. We are members of {name}"
                + (f" ({scheme.full_name})" if scheme.full_name else "")
                + ", which Ofcom has approved to do this."
            )
        )
    else:
        named = f"“{code.adr.scheme}”" if code.adr and code.adr.scheme else "no scheme"
        blocks.append(
            _para(
                f"DRAFT: this code names {named} where an Ofcom-approved ADR scheme belongs, "
                "so no scheme can be shown here. See the errors listed at the start."
            )
        )
    if code.adr is not None and code.adr.detail:
        blocks.append(_para(_sentence(code.adr.detail)))
    blocks.append(_para(f"You can take your complaint to {name} if:"))
    blocks.append(
        _bullets(
            (
                f"it is not resolved {letter.duration} after we first received it, or",
                "we have told you that we cannot do any more to resolve it (this is called "
                "deadlock).",
            )
        )
    )
    months = rules.adr_window_months.value
    blocks.append(
        _para(
            "When either happens, we will write to you to tell you about your right to go to "
            f"ADR. You do not have to ask for this letter. ADR is free for you. You have "
            f"{months} months from the date of our letter to contact {name}."
        )
    )
    if scheme is not None:
        remedy = scheme.remedy(on)
        blocks.append(
            _para(
                f"{name[0].upper()}{name[1:]} is independent of us. If you accept its decision, "
                f"we must carry it out within {remedy.value} of your acceptance. You do not "
                "have to accept it."
            )
        )
        contacts = _scheme_contacts(scheme)
        if contacts is not None:
            blocks.append(_para(f"You can contact {name}:"))
            blocks.append(contacts)
    return Section("adr", "Taking your complaint to an independent scheme", tuple(blocks))


_PAID_AS = {
    PaymentMethod.INVOICE_CREDIT: "as a credit to your monthly invoice",
    PaymentMethod.REFUND: "as a refund",
    PaymentMethod.BANK_TRANSFER: "by bank transfer",
    PaymentMethod.CHEQUE: "by cheque",
    PaymentMethod.AS_AGREED: "in another way we agree with you",
}


def _compensation(code: Code) -> Section | None:
    comp = code.compensation
    if comp.approach is CompensationApproach.NOT_STATED and not comp.paid_as and not comp.detail:
        return None
    blocks: list[Block] = []
    if comp.approach is CompensationApproach.CASE_BY_CASE:
        blocks.append(
            _para(
                "We do not have a fixed compensation scheme. Where compensation is "
                "appropriate, we look at the facts of your complaint and decide the amount."
            )
        )
    elif comp.approach is CompensationApproach.FIXED_SCHEME:
        blocks.append(_para("We pay compensation under a fixed scheme."))
    if comp.detail:
        blocks.append(_para(_sentence(comp.detail)))
    if comp.paid_as:
        blocks.append(
            _para(
                "We pay compensation "
                + _join([_PAID_AS[method] for method in comp.paid_as], "or")
                + "."
            )
        )
    return Section("compensation", "Compensation", tuple(blocks))


_OTHER_KINDS = (
    (
        CaseKind.ACCOUNT_QUERY,
        "account-queries",
        "Account and sales questions",
        (Purpose.CUSTOMER_SERVICES, Purpose.SALES),
    ),
    (CaseKind.SUPPORT_REQUEST, "support", "Technical support", (Purpose.SUPPORT,)),
    (CaseKind.ABUSE_REPORT, "abuse", "Reporting abuse", (Purpose.ABUSE,)),
)


def _other(code: Code) -> Section | None:
    subsections = []
    for kind, anchor, heading, purposes in _OTHER_KINDS:
        spec = code.case_kind(kind)
        blocks: list[Block] = []
        if spec is not None and spec.description:
            blocks.append(_para(_sentence(spec.description)))
        channels = [c for c in code.channels if c.purposes & set(purposes) and _published(c)]
        own = _contacts(c for c in channels if not c.serves(Purpose.COMPLAINTS))
        shared = [c for c in channels if c.serves(Purpose.COMPLAINTS)]
        if own is not None:
            blocks.append(own)
        if shared:
            blocks.append(_para(_shared_channels(code, shared, also=own is not None)))
        if spec is not None and spec.promises:
            blocks.append(_bullets(_promise_items(spec)))
        if spec is not None and spec.label != kind.label:
            heading = spec.label  # the provider's own name for it
        if blocks:
            subsections.append(Section(anchor, heading, tuple(blocks)))
    if not subsections:
        return None
    return Section(
        "other-contact",
        "Questions, support and abuse reports",
        (
            _para(
                "These are not complaints, but if you are unhappy with how we deal with them, "
                "tell us and we will treat it as a complaint."
            ),
        ),
        tuple(subsections),
    )


def _channel_name(channel: Channel) -> str:
    if channel.type is ChannelType.ACCOUNT_MANAGER:
        return "your account manager"
    name = channel.type.label
    name = name if name.isupper() or name[1:2].isupper() else name[:1].lower() + name[1:]
    return f"{name} ({channel.label})" if channel.label else name


def _shared_channels(code: Code, shared: Sequence[Channel], *, also: bool) -> str:
    """Channels listed under "How to complain" are named, not listed twice."""
    where = "listed under “How to complain”"
    everyone = [c for c in code.channels_for(Purpose.COMPLAINTS) if _published(c)]
    if len(shared) == len(everyone) and not also:
        return f"You can contact us in any of the ways {where}."
    names = _join([_channel_name(c) for c in shared], "or")
    return f"You can {'also ' if also else ''}contact us by {names}, {where}."


def _accessibility(code: Code) -> Section | None:
    access = code.accessibility
    if not access.says_anything:
        return None
    blocks: list[Block] = []
    if access.statement:
        blocks.append(_para(_sentence(access.statement)))
    if access.formats:
        relayed = (AltFormat.TEXT_RELAY, AltFormat.BSL)
        formats = [fmt for fmt in access.formats if fmt not in relayed]
        if formats:
            blocks.append(
                _para(
                    "You can ask for this code, and any letter we send you about a complaint, "
                    "in " + _join([fmt.label for fmt in formats], "or") + "."
                )
            )
        relay = [fmt for fmt in access.formats if fmt in (AltFormat.TEXT_RELAY, AltFormat.BSL)]
        if relay:
            blocks.append(
                _para("You can contact us through " + _join([f.label for f in relay], "or") + ".")
            )
    return Section("accessibility", "Accessibility and other formats", tuple(blocks))


def _comments(code: Code) -> Section | None:
    spec = code.case_kind(CaseKind.CODE_COMMENT)
    description = spec.description if spec is not None else None
    promises = _promise_items(spec) if spec is not None else ()
    detail = code.comments.detail
    if not (code.comments.invited or detail or description or promises):
        return None  # an empty [case_kinds.code_comment] says nothing to publish
    blocks: list[Block] = []
    if description:
        blocks.append(_para(_sentence(description)))
    if detail:
        blocks.append(_para(_sentence(detail)))
    elif not description:
        blocks.append(
            _para("We welcome comments on this code. Please contact us in any of the ways above.")
        )
    if promises:
        blocks.append(_bullets(promises))
    return Section("comments", "Comments on this code", tuple(blocks))


def build_document(
    code: Code,
    *,
    on: date,
    findings: Sequence[Finding] = (),
    draft: bool = False,
) -> Document:
    """The customer-facing code for ``code`` under the rules in force on ``on``."""
    sections = [
        _about(code),
        _how_to_complain(code),
        _what_happens(code),
        _escalation(code),
        _adr(code, on),
        _compensation(code),
        _other(code),
        _accessibility(code),
        _comments(code),
    ]
    provider = code.provider
    provider_lines = [provider.name]
    if provider.address:
        provider_lines.append(", ".join(provider.address))
    if provider.company_number:
        provider_lines.append(f"Company number {provider.company_number}")
    if provider.website:
        provider_lines.append(provider.website)
    version_parts = []
    if code.meta.version:
        version_parts.append(version_label(code.meta.version))
    if code.meta.effective_from:
        version_parts.append(f"in force from {_long_date(code.meta.effective_from)}")
    version_line = _capital(", ".join(version_parts))
    footer = " ".join(
        part
        for part in (
            _sentence(f"{provider.display_name}: {code.meta.title}"),
            _sentence(version_line) if version_line else "",
            f"This copy was produced on {_long_date(on)}.",
            _scheme_source(_scheme(code)),
        )
        if part
    )
    notes = tuple(DraftNote(f.severity.value, f.rule_id, f.path, f.message) for f in findings)
    return Document(
        title=code.meta.title,
        provider=provider.display_name,
        provider_lines=tuple(provider_lines),
        version_line=version_line,
        sections=tuple(s for s in sections if s is not None),
        footer=footer,
        on=on,
        draft=draft,
        notes=notes if draft else (),
        withheld=withheld_notices(code),
    )


def _scheme_source(scheme: AdrScheme | None) -> str:
    """Where the scheme's details come from, in the provider's voice."""
    if scheme is None:
        return ""
    website = next((c.value for c in _verified(scheme) if c.type is AdrContactType.WEBSITE), None)
    if website:  # the address as people say it, which does not break after "https://"
        website = website.removeprefix("https://").removeprefix("http://").rstrip("/")
    where = f" on its website, {website}" if website else ""
    return f"Contact details for {scheme.in_sentence} are those published by the scheme{where}."


# --------------------------------------------------------------------------- formats


def render_html(document: Document) -> str:
    from django.template.loader import render_to_string

    return render_to_string("codes/code.html", {"doc": document})


def render_pdf(document: Document) -> bytes:
    # WeasyPrint reports every step (also when imported) at INFO; stderr is for problems.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    from weasyprint import HTML

    html = render_html(document)
    pdf = HTML(string=html, base_url=None).write_pdf()
    assert pdf is not None
    return bytes(pdf)


WIDTH = 72


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent.rstrip()]


def _text_blocks(blocks: Sequence[Block], out: list[str]) -> None:
    for block in blocks:
        if block.kind == "para":
            out.extend(_wrap(block.text))
        elif block.kind == "bullets":
            for item in block.items:
                out.extend(_wrap(item, "    ", "  - "))
        elif block.kind == "steps":
            for number, item in enumerate(block.items, start=1):
                out.extend(_wrap(item, "     ", f"  {number}. "))
        else:
            for contact in block.contacts:
                out.append(f"  {contact.label}:")
                out.extend(f"    {line}" for line in contact.lines)
                if contact.hours:
                    out.extend(_wrap(contact.hours, "    "))
                if contact.note:
                    out.extend(_wrap(contact.note, "    "))
        out.append("")


def render_text(document: Document) -> str:
    out: list[str] = []
    if document.draft:
        out.extend(_draft_text(document))
    title = f"{document.provider}: {document.title}"
    out.extend(_wrap(title))
    out.append("=" * min(WIDTH, max(len(line) for line in _wrap(title))))
    if document.version_line:
        out.append(document.version_line)
    for line in document.provider_lines:
        out.extend(_wrap(line))
    out.append("")
    out.append("Contents")
    for number, section in enumerate(document.sections, start=1):
        out.append(f"  {number}. {section.heading}")
    out.append("")
    for number, section in enumerate(document.sections, start=1):
        heading = f"{number}. {section.heading}"
        out.append(heading)
        out.append("-" * len(heading))
        out.append("")
        _text_blocks(section.blocks, out)
        for sub in section.subsections:
            out.append(sub.heading)
            out.append("~" * len(sub.heading))
            _text_blocks(sub.blocks, out)
    out.extend(_wrap(document.footer))
    if document.draft:
        out.append("")
        out.append("DRAFT - NOT FOR PUBLICATION")
    return "\n".join(out).rstrip() + "\n"


def _draft_text(document: Document) -> list[str]:
    out = ["DRAFT - NOT FOR PUBLICATION", ""]
    errors, warnings = document.errors, document.warnings
    out.extend(
        _wrap(
            f"This draft has {len(errors)} error{'s' if len(errors) != 1 else ''} and "
            f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} from "
            "`amends code check`. Fix the errors before publishing it."
        )
    )
    out.append("")
    for note in (*errors, *warnings):
        out.append(f"  {note.severity.upper()} {note.rule_id} at {note.path}")
        out.extend(_wrap(note.message, "    "))
    if document.withheld:
        out.append("")
        out.extend(_wrap("Left out of the published code:"))
        for notice in document.withheld:
            out.extend(_wrap(notice, "    ", "  - "))
    out.append("")
    out.append("=" * WIDTH)
    out.append("")
    return out


def render(document: Document, fmt: Format) -> bytes:
    """The document in ``fmt``, as bytes (UTF-8 for HTML and text)."""
    if fmt == "pdf":
        return render_pdf(document)
    if fmt == "html":
        return render_html(document).encode("utf-8")
    return render_text(document).encode("utf-8")
