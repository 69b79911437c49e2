"""The staff console's case pages: queues and search, a case, its actions, a new case.

Thin views over ``amends.cases.queues``, ``amends.cases.selectors`` and the typed services of
``amends.cases.actions``: a view reads the form, calls one service, and shows what it said. A
refusal (the lifecycle, the role, a stale page) is shown on the page with its reason; a page
read at one version never overwrites a newer one (``expected_version``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Event, Obligation
from amends.cases.queues import (
    QUEUES,
    case_search,
    customer_duplicates,
    customer_search,
    queue_page,
)
from amends.cases.selectors import case_actions_for_staff
from amends.comms.models import InboundMessage, OutboxMessage
from amends.console import forms
from amends.console.access import staff_view
from amends.domain.access import Work
from amends.domain.codes import Code
from amends.domain.lifecycle import OPEN_STATES, Action, State
from amends.domain.obligations import LONDON
from amends.providers.models import Provider, StaffMember
from amends.providers.services import code_of

HANDLING_ROLES = ("adviser", "case_handler", "manager", "director")

CLOCK_NAMES = {
    "acknowledge": "Acknowledge",
    "introduce_handler": "Introduce the handler",
    "first_response": "First response",
    "agree_updates": "Agree how often to update",
    "update": "Give an update",
    "resolve": "Resolve",
    "escalation_review": "Review the escalation",
    "adr_letter": "ADR letter",
    "adr_remedy": "Carry out the scheme's remedy",
}
STATE_LABELS = {s.value: s.label for s in State}
OPEN_STATE_VALUES = [s.value for s in OPEN_STATES]
CLOCK_STATES = {
    "pending": "Running",
    "met": "Kept",
    "breached": "Missed",
    "cancelled": "No longer owed",
    "done": "Done by Amends",
}


def _provider(request: HttpRequest) -> Provider:
    return Provider.objects.get(pk=request.actor.provider_id)  # type: ignore[attr-defined]


def short_moment(moment: datetime) -> str:
    """'Tue 3 Mar, 17:30' in UK time."""
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _left(working: timedelta, calendar_time: timedelta) -> str:
    """What is left before a clock is due: working time while it is under two days of it,
    calendar days beyond (a working day is not 24 hours)."""
    minutes = int(working.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} working minute{'s' if minutes != 1 else ''} left"
    hours = minutes // 60
    if hours < 16:
        return f"{hours} working hour{'s' if hours != 1 else ''} left"
    days = calendar_time.days
    return f"{days} day{'s' if days != 1 else ''} left" if days else f"{hours} working hours left"


# --------------------------------------------------------------------------- queues


@staff_view(Work.VIEW_CASES)
def queues(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    provider = _provider(request)
    page = queue_page(actor, request.GET.get("queue"), now=now, provider=provider)
    counts, name = page.counts, page.name
    q = request.GET.get("q", "").strip()
    search = case_search(actor, q) if q else None
    rows = [] if q else list(page.cases[:200])
    for row in rows:
        row.next_due_text = short_moment(row.next_due) if row.next_due else "-"  # type: ignore[attr-defined]
        row.overdue = bool(row.next_due and row.next_due < now)  # type: ignore[attr-defined]
    return render(
        request,
        "console/queues.html",
        {
            "nav": "queues",
            "provider": provider,
            "queues": QUEUES,
            "counts": counts,
            "current": next(x for x in QUEUES if x.name == name),
            "rows": rows,
            "q": q,
            "search": search,
            "states": {s.value: s.label for s in State},
        },
    )


# --------------------------------------------------------------------------- a case


def _case(request: HttpRequest, reference: str) -> Case:
    case = (
        Case.objects.filter(
            provider_id=request.actor.provider_id,  # type: ignore[attr-defined]
            reference=reference.upper(),
        )
        .select_related("customer", "code_version", "provider", "handler")
        .first()
    )
    if case is None:
        raise Http404("No such case.")
    return case


@dataclass(frozen=True)
class ClockRow:
    name: str
    state: str
    due: str
    left: str
    origin: str
    source: str
    late: bool


def _clocks(case: Case, now: datetime) -> list[ClockRow]:
    _, calendar = code_of(case.code_version, case.provider)
    rows: list[ClockRow] = []
    for ob in Obligation.objects.filter(case=case).order_by("due_at", "pk"):
        base = re.split(r"[@~#]", ob.key, maxsplit=1)[0]
        name = CLOCK_NAMES.get(base, base.replace("_", " ").capitalize())
        left = ""
        late = False
        if ob.state == "pending":
            if ob.due_at >= now:
                left = _left(calendar.working_time_between(now, ob.due_at), ob.due_at - now)
            else:
                late = True
                left = f"overdue since {short_moment(ob.due_at)}"
        elif ob.met_at is not None:
            left = f"kept {short_moment(ob.met_at)}"
        origin = {"law": "The law", "code": "Our code"}.get(ob.origin, ob.origin or "")
        rows.append(
            ClockRow(
                name,
                CLOCK_STATES.get(ob.state, ob.state),
                short_moment(ob.due_at),
                left,
                " ".join(x for x in (origin, ob.rule_id) if x),
                ob.source,
                late or ob.state == "breached",
            )
        )
    return rows


@dataclass(frozen=True)
class Entry:
    at: datetime
    when: str
    what: str
    detail: str
    who: str
    link: str = ""


EVENT_WORDS = {
    "acknowledge": "Acknowledged",
    "assign": "Handler assigned",
    "introduce_handler": "Handler introduced",
    "record_update": "Update given",
    "agree_updates": "Update interval agreed",
    "investigate": "Investigation started",
    "escalate": "Escalated",
    "propose_resolution": "Resolution proposed",
    "accept_resolution": "The customer accepted the resolution",
    "reject_resolution": "The customer rejected the resolution",
    "close": "Closed",
    "reopen": "Re-opened",
    "declare_deadlock": "Deadlock: final position given",
    "request_adr_letter": "The customer asked for the ADR letter",
    "issue_adr_letter": "ADR letter issued",
    "refer_to_scheme": "Referred to the ADR scheme",
    "scheme_declined": "The ADR scheme declined it",
    "record_scheme_decision": "The ADR scheme decided",
    "accept_decision": "The customer accepted the scheme's decision",
    "complete_remedy": "Remedy done",
    "withdraw": "Withdrawn by the customer",
    "convert_to_complaint": "Made a complaint",
    "case_merged": "A duplicate was merged into this case",
    "merged_into": "Merged into another case",
    "case_opened": "Case opened",
    "obligation_breached": "A promise was missed",
    "call_logged": "Call logged",
    "note_added": "Internal note",
    "compensation_recorded": "Compensation recorded",
    "compensation_applied": "Compensation applied to an invoice",
    "message_delivered": "Message delivered",
    "message_failed": "Message failed",
    "message_received": "Message received",
    "message_sent": "Message written to the customer",
    "case_link_sent": "Case link sent",
}


def _who(label: str, names: dict[str, str]) -> str:
    if label.startswith("user:"):
        return names.get(label, "A member of staff")
    if label.startswith("customer"):
        return "The customer"
    return "Amends" if label == "worker" else label


def _detail(data: dict[str, Any]) -> str:
    keep = (
        "reason", "proposal", "final_position", "final_offer", "text", "summary", "by",
        "how", "channel", "interval", "outcome", "remedies", "scheme_reference", "trigger",
        "obligation", "direction", "level",
    )  # fmt: skip
    parts = [f"{k.replace('_', ' ')}: {data[k]}" for k in keep if data.get(k) not in (None, "")]
    return "; ".join(str(p) for p in parts)[:600]


def _timeline(case: Case) -> list[Entry]:
    """Events, messages out and in, of this case and of the duplicates merged into it."""
    return _entries(case, [case.pk, *merged_ids(case)])


def merged_ids(case: Case) -> list[int]:
    """Every case merged into this one, and into those, down a chain of merges."""
    found: list[int] = []
    level = [case.pk]
    for _ in range(20):  # merges join open cases only, so a chain is short and never a loop
        level = list(Case.objects.filter(merged_into__in=level).values_list("pk", flat=True))
        if not level:
            break
        found += level
    return found


def _entries(case: Case, ids: list[int]) -> list[Entry]:
    users = {
        f"user:{m.user_id}": (m.user.get_full_name() or m.user.get_username())
        for m in StaffMember.objects.filter(provider_id=case.provider_id).select_related("user")
    }
    entries: list[Entry] = []
    refs = dict(Case.objects.filter(pk__in=ids).values_list("pk", "reference"))
    for event in Event.objects.filter(case_id__in=ids).order_by("sequence"):
        if event.kind in ("message_delivered",):
            continue  # shown on the message itself
        what = EVENT_WORDS.get(event.kind) or event.kind.replace("_", " ").capitalize()
        if "to" in event.data and event.data.get("from") != event.data.get("to"):
            state = STATE_LABELS.get(event.data["to"], str(event.data["to"]))
            if state.lower() != what.lower():  # "Acknowledged" says it already
                what = f"{what} (now: {state.lower()})"
        if event.case_id != case.pk:  # from a duplicate merged into this case
            what = f"{refs.get(event.case_id or 0, '')}: {what}"
        entries.append(
            Entry(
                event.at,
                short_moment(event.at),
                what,
                _detail(event.data),
                _who(event.actor, users),
            )
        )
    for message in OutboxMessage.objects.filter(case_id__in=ids).order_by("created_at", "pk"):
        if message.audience == "staff":
            what = f"To staff: {message.get_kind_display()}"
        else:
            what = f"Sent to the customer ({message.get_channel_display()}): {message.subject}"
        status = message.get_status_display()
        if message.sent_at is not None:
            status = f"{status} {short_moment(message.sent_at)}"
        entries.append(
            Entry(message.created_at, short_moment(message.created_at), what, status, "Amends")
        )
    for inbound in InboundMessage.objects.filter(case_id__in=ids).order_by("arrived_at", "pk"):
        at = inbound.arrived_at
        entries.append(
            Entry(
                at,
                short_moment(at),
                f"Email from the customer: {inbound.subject}",
                inbound.get_status_display(),
                "The customer",
                reverse("console:mail_raw", args=[inbound.pk]),
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries


def _case_context(request: HttpRequest, case: Case, **extra: Any) -> dict[str, Any]:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    allowed = case_actions_for_staff(request.user, case)
    offered = forms.offered(case, allowed, actor.may)
    handlers = list(
        StaffMember.objects.filter(
            provider_id=case.provider_id, role__in=HANDLING_ROLES, user__is_active=True
        )
        .select_related("user")
        .order_by("user__username")
    )
    error = extra.get("error")
    if error and error["form"] in forms.FORMS and all(f.key != error["form"] for f in offered):
        # The form that was refused stays on the page with what was typed and why.
        offered.insert(0, forms.FORMS[error["form"]])
    customer = case.customer
    duplicates = list(
        Case.objects.filter(customer_id=case.customer_id, state__in=OPEN_STATE_VALUES)
        .exclude(pk=case.pk)
        .order_by("first_received_at")
    )
    if not duplicates:
        offered = [f for f in offered if f.key != "merge"]
    merged = list(Case.objects.filter(pk__in=merged_ids(case)).order_by("first_received_at"))
    return {
        "duplicates": duplicates,
        "merged": merged,
        "nav": "queues",
        "case": case,
        "customer": customer,
        "needs": [n.replace("_", " ") for n in (customer.access_needs or [])],
        "state_label": State(case.state).label,
        "clocks": _clocks(case, now),
        "timeline": _timeline(case),
        "forms": offered,
        "handlers": handlers,
        "posted": {},
        "error": None,
        **extra,
    }


@staff_view(Work.VIEW_CASES)
def case_page(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case(request, reference)
    return render(request, "console/case.html", _case_context(request, case))


@staff_view(Work.VIEW_CASES)
def case_act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    case = _case(request, reference)
    if request.method != "POST":
        return redirect("console:case", reference=case.reference)
    form = forms.FORMS.get(action)
    if form is None:
        raise Http404("No such action.")
    data = request.POST
    try:
        # The role first: a role that may not do this is told so whatever it typed.
        request.actor.require(form.work or Action(form.key))  # type: ignore[attr-defined]
        version = forms.version_of(data)
        arguments = forms.arguments(form, data)
        form.service(
            case_id=case.pk,
            actor=request.actor,  # type: ignore[attr-defined]
            now=timezone.now(),
            expected_version=version,
            **arguments,
        )
    except CaseError as refused:
        status = {
            ErrorCode.CONFLICT: 409,
            ErrorCode.FORBIDDEN: 403,
            ErrorCode.REFUSED: 409,
            ErrorCode.NOT_FOUND: 404,
        }.get(refused.code, 400)  # invalid: 400, the form is shown again with the field
        case.refresh_from_db()
        context = _case_context(
            request,
            case,
            error={"form": form.key, "message": str(refused), "field": refused.field or ""},
            posted={form.key: {k: data.get(k, "") for k in data}},
        )
        return render(request, "console/case.html", context, status=status)
    messages.success(request, f"{form.title}: done.")
    return redirect("console:case", reference=case.reference)


# --------------------------------------------------------------------------- a new case

NEW_CASE_CHANNELS = (
    ("phone", "A phone call"),
    ("post", "A letter"),
    ("email", "An email"),
    ("textphone", "Textphone or Relay UK"),
    ("account_manager", "The account manager"),
    ("web_form", "The web form"),
)


def _code_in_force(provider: Provider) -> Code | None:
    from amends.providers.services import code_version_in_force

    today = timezone.now().astimezone(LONDON).date()
    version = code_version_in_force(provider=provider, on=today)
    return code_of(version, provider)[0] if version is not None else None


def _new_case_context(provider: Provider, code: Code | None, **extra: Any) -> dict[str, Any]:
    from amends.cases.models import AccessNeed, PreferredContact
    from amends.domain.codes import CaseKind

    now = timezone.now()
    kinds = [k for k in CaseKind if code is None or code.case_kind(k) is not None]
    return {
        "nav": "new",
        "provider": provider,
        "kinds": [(k.value, k.label) for k in kinds],
        "channels": NEW_CASE_CHANNELS,
        "contacts": PreferredContact.choices,
        "needs": AccessNeed.choices,
        "collect": [item.label for item in code.intake.collect] if code else [],
        "identity_checks": list(code.intake.identity_checks) if code else [],
        "now_local": now.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M"),
        "data": {},
        "errors": {},
        "matches": [],
        "find": "",
        "found": [],
        **extra,
    }


@staff_view(Work.OPEN_CASE)
def customer_lookup(request: HttpRequest) -> HttpResponse:
    """The customers who may be the one on the phone, as the adviser types (htmx swaps this
    list into the new case form; without JavaScript the form's "Find" button reloads it)."""
    find = request.GET.get("find", "")
    matches = customer_search(request.actor, find)  # type: ignore[attr-defined]
    return render(
        request, "console/_customer_matches.html", {"matches": matches, "find": find.strip()}
    )


@staff_view(Work.OPEN_CASE)
def case_new(request: HttpRequest) -> HttpResponse:
    """A case from a call or a letter: who, what, how it came and when, and optionally
    resolved at first contact (proposal and the customer's acceptance recorded)."""
    from amends.cases import actions

    provider = _provider(request)
    code = _code_in_force(provider)  # its collect list and identity check, read once
    if request.method != "POST":
        find = request.GET.get("find", "")
        found = customer_search(request.actor, find) if find else []  # type: ignore[attr-defined]
        return render(
            request,
            "console/case_new.html",
            _new_case_context(provider, code, find=find.strip(), found=found),
        )
    data = request.POST
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    existing = data.get("customer", "")
    if existing == "":
        matches = customer_duplicates(
            request.actor,  # type: ignore[attr-defined]
            email=data.get("email", ""),
            account_number=data.get("account_number", ""),
            phone=data.get("phone", ""),
        )
        if matches:
            # One customer is not entered twice: say who may already be here, and ask.
            return render(
                request,
                "console/case_new.html",
                _new_case_context(provider, code, data=data, matches=matches),
                status=400,
            )
    try:
        with transaction.atomic():  # a refused case leaves no customer behind
            case = _open_from_form(provider, actor, data, existing, now)
    except CaseError as refused:
        return render(
            request,
            "console/case_new.html",
            _new_case_context(
                provider, code, data=data, errors={refused.field or "summary": str(refused)}
            ),
            status=400,
        )
    checks = list(code.intake.identity_checks) if code is not None else []
    if data.get("identity_checked") == "on" and checks:
        actions.case_add_note(
            case_id=case.pk,
            actor=actor,
            text="Identity checked as our code asks: " + " ".join(checks),
            now=now,
        )
    if data.get("resolved_first_contact") == "on":
        try:
            actions.case_propose_resolution(
                case_id=case.pk, actor=actor, proposal=data.get("proposal", ""), now=now
            )
            actions.case_accept_resolution(
                case_id=case.pk,
                actor=actor,
                by=data.get("accepted_by", "") or case.customer.contact_name,
                how=data.get("accepted_how", "phone"),
                now=now,
            )
        except CaseError as refused:
            messages.error(request, f"The case is open, but it was not resolved: {refused}")
            return redirect("console:case", reference=case.reference)
        messages.success(request, f"{case.reference} opened and resolved at first contact.")
    else:
        messages.success(request, f"{case.reference} opened.")
    return redirect("console:case", reference=case.reference)


def _open_from_form(
    provider: Provider, actor: Any, data: Any, existing: str, now: datetime
) -> Case:
    from amends.cases import actions

    raw = data.get("first_received_at", "")
    received = forms._datetime(raw, "first_received_at") if raw else now
    customer: int | actions.NewCustomer
    if existing not in ("", "new"):
        customer = forms.record_id(existing, "customer")
    else:
        customer = actions.NewCustomer(
            contact_name=data.get("contact_name", ""),
            business_name=data.get("business_name", ""),
            account_number=data.get("account_number", ""),
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            postal_address=data.get("postal_address", ""),
            preferred_contact=data.get("preferred_contact", "email"),
            access_needs=tuple(data.getlist("access_needs")),
        )
    return actions.case_intake(
        provider=provider,
        actor=actor,
        customer=customer,
        kind=data.get("kind", ""),
        channel=data.get("channel", ""),
        first_received_at=received or now,
        first_received_note=data.get("first_received_note", ""),
        summary=data.get("summary", ""),
        description=data.get("description", ""),
        now=now,
    )
