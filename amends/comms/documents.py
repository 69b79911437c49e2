"""The documents Amends writes to customers and staff: one Django template per purpose.

Each message kind has a text template and an HTML template rendered from the same context
(:func:`context_for`), and a one-line subject template:

* ``comms/<kind>.txt`` and ``comms/<kind>.html``: what the message says (its body, without
  the greeting and sign-off, so that the same words go into an email, a printed letter and a
  call script);
* ``comms/<kind>.subject.txt``: its subject line;
* the wrappers ``comms/email.txt`` and ``comms/email.html`` (greeting, body, sign-off), and
  ``comms/letter.html`` (the printed letter, :mod:`amends.comms.letters`) and
  ``comms/call_script.txt`` (a call task, :mod:`amends.comms.printqueue`).

A provider overrides any of them by putting a template at ``comms/<provider-slug>/<name>``
(in a directory of ``TEMPLATES["DIRS"]`` or an app's ``templates``): it is looked up before
``comms/<name>``.

The context is built from the same data as the published code (``amends.codes.render``):
the provider's name, address and complaint channels from its code; the ADR scheme from the
registry (:data:`amends.domain.regulation.APPROVED_SCHEMES`) through the scheme the case was
opened under, with only the contact details the registry holds as verified (evidence "V");
the 12-month window from the rules in force on the letter's date; and the dates of "what
happens next" from the case's clocks (``Case.clocks``, the mirror of its Obligation rows;
clocks the case's facts derive but that are not stored yet, because the message is written
in the transaction that changes them, are derived the same way the clocks are). Dates are
written in words in Europe/London ("Tuesday 3 March 2026").

The customer reads the provider speaking: no document names the software that wrote it.
Every outcome message (a proposed resolution, a final response, a closure, the ADR letter)
names the ADR scheme and how to reach it, and says it is free (DMCC Act 2024 s308; GC C4).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context, Engine, Template
from django.template.exceptions import TemplateDoesNotExist

from amends.comms.models import OutboxKind
from amends.core.memo import PerObject
from amends.domain.codes import CaseKind, ChannelType, Code, Purpose
from amends.domain.regulation import APPROVED_SCHEMES, AdrScheme, rules_in_force

LONDON = ZoneInfo("Europe/London")

__all__ = [
    "LONDON",
    "OUTCOME_KINDS",
    "STAFF_KINDS",
    "Rendered",
    "context_for",
    "long_date",
    "render",
    "render_html",
    "render_message",
    "render_template",
    "template_names",
    "tidy_text",
]

#: Messages that tell the customer an outcome: each names the ADR scheme (DMCC Act s308).
OUTCOME_KINDS = frozenset(
    {
        OutboxKind.PROPOSED_RESOLUTION,
        OutboxKind.FINAL_RESPONSE,
        OutboxKind.CLOSURE,
        OutboxKind.ADR_LETTER,
        OutboxKind.ADR_LETTER_COPY,
    }
)

#: Messages to staff only, never through the customer's channel.
STAFF_KINDS = frozenset(
    {OutboxKind.BREACH_NOTICE, OutboxKind.WORKER_ALERT, OutboxKind.WEBHOOK_DISABLED}
)

#: What a template shows for a variable it does not have. Empty in use (a missing detail
#: must not stop the transaction that writes the message); the tests set a marker here and
#: fail on any document that shows it.
MISSING = ""


# --------------------------------------------------------------------------- engines


@cache
def _engine(html: bool, missing: str) -> Engine:
    """The template engine: the project's template directories and the apps' ``templates``;
    HTML is escaped, text is not."""
    dirs: list[Any] = []
    for backend in settings.TEMPLATES:
        dirs.extend(cast("Iterable[Any]", backend.get("DIRS") or []))
    return Engine(
        dirs=dirs,
        app_dirs=True,
        autoescape=html,
        string_if_invalid=missing,
    )


@receiver(setting_changed)
def _templates_changed(*, setting: str, **kwargs: Any) -> None:
    """A change of ``TEMPLATES`` (tests, a provider's directory) takes effect at once."""
    if setting == "TEMPLATES":
        _engine.cache_clear()
        _chosen.clear()


def template_names(name: str, provider_slug: str | None) -> list[str]:
    """Where a template is looked for: the provider's own first, then the default."""
    names = [f"comms/{name}"]
    if provider_slug:
        names.insert(0, f"comms/{provider_slug}/{name}")
    return names


#: The template each (name, provider, marker) resolved to. The engine's cached loader keeps
#: what it compiled, but a provider without an override of a name pays a refused look-up
#: of its own directory each time; this keeps the answer (cleared with the engines).
_chosen: dict[tuple[str, str | None, str], Template] = {}


def _template(name: str, provider_slug: str | None) -> Template:
    key = (name, provider_slug, MISSING)
    found = _chosen.get(key)
    if found is not None:
        return found
    html = name.endswith(".html")
    engine = _engine(html, MISSING)
    template: Template = engine.select_template(template_names(name, provider_slug))
    _chosen[key] = template
    return template


#: The parts the templates share (``comms/_<name>.txt`` and ``.html``), each overridable
#: per provider like the templates that include them.
PARTIALS = (
    "signoff",
    "next_steps",
    "point_of_contact",
    "adr_signpost",
    "scheme_contacts",
    "adr_letter",
)


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """Render ``comms/<name>`` (or the provider's override) with a document context."""
    slug = context["provider"].get("slug") or None
    html = name.endswith(".html")
    ext = "html" if html else "txt"
    data = dict(context)
    data["body_template"] = _template(f"{context['kind']}.{ext}", slug)
    data["partials"] = {part: _template(f"_{part}.{ext}", slug) for part in PARTIALS}
    return _template(name, slug).render(Context(data, autoescape=html))


# --------------------------------------------------------------------------- formatting


def long_date(day: date | datetime | None) -> str:
    """'Tuesday 3 March 2026' (a datetime is read in Europe/London)."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = day.astimezone(LONDON).date()
    return f"{day:%A} {day.day} {day:%B %Y}"


def _clock_time(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{hour}:{local.minute:02d}{'am' if local.hour < 12 else 'pm'}"


def long_moment(moment: datetime | None) -> str:
    """'2:30pm on Tuesday 3 March 2026'."""
    if moment is None:
        return ""
    return f"{_clock_time(moment)} on {long_date(moment)}"


def _parse_day(value: object) -> date | None:
    """A UK date from a payload value: an ISO date, or an ISO instant read in London."""
    if isinstance(value, datetime):
        return value.astimezone(LONDON).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(LONDON).date() if moment.tzinfo else moment.date()


def _parse_moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) <= 10:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=LONDON)


_TEXT_BLANKS = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    """Template whitespace out: no trailing spaces, one blank line between paragraphs."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    return _TEXT_BLANKS.sub("\n\n", text) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- the context


def _code_of(case: Any, provider: Any) -> tuple[Code, Any] | None:
    version = getattr(case, "code_version", None) if case is not None else None
    if version is None:
        return None
    from amends.providers.services import code_of

    return code_of(version, provider)


def _scheme_of(case: Any, provider: Any) -> AdrScheme | None:
    scheme_id = (getattr(case, "adr_scheme", "") if case is not None else "") or getattr(
        provider, "adr_scheme", ""
    )
    return next((s for s in APPROVED_SCHEMES if s.id == scheme_id), None)


def _scheme_context(scheme: AdrScheme | None, on: date) -> dict[str, Any] | None:
    """The scheme as the published code gives it: the registry's verified details only."""
    if scheme is None:
        return None
    from amends.codes.render import _scheme_contacts

    block = _scheme_contacts(scheme)
    contacts: list[dict[str, Any]] = [
        {"label": c.label, "lines": list(c.lines), "one_line": ", ".join(c.lines), "href": c.href}
        for c in (block.contacts if block is not None else ())
    ]
    website = next((c["one_line"] for c in contacts if c["label"] == "Website"), "")
    name = scheme.in_sentence
    return {
        "id": scheme.id,
        "name": scheme.name,
        "in_sentence": name,
        "In_sentence": name[:1].upper() + name[1:],
        "full_name": scheme.full_name or "",
        "contacts": contacts,
        "website": website,
        "website_short": website.removeprefix("https://").removeprefix("http://").rstrip("/"),
        "remedy_within": str(scheme.remedy(on).value),
    }


def _channel_context(channel: Any) -> dict[str, Any]:
    from amends.codes.render import _channel_contact

    contact = _channel_contact(channel)
    return {
        "type": channel.type.value,
        "label": contact.label,
        "lines": list(contact.lines),
        "one_line": ", ".join(contact.lines),
        "href": contact.href or "",
        "hours": contact.hours or "",
        # "open Monday to Friday, 9am to 5pm", to go in brackets after the number.
        "hours_short": (contact.hours or "")[:1].lower() + (contact.hours or "")[1:].rstrip("."),
    }


#: The provider context of each (parsed code, slug).
_PROVIDER_CONTEXTS: PerObject[dict[str, Any]] = PerObject(size=256)


def _provider_context(provider: Any, code: Code | None) -> dict[str, Any]:
    """The provider's details, as its published code gives them (a copy: callers may add)."""
    slug = getattr(provider, "slug", "") or ""
    if code is not None:
        kept = _PROVIDER_CONTEXTS.get(code, slug, lambda: _provider_context_of(slug, code))
        return copy.deepcopy(kept)
    return _provider_context_of(slug, None, provider)


def _provider_context_of(slug: str, code: Code | None, provider: Any = None) -> dict[str, Any]:
    if code is None:
        name = str(getattr(provider, "name", ""))
        return {
            "slug": slug,
            "name": name,
            "legal_name": getattr(provider, "legal_name", "") or name,
            "address": [],
            "lines": [name],
            "company_number": "",
            "website": "",
            "contacts": [],
            "phone": None,
            "email": None,
            "post": None,
        }
    details = code.provider
    from amends.codes.render import _published

    channels = [c for c in code.channels_for(Purpose.COMPLAINTS) if _published(c)]

    def first(kind: ChannelType) -> dict[str, Any] | None:
        found = next((c for c in channels if c.type is kind and c.value), None)
        return _channel_context(found) if found is not None else None

    contacts = [
        found
        for found in (first(ChannelType.PHONE), first(ChannelType.EMAIL), first(ChannelType.POST))
        if found is not None
    ]
    lines = [details.name, *details.address]
    if details.company_number:
        lines.append(f"Company number {details.company_number}")
    if details.website:
        lines.append(details.website)
    return {
        "slug": slug,
        "name": details.display_name,
        "legal_name": details.name,
        "address": list(details.address),
        "lines": lines,
        "company_number": details.company_number or "",
        "website": details.website or "",
        "contacts": contacts,
        "phone": first(ChannelType.PHONE),
        "email": first(ChannelType.EMAIL),
        "post": first(ChannelType.POST),
    }


#: The clocks "what happens next" speaks of, by kind.
_NEXT_KINDS = (
    "acknowledge",
    "introduce_handler",
    "first_response",
    "agree_updates",
    "update",
    "resolve",
    "escalation_review",
    "adr_letter",
    "adr_remedy",
)


def _clock_dates(case: Any, code: Code | None, calendar: Any) -> dict[str, datetime]:
    """The earliest pending due instant of each kind of clock: the stored clocks, and for a
    clock not stored yet (the message is written before its transaction reconciles them),
    what the case's facts derive."""
    due: dict[str, datetime] = {}
    stored: dict[str, list[Any]] = dict(getattr(case, "clocks", None) or {})
    entries: list[tuple[str, str, datetime]] = []
    for entry in stored.values():
        state, due_at, _met, kind = entry[0], entry[1], entry[2], entry[3]
        if due_at:
            entries.append((str(kind), str(state), datetime.fromisoformat(due_at)))
    current = False
    if code is not None and calendar is not None and hasattr(case, "_reconciled_on"):
        from amends.cases.clocks import clocks_current

        # Reconciled on these very facts, code and calendar (opening a case reconciles
        # before it writes the acknowledgement): every clock they derive is stored already.
        current = clocks_current(case, code, calendar)
    if (
        code is not None
        and calendar is not None
        and not current
        and getattr(case, "first_received_at", None)
    ):
        from amends.cases.clocks import facts, promises
        from amends.domain.obligations import derive

        try:
            derived = derive(facts(case), promises(case, code), calendar)
        except (ValueError, LookupError, KeyError):  # a case half-built in a test or form
            derived = []
        for item in derived:
            if item.key not in stored:
                entries.append((item.kind.value, item.status.value, item.due_at))
    for kind, state, moment in entries:
        if state != "pending" or kind not in _NEXT_KINDS:
            continue
        if kind not in due or moment < due[kind]:
            due[kind] = moment
    return due


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    name = user.get_full_name().strip() if hasattr(user, "get_full_name") else ""
    return {"name": name, "email": getattr(user, "email", "") or ""}


def _owner(case: Any, provider_ctx: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """Who owns the complaint and how to reach them: the case handler when one is assigned
    (by name when staff records give one), else the provider's complaints team."""
    handler = None
    if case is not None and getattr(case, "handler_id", None) is not None:
        handler = _person(case.handler)
    elif payload.get("handler"):
        from django.contrib.auth.models import User

        handler = _person(User.objects.filter(pk=payload["handler"]).first())
    team = f"the {provider_ctx['name']} complaints team"
    name = str(payload.get("contact_name") or (handler or {}).get("name") or "")
    email = str(payload.get("contact_email") or (handler or {}).get("email") or "")
    if not email and provider_ctx.get("email"):
        email = provider_ctx["email"]["one_line"]
    phone = str(payload.get("contact_phone") or "")
    if not phone and provider_ctx.get("phone"):
        phone = provider_ctx["phone"]["one_line"]
    return {
        "is_person": bool(name),
        "is_handler": handler is not None,
        "name": name,
        "role": "case handler" if handler is not None else "",
        # How the letter names who owns the complaint, in a sentence.
        "described": (
            f"{name}, your case handler,"
            if name and handler is not None
            else name or ("your case handler" if handler is not None else team)
        ),
        "team": team,
        "email": email,
        "phone": phone,
    }


_PREFERRED = {"email": "by email", "letter": "by letter", "phone": "by phone"}


def _customer_contact(customer: Any) -> dict[str, Any]:
    """What we hold for the customer (ISS confirms the contact details it holds)."""
    if customer is None:
        return {"any": False, "phone": "", "email": "", "postal": "", "preferred": ""}
    postal = ", ".join(
        line.strip() for line in (customer.postal_address or "").splitlines() if line.strip()
    )
    found = {
        "phone": customer.phone or "",
        "email": customer.email or "",
        "postal": postal,
        "preferred": _PREFERRED.get(customer.preferred_contact, ""),
    }
    found["any"] = bool(found["phone"] or found["email"] or found["postal"])
    return found


_OBLIGATION_NAMES = {
    "acknowledge": "the acknowledgement",
    "introduce_handler": "the case handler's introduction",
    "first_response": "the first response",
    "agree_updates": "agreeing with the customer when they will next hear from us",
    "update": "a progress update",
    "resolve": "the resolution target",
    "escalation_review": "the escalation review",
    "adr_letter": "the ADR letter",
    "adr_remedy": "carrying out the ADR scheme's decision",
}


def _obligation_name(key: str) -> str:
    kind = re.split(r"[@~#]", key, maxsplit=1)[0]
    return _OBLIGATION_NAMES.get(kind, key.replace("_", " "))


_KIND_NOUNS = {
    CaseKind.COMPLAINT.value: "complaint",
    CaseKind.ACCOUNT_QUERY.value: "query",
    CaseKind.SUPPORT_REQUEST.value: "support request",
    CaseKind.ABUSE_REPORT.value: "report",
    CaseKind.CODE_COMMENT.value: "comments",
}

_TRIGGERS = ("deadlock", "time", "customer_request", "staff")


def _escalation_context(
    case: Any, code: Code | None, due: Mapping[str, datetime], level_given: object = None
) -> Any:
    """The level a complaint is escalated to (the message's, else the case's), who reviews
    it there and by when."""
    level = int(getattr(case, "escalation_level", 0) or 0)
    if isinstance(level_given, int) and not isinstance(level_given, bool) and level_given > 0:
        level = level_given
    if code is None or level < 1:
        return None
    from amends.codes.render import _our

    levels = [item for item in code.escalation if item.level == level]
    if not levels:
        levels = list(code.escalation[level - 1 : level])
    if not levels:
        return {"level": level, "role": "a senior colleague", "review_within": "", "review_by": ""}
    found = levels[0]
    return {
        "level": level,
        "role": _our(found.role),
        "review_within": str(found.review_within) if found.review_within else "",
        "review_by": long_date(due.get("escalation_review")),
    }


def context_for(
    kind: OutboxKind | str,
    *,
    provider: Any,
    case: Any,
    payload: Mapping[str, Any] | None = None,
    channel: str = "",
    recipient_name: str = "",
    letter_date: date | None = None,
    on: date | None = None,
) -> dict[str, Any]:
    """Everything a document of ``kind`` may say, as plain values for its templates.

    ``letter_date`` is the date the document bears (a printed letter's date of issue); by
    default the date of issue in the payload (``issued_at``) or none (an email is dated by
    its sending). ``on`` is the day it is written (by default the letter's date): a clock due
    before then is not "what happens next" (the worker has it)."""
    kind = OutboxKind(kind)
    payload = dict(payload or {})
    parsed = _code_of(case, provider)
    code, calendar = parsed if parsed is not None else (None, None)
    provider_ctx = _provider_context(provider, code)
    issued = _parse_day(payload.get("issued_at"))
    dated = letter_date or issued
    on = dated or (
        case.first_received_at.astimezone(LONDON).date()
        if case is not None and getattr(case, "first_received_at", None)
        else date.today()  # noqa: DTZ011 - only for a message without a case or a date
    )
    rules = rules_in_force(on)
    scheme = _scheme_of(case, provider)
    due = _clock_dates(case, code, calendar) if case is not None else {}
    today = on or dated
    if today is not None:
        due = {k: v for k, v in due.items() if v.astimezone(LONDON).date() >= today}
    customer = getattr(case, "customer", None) if case is not None else None
    if not recipient_name and customer is not None and kind not in STAFF_KINDS:
        recipient_name = customer.representative_name or customer.contact_name
    first_received = getattr(case, "first_received_at", None) if case is not None else None
    received_on = first_received.astimezone(LONDON).date() if first_received else on
    adr_after = rules_in_force(received_on).adr_letter_after.value
    trigger = str(payload.get("trigger") or getattr(case, "adr_letter_trigger", "") or "")
    if trigger not in _TRIGGERS:
        trigger = "staff" if kind in (OutboxKind.ADR_LETTER, OutboxKind.ADR_LETTER_COPY) else ""
    case_kind = str(getattr(case, "kind", "") or CaseKind.COMPLAINT.value)
    moment_due = _parse_moment(payload.get("due_at"))
    expires = _parse_moment(payload.get("expires")) or _parse_moment(payload.get("expires_at"))
    text = str(payload.get("text") or "").strip()
    scheme_ctx = _scheme_context(scheme, on)
    scheme_name = scheme_ctx["in_sentence"] if scheme_ctx else "an independent ombudsman"
    copy = kind is OutboxKind.ADR_LETTER_COPY
    heading = (
        f"{'Copy of your' if copy else 'Your'} ADR letter: your right to take this to {scheme_name}"
    )
    return {
        "kind": kind.value,
        "kind_label": kind.label,
        "channel": channel,
        "is_letter": channel == "post",
        "is_call": channel == "phone",
        "is_staff": kind in STAFF_KINDS,
        "is_outcome": kind in OUTCOME_KINDS,
        "provider": provider_ctx,
        "reference": getattr(case, "reference", "") or str(payload.get("reference") or ""),
        "recipient_name": recipient_name,
        "greeting_name": recipient_name or "customer",
        "case_noun": _KIND_NOUNS.get(case_kind, "complaint"),
        "is_complaint": case_kind == CaseKind.COMPLAINT.value,
        "summary": getattr(case, "summary", "") if case is not None else "",
        "first_received": long_date(first_received),
        "letter_date": long_date(dated),
        "due": {name: long_date(moment) for name, moment in due.items()},
        "update_interval": getattr(case, "update_interval", "") if case is not None else "",
        "owner": _owner(case, provider_ctx, payload),
        "scheme": scheme_ctx,
        "scheme_name": scheme_name,
        "Scheme_name": scheme_name[:1].upper() + scheme_name[1:],
        "adr": {
            "months": rules.adr_window_months.value,
            "after": str(adr_after),
            "trigger": trigger,
            "issued": long_date(issued),
            # The customer's months run from the letter's date (a copy: the original's).
            "window_from": long_date(issued if copy else dated),
            "is_copy": copy,
            "heading": heading,
            "heading_rule": "=" * len(heading),
        },
        "customer_contact": _customer_contact(customer),
        "reopening": bool(code.closure.reopening) if code is not None else False,
        "escalation": _escalation_context(case, code, due, payload.get("level")),
        "proposal": (getattr(case, "resolution_proposal", "") if case is not None else "")
        or str(payload.get("proposal") or ""),
        "final_position": getattr(case, "final_position", "") if case is not None else "",
        "final_offer": getattr(case, "final_offer", "") if case is not None else "",
        "acceptance_by": getattr(case, "acceptance_by", "") if case is not None else "",
        "resolved": bool(getattr(case, "resolved_at", None)) if case is not None else False,
        "closed_on": long_date(getattr(case, "closed_at", None)) if case is not None else "",
        "adr_letter_sent": long_date(getattr(case, "adr_letter_issued_at", None))
        if case is not None
        else "",
        "text": text,
        "paragraphs": [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()],
        "url": str(payload.get("url") or ""),
        "expires": long_date(expires) if expires else long_date(_parse_day(payload.get("expires"))),
        "obligation": _obligation_name(str(payload.get("obligation") or "")),
        "obligation_key": str(payload.get("obligation") or ""),
        "due_at": long_moment(moment_due),
        "attempts": payload.get("attempts") or "",
        "error": _one_line(str(payload.get("error") or "")),
        "author": str(payload.get("author") or ""),
    }


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _subject(context: Mapping[str, Any]) -> str:
    subject = _one_line(render_template(f"{context['kind']}.subject.txt", context))
    return subject[:300]


def render_message(
    kind: OutboxKind | str,
    *,
    provider: Any,
    case: Any,
    payload: Mapping[str, Any] | None = None,
    channel: str = "",
    recipient_name: str = "",
    now: datetime | None = None,
) -> Rendered:
    """The subject, the text and the HTML of a message, from one context (``now``: when it
    is written, so that "what happens next" leaves out clocks already past)."""
    context = context_for(
        kind,
        provider=provider,
        case=case,
        payload=payload,
        channel=channel,
        recipient_name=recipient_name,
        on=now.astimezone(LONDON).date() if now is not None else None,
    )
    subject = _subject(context)
    context["subject"] = subject
    return Rendered(
        subject=subject,
        text=tidy_text(render_template("email.txt", context)),
        html=render_template("email.html", context),
    )


def render(
    kind: OutboxKind,
    *,
    provider: Any,
    case: Any,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> tuple[str, str]:
    """(subject, plain text body): what the outbox stores as the message's text."""
    rendered = render_message(kind, provider=provider, case=case, payload=payload, now=now)
    return rendered.subject, rendered.text


def render_html(
    kind: OutboxKind,
    *,
    provider: Any,
    case: Any,
    payload: dict[str, Any],
    now: datetime | None = None,
) -> str:
    """The HTML part of the same message (a whole document, its styles in its head)."""
    return render_message(kind, provider=provider, case=case, payload=payload, now=now).html


def render_body_text(context: Mapping[str, Any]) -> str:
    """Only what the message says (no greeting or sign-off): for a call script."""
    return tidy_text(render_template(f"{context['kind']}.txt", context))


def has_template(kind: OutboxKind | str, ext: str, provider_slug: str | None = None) -> bool:
    """Whether ``comms/<kind>.<ext>`` (or the provider's own) exists."""
    try:
        _template(f"{OutboxKind(kind).value}.{ext}", provider_slug)
    except TemplateDoesNotExist:
        return False
    return True
