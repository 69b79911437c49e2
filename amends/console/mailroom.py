"""The mailroom: letters to post, calls to make, mail that needs a person, messages that were
not delivered.

Thin views: each reads its form, calls one service (``amends.comms.printqueue``,
``amends.cases.actions``, ``amends.comms.intake``, ``amends.comms.staffmail``) and shows what
it said. A refusal (:class:`~amends.cases.errors.CaseError`) re-renders the page with an error
summary linked to the field; another provider's letter or message is not found (404), never
forbidden. Success redirects (POST/redirect/GET) with a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from amends.cases.actions import case_message_delivered
from amends.cases.actors import Actor
from amends.cases.errors import CaseError, ErrorCode
from amends.comms import staffmail
from amends.comms.intake import inbound_open_case
from amends.comms.models import OutboxKind, OutboxStatus
from amends.comms.printqueue import (
    call_script,
    call_tasks_for_staff,
    letter_mark_posted,
    print_queue_for_staff,
)
from amends.console.access import forbidden, staff_view
from amends.domain.access import Work
from amends.domain.codes import CaseKind

LONDON = ZoneInfo("Europe/London")
#: The kinds of case a person may open from an email (a code comment is not an email's).
OPEN_KINDS = [
    (kind.value, kind.label)
    for kind in (
        CaseKind.COMPLAINT,
        CaseKind.ACCOUNT_QUERY,
        CaseKind.SUPPORT_REQUEST,
        CaseKind.ABUSE_REPORT,
    )
]


@dataclass(frozen=True)
class Problem:
    """What the error summary says, and the id of the field it links to."""

    message: str
    anchor: str
    #: The letter, call or message the problem is about (its form shows the error).
    item: int


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _today(now: datetime) -> date:
    return now.astimezone(LONDON).date()


def _date(value: str, *, field: str, label: str) -> date:
    text = value.strip()
    if not text:
        raise CaseError(f"Give the date {label}.", field=field, code=ErrorCode.INVALID)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CaseError(
            f"Give the date {label} as a real date, for example 2026-11-27.",
            field=field,
            code=ErrorCode.INVALID,
        ) from None


def _time(value: str, *, field: str) -> time | None:
    text = value.strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise CaseError(
            "Give the time of the call in hours and minutes, for example 14:30.",
            field=field,
            code=ErrorCode.INVALID,
        ) from None


def _refused(refused: CaseError) -> int:
    """The status a refusal is shown with; not found is a 404 page, never the form again."""
    if refused.code is ErrorCode.NOT_FOUND:
        raise Http404(str(refused))
    return 403 if refused.code is ErrorCode.FORBIDDEN else 400


# --------------------------------------------------------------------------- letters


def _print_queue_page(
    request: HttpRequest,
    *,
    problem: Problem | None = None,
    posted_on: str = "",
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    now = timezone.now()
    letters = [
        {
            "message": m,
            "kind": OutboxKind(m.kind).label,
            "large_print": "large_print" in (m.formats or []),
        }
        for m in print_queue_for_staff(request.user)[:500]
    ]
    return render(
        request,
        "console/mailroom/print_queue.html",
        {
            "nav": "post",
            "letters": letters,
            "today": _today(now).isoformat(),
            "may_post": actor.may(Work.LOG_CALL),
            "problem": problem,
            "posted_on": posted_on,
        },
        status=status,
    )


@staff_view(Work.VIEW_CASES)
@require_GET
def print_queue(request: HttpRequest) -> HttpResponse:
    return _print_queue_page(request)


@staff_view(Work.VIEW_CASES)
@require_POST
def letter_posted(request: HttpRequest, outbox_id: int) -> HttpResponse:
    value = request.POST.get("posted_on", "")
    try:
        posted_on = _date(value, field="posted_on", label="the letter was posted")
        message = letter_mark_posted(
            outbox_id=outbox_id, actor=_actor(request), now=timezone.now(), posted_on=posted_on
        )
    except CaseError as refused:
        status = _refused(refused)
        problem = Problem(str(refused), f"posted_on-{outbox_id}", outbox_id)
        return _print_queue_page(request, problem=problem, posted_on=value, status=status)
    reference = message.case.reference if message.case is not None else ""
    day = f"{posted_on.day} {posted_on:%B %Y}"
    messages.success(request, f"The letter for case {reference} is marked as posted on {day}.")
    return redirect("console:print_queue")


@staff_view(Work.VIEW_CASES)
@require_GET
def letter_pdf(request: HttpRequest, outbox_id: int) -> HttpResponse:
    try:
        message = staffmail.letter_document_for_staff(
            _actor(request), outbox_id=outbox_id, now=timezone.now()
        )
    except CaseError as refused:
        if refused.code is ErrorCode.NOT_FOUND:
            raise Http404(str(refused)) from None
        return forbidden(request, str(refused))
    reference = message.case.reference if message.case is not None else "letter"
    response = FileResponse(
        message.document.open("rb"),
        content_type="application/pdf",
        filename=f"{reference}-{message.kind}-{message.pk}.pdf",
    )
    # staff_view's views are typed as returning HttpResponse; a streamed file is served the same.
    return cast(HttpResponse, response)


# --------------------------------------------------------------------------- calls


def _call_tasks_page(
    request: HttpRequest,
    *,
    problem: Problem | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    now = timezone.now()
    calls = [
        {
            "message": m,
            "kind": OutboxKind(m.kind).label,
            "number": m.recipient_address.strip(),
            "script": call_script(m),
        }
        for m in call_tasks_for_staff(request.user)[:200]
    ]
    return render(
        request,
        "console/mailroom/call_tasks.html",
        {
            "nav": "calls",
            "calls": calls,
            "today": _today(now).isoformat(),
            "may_call": actor.may(Work.LOG_CALL),
            "problem": problem,
            "values": values or {},
        },
        status=status,
    )


@staff_view(Work.VIEW_CASES)
@require_GET
def call_tasks(request: HttpRequest) -> HttpResponse:
    return _call_tasks_page(request)


@staff_view(Work.VIEW_CASES)
@require_POST
def call_made(request: HttpRequest, outbox_id: int) -> HttpResponse:
    values = {
        "called_on": request.POST.get("called_on", ""),
        "called_at": request.POST.get("called_at", ""),
    }
    now = timezone.now()
    try:
        day = _date(values["called_on"], field="called_on", label="of the call")
        clock = _time(values["called_at"], field="called_at")
        if clock is None and day != _today(now):
            raise CaseError(
                "Give the time of a call made on an earlier day.",
                field="called_at",
                code=ErrorCode.INVALID,
            )
        at = None if clock is None else datetime.combine(day, clock, tzinfo=LONDON)
        case = case_message_delivered(outbox_id=outbox_id, actor=_actor(request), now=now, at=at)
    except CaseError as refused:
        status = _refused(refused)
        field = refused.field if refused.field in ("called_on", "called_at") else "called_on"
        if refused.field == "at":
            field = "called_at" if values["called_at"].strip() else "called_on"
        problem = Problem(str(refused), f"{field}-{outbox_id}", outbox_id)
        return _call_tasks_page(request, problem=problem, values=values, status=status)
    messages.success(request, f"The call for case {case.reference} is recorded as made.")
    return redirect("console:call_tasks")


# --------------------------------------------------------------------------- mail


def _mail_page(
    request: HttpRequest,
    *,
    problem: Problem | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    now = timezone.now()
    return render(
        request,
        "console/mailroom/mail.html",
        {
            "nav": "mail",
            "quarantined": list(staffmail.inbound_quarantined_for_staff(actor)[:200]),
            "recognised": list(staffmail.inbound_recognised_for_staff(actor, now=now)[:500]),
            "days": staffmail.RECOGNISED_DAYS,
            "kinds": OPEN_KINDS,
            "may_open": actor.may(Work.OPEN_CASE),
            "problem": problem,
            "values": values or {},
        },
        status=status,
    )


@staff_view(Work.VIEW_CASES)
@require_GET
def mail(request: HttpRequest) -> HttpResponse:
    return _mail_page(request)


@staff_view(Work.VIEW_CASES)
@require_GET
def mail_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    try:
        raw = staffmail.inbound_raw_for_staff(_actor(request), inbound_id=inbound_id)
    except CaseError as refused:
        raise Http404(str(refused)) from None
    response = HttpResponse(raw.data, content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="email-{raw.inbound_id}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@staff_view(Work.VIEW_CASES)
@require_POST
def mail_open_case(request: HttpRequest, inbound_id: int) -> HttpResponse:
    actor = _actor(request)
    values = {
        "kind": request.POST.get("kind", ""),
        "reason": request.POST.get("reason", ""),
        "account_number": request.POST.get("account_number", ""),
    }
    try:
        if values["kind"] not in {k for k, _label in OPEN_KINDS}:
            raise CaseError("Choose what kind of case to open.", field="kind")
        customer_id = staffmail.customer_id_for_account(
            actor, account_number=values["account_number"], field="account_number"
        )
        case = inbound_open_case(
            inbound_id=inbound_id,
            actor=actor,
            kind=CaseKind(values["kind"]),
            now=timezone.now(),
            reason=values["reason"],
            customer_id=customer_id,
        )
    except CaseError as refused:
        status = _refused(refused)
        field = {"customer_id": "account_number"}.get(refused.field or "", refused.field)
        if field not in ("kind", "reason", "account_number"):
            field = "reason"
        problem = Problem(str(refused), f"{field}-{inbound_id}", inbound_id)
        return _mail_page(request, problem=problem, values=values, status=status)
    messages.success(request, f"Case {case.reference} is open with the email on it.")
    return redirect("console:case", case.reference)


# --------------------------------------------------------------------------- not delivered


def _failed_page(
    request: HttpRequest, *, problem: Problem | None = None, status: int = 200
) -> HttpResponse:
    actor = _actor(request)
    rows: list[dict[str, Any]] = [
        {
            "message": m,
            "kind": OutboxKind(m.kind).label,
            "dead": m.status == OutboxStatus.DEAD,
        }
        for m in staffmail.outbox_failed_for_staff(actor)[:500]
    ]
    return render(
        request,
        "console/mailroom/failed.html",
        {
            "nav": "failed",
            "rows": rows,
            "may_retry": actor.may(Work.LOG_CALL),
            "problem": problem,
        },
        status=status,
    )


@staff_view(Work.VIEW_CASES)
@require_GET
def failed_messages(request: HttpRequest) -> HttpResponse:
    return _failed_page(request)


@staff_view(Work.VIEW_CASES)
@require_POST
def outbox_retry(request: HttpRequest, outbox_id: int) -> HttpResponse:
    try:
        message = staffmail.outbox_retry(
            outbox_id=outbox_id, actor=_actor(request), now=timezone.now()
        )
    except CaseError as refused:
        status = _refused(refused)
        problem = Problem(str(refused), f"retry-{outbox_id}", outbox_id)
        return _failed_page(request, problem=problem, status=status)
    about = f" for case {message.case.reference}" if message.case is not None else ""
    messages.success(request, f"The message{about} is queued to be sent again.")
    return redirect("console:failed_messages")


urlpatterns: list[URLPattern] = [
    path("post/", print_queue, name="print_queue"),
    path("post/<int:outbox_id>/letter.pdf", letter_pdf, name="letter_pdf"),
    path("post/<int:outbox_id>/posted/", letter_posted, name="letter_posted"),
    path("calls/", call_tasks, name="call_tasks"),
    path("calls/<int:outbox_id>/made/", call_made, name="call_made"),
    path("mail/", mail, name="mail"),
    path("mail/<int:inbound_id>/email.eml", mail_raw, name="mail_raw"),
    path("mail/<int:inbound_id>/open-case/", mail_open_case, name="mail_open_case"),
    path("failed/", failed_messages, name="failed_messages"),
    path("failed/<int:outbox_id>/retry/", outbox_retry, name="outbox_retry"),
]
