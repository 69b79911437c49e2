"""What each action on a case asks for, and turning a posted form into service arguments.

One :class:`ActionForm` per action the console offers: its button, its fields and the typed
service it calls. The view shows the forms the lifecycle and the person's role allow now
(:func:`amends.cases.selectors.case_actions_for_staff`, plus the work every case takes: a call,
a note, compensation); the service decides again when the form is posted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from amends.cases import actions
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, CompensationBasis, CompensationForm
from amends.cases.scripted import SERVICES
from amends.domain.access import Work
from amends.domain.lifecycle import Action
from amends.domain.obligations import LONDON

HOW = (
    ("phone", "By phone"),
    ("email", "By email"),
    ("letter", "By letter"),
    ("in_person", "In person"),
    ("portal", "Through their case page"),
    ("web_form", "Through the web form"),
    ("textphone", "By textphone or Relay UK"),
)
CHANNELS = (("phone", "Phone call"), ("email", "Email"), ("letter", "Letter"))
DIRECTIONS = (("inbound", "The customer called us"), ("outbound", "We called the customer"))
OUTCOMES = (
    ("upheld", "Upheld"),
    ("partly upheld", "Partly upheld"),
    ("not upheld", "Not upheld"),
)


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    #: text, textarea, select, datetime, money, checkbox
    kind: str = "text"
    hint: str = ""
    required: bool = True
    choices: tuple[tuple[str, str], ...] = ()


WHEN = Field(
    "at",
    "When it happened, if not now",
    "datetime",
    "Leave empty for now. For a call taken or a letter sent earlier, give its time.",
    required=False,
)
BY = Field("by", "Who told us", hint="The customer's name, or their representative's.")
HOW_FIELD = Field("how", "How they told us", "select", choices=HOW)


@dataclass(frozen=True)
class ActionForm:
    key: str
    title: str
    button: str
    service: Callable[..., Any]
    fields: tuple[Field, ...] = ()
    explain: str = ""
    #: Shown apart, with a warning: it cannot be undone by the same person's next click.
    serious: bool = False
    #: Allowed by the person's work (not a move of the lifecycle).
    work: Work | None = None


def _af(action: Action, title: str, button: str, *fields: Field, **extra: Any) -> ActionForm:
    return ActionForm(action.value, title, button, SERVICES[action], tuple(fields), **extra)


FORMS: dict[str, ActionForm] = {
    f.key: f
    for f in (
        _af(
            Action.ACKNOWLEDGE,
            "Acknowledge",
            "Record the acknowledgement",
            WHEN,
            explain="The customer was told we have their complaint, with its reference.",
        ),
        _af(
            Action.ASSIGN,
            "Assign a handler",
            "Assign",
            Field("handler_id", "Handler", "select"),
        ),
        _af(
            Action.INTRODUCE_HANDLER,
            "Introduce the handler",
            "Record the introduction",
            WHEN,
            explain="The handler gave the customer their direct contact details.",
        ),
        _af(
            Action.RECORD_UPDATE,
            "Record an update given",
            "Record the update",
            Field("channel", "How the update was given", "select", choices=CHANNELS),
            WHEN,
        ),
        _af(
            Action.AGREE_UPDATES,
            "Agree how often to update",
            "Record the agreement",
            Field("interval", "Interval", hint="For example: 3 working days, 1 week."),
            WHEN,
        ),
        _af(Action.INVESTIGATE, "Start investigating", "Start investigating"),
        _af(
            Action.ESCALATE,
            "Escalate",
            "Escalate",
            Field("reason", "Why", "textarea"),
            WHEN,
        ),
        _af(
            Action.PROPOSE_RESOLUTION,
            "Propose a resolution",
            "Send the proposal",
            Field(
                "proposal",
                "What we propose",
                "textarea",
                "The customer receives this, with the ADR scheme's details.",
            ),
            WHEN,
        ),
        _af(
            Action.ACCEPT_RESOLUTION,
            "Record the customer's acceptance",
            "Record acceptance",
            BY,
            HOW_FIELD,
            WHEN,
            explain="Only when the customer said yes. A complaint closes only on acceptance "
            "or after the ADR letter.",
        ),
        _af(
            Action.REJECT_RESOLUTION,
            "Record that the customer rejected it",
            "Record rejection",
            BY,
            HOW_FIELD,
            Field("reason", "What they said", "textarea", required=False),
            WHEN,
        ),
        _af(Action.CLOSE, "Close", "Close the case", WHEN),
        _af(Action.REOPEN, "Re-open", "Re-open", Field("reason", "Why", "textarea")),
        _af(
            Action.DECLARE_DEADLOCK,
            "Deadlock: our final position",
            "Record deadlock and issue the ADR letter",
            Field("final_position", "Our final position", "textarea"),
            Field(
                "final_offer",
                "An offer that stays open",
                "textarea",
                "Leave empty if there is none.",
                required=False,
            ),
            WHEN,
            serious=True,
            explain="The ADR letter goes to the customer at once, in their preferred format.",
        ),
        _af(
            Action.REQUEST_ADR_LETTER,
            "The customer asked for the ADR letter",
            "Send the ADR letter",
            BY,
            HOW_FIELD,
            explain="Never refused. If it was issued before, a copy goes.",
        ),
        _af(
            Action.ISSUE_ADR_LETTER,
            "Issue the ADR letter now",
            "Issue the ADR letter",
            serious=True,
        ),
        _af(
            Action.REFER_TO_SCHEME,
            "The customer went to the ADR scheme",
            "Record the referral",
            Field("scheme_reference", "The scheme's reference"),
            WHEN,
        ),
        _af(
            Action.SCHEME_DECLINED,
            "The scheme declined the complaint",
            "Record it",
            Field("reason", "The scheme's reason", "textarea"),
        ),
        _af(
            Action.RECORD_SCHEME_DECISION,
            "Record the scheme's decision",
            "Record the decision",
            Field("outcome", "Decision", "select", choices=OUTCOMES),
            Field("remedies", "What we must do", "textarea", required=False),
            WHEN,
        ),
        _af(Action.ACCEPT_DECISION, "The customer accepted the decision", "Record it", WHEN),
        _af(Action.COMPLETE_REMEDY, "The remedy is done", "Record it", WHEN),
        _af(
            Action.WITHDRAW,
            "The customer withdrew the complaint",
            "Record the withdrawal",
            BY,
            HOW_FIELD,
            Field("reason", "What they said", "textarea", required=False),
            WHEN,
            serious=True,
        ),
        _af(
            Action.CONVERT_TO_COMPLAINT,
            "This is a complaint",
            "Make it a complaint",
            Field(
                "reason", "Why", "textarea", "What the customer said that shows they are unhappy."
            ),
            WHEN,
        ),
        ActionForm(
            "log_call",
            "Log a call",
            "Log the call",
            actions.case_log_call,
            (
                Field("direction", "Who called", "select", choices=DIRECTIONS),
                Field("summary", "What was said", "textarea"),
                Field(
                    "update_given",
                    "This call gave the customer an update",
                    "checkbox",
                    required=False,
                ),
                WHEN,
            ),
            work=Work.LOG_CALL,
        ),
        ActionForm(
            "send_message",
            "Write to the customer",
            "Send",
            actions.case_send_message,
            (
                Field(
                    "kind",
                    "What it is",
                    "select",
                    choices=(
                        ("reply", "A reply"),
                        ("progress_update", "A progress update (counts as an update)"),
                        ("query_reply", "An answer to their query or request"),
                    ),
                ),
                Field(
                    "text",
                    "Message",
                    "textarea",
                    "Greeting, reference, next steps and sign-off come from the template. It "
                    "goes the way the customer prefers: email, letter or a call for you to make.",
                ),
            ),
            work=Work.LOG_CALL,
        ),
        ActionForm(
            "merge",
            "Merge a duplicate into this case",
            "Merge",
            actions.case_merge,
            (
                Field(
                    "duplicate_id",
                    "The duplicate",
                    "select",
                    "Another open case of this customer. The earliest first receipt stands; "
                    "its timeline and mail come here.",
                ),
                Field("reason", "Why", "textarea", required=False),
            ),
            work=Work.MERGE_CASES,
        ),
        ActionForm(
            "add_note",
            "Add an internal note",
            "Add the note",
            actions.case_add_note,
            (Field("text", "Note", "textarea", "Staff only: the customer never sees it."),),
            work=Work.ADD_NOTE,
        ),
        ActionForm(
            "record_compensation",
            "Record compensation",
            "Record compensation",
            actions.case_record_compensation,
            (
                Field("amount_pence", "Amount in pounds", "money", "For example: 25.00"),
                Field("reason", "What it is for", "textarea"),
                Field("form", "How it is paid", "select", choices=tuple(CompensationForm.choices)),
                Field("basis", "Why", "select", choices=tuple(CompensationBasis.choices)),
            ),
            work=Work.RECORD_COMPENSATION,
        ),
    )
}


def _datetime(value: str, name: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:  # well formed, but no such day or hour (30 February, 25:00)
        parsed = None
    if parsed is None:
        raise CaseError(
            "Give a date and time, like 2026-03-03 14:30.", field=name, code=ErrorCode.INVALID
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LONDON)  # a time typed by staff is UK time
    return parsed


#: The most one compensation record may be (a typing mistake, not a payment, above it).
MAX_PENCE = 100_000_000


def _pence(value: str, name: str) -> int:
    text = value.strip().lstrip("£").replace(",", "")
    problem = CaseError(
        "Give an amount in pounds and pence, more than 0, like 25.00.",
        field=name,
        code=ErrorCode.INVALID,
    )
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise problem from None
    if not amount.is_finite() or amount <= 0 or amount * 100 > MAX_PENCE:
        raise problem
    if amount != amount.quantize(Decimal("0.01")):
        raise problem
    return int(amount * 100)


def arguments(form: ActionForm, data: Mapping[str, str]) -> dict[str, Any]:
    """The service's keyword arguments from a posted form (a bad value: CaseError with its
    field, as the service itself would say)."""
    out: dict[str, Any] = {}
    for f in form.fields:
        raw = str(data.get(f.name, ""))
        if f.kind == "datetime":
            value = _datetime(raw, f.name)
            if value is not None:
                out[f.name] = value
        elif f.kind == "money":
            out[f.name] = _pence(raw, f.name)
        elif f.kind == "checkbox":
            out[f.name] = raw in ("on", "true", "1", "yes")
        elif f.name in ("handler_id", "duplicate_id"):
            out[f.name] = record_id(raw, f.name)
        else:
            if f.required and not raw.strip():
                raise CaseError(
                    f"{f.label}: this cannot be empty.", field=f.name, code=ErrorCode.INVALID
                )
            if raw.strip() or f.required:
                out[f.name] = raw
    return out


def record_id(raw: str, name: str) -> int:
    """A row id chosen in a form: a whole number a database can hold, else a form error."""
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise CaseError("Choose one from the list.", field=name, code=ErrorCode.INVALID)
    return int(text)


def version_of(data: Mapping[str, str]) -> int:
    """The case version the page was read at: required, so a form from an old page (or one
    that lost it) is refused instead of written over what happened since."""
    text = str(data.get("version", "")).strip()
    if not text.isdigit():
        raise CaseError(
            "This form is out of date: reload the case and try again.", code=ErrorCode.CONFLICT
        )
    return int(text)


def offered(case: Case, allowed: list[Action], may: Callable[[Work], bool]) -> list[ActionForm]:
    """The forms to show on the case page, in the lifecycle's order, then the work (none on a
    case merged into another: everything happens there)."""
    if case.merged_into_id is not None:
        return []
    forms = [FORMS[a.value] for a in allowed if a.value in FORMS]
    forms += [f for f in FORMS.values() if f.work is not None and may(f.work)]
    return forms
