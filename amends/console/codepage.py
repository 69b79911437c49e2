"""The provider's Code of Practice in the staff console: the version in force with its
findings, the published copy (HTML and PDF), the history of versions, and a new version
(checked first, storing nothing; then activated with its effective date).

Thin views over ``amends.codes.staff``: each reads its form, calls one service and shows what
it said. Reading needs ``Work.VIEW_CASES``; uploading needs ``Work.MANAGE_CODE`` (the page
turns others away, and the service refuses them too). Another provider's version is not found
(404). A refusal re-renders the form with an error summary linked to the field (400), keeping
what was typed; a successful activation redirects to the code page with a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from amends.cases.actors import Actor
from amends.cases.errors import CaseError, ErrorCode
from amends.codes.render import version_label
from amends.codes.staff import (
    MAX_CODE_CHARS,
    CandidateCheck,
    CodeRejected,
    VersionFindings,
    code_candidate_activate,
    code_candidate_check,
    code_version_get_for_staff,
    code_version_in_force_for_staff,
    code_version_list_for_staff,
    code_version_render_for_staff,
    today_in_london,
)
from amends.console.access import forbidden, staff_view
from amends.domain.access import Work
from amends.domain.checks import CHECK_RULES, Finding
from amends.providers.models import CodeVersion


@dataclass(frozen=True)
class Problem:
    """One line of the error summary: what, the id of the field it links to, and details (the
    loader's problems, each with the path to the bad value)."""

    message: str
    anchor: str
    details: tuple[str, ...] = field(default_factory=tuple)


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _rows(findings: tuple[Finding, ...]) -> list[dict[str, Any]]:
    return [
        {
            "finding": finding,
            "title": CHECK_RULES[finding.rule_id].title if finding.rule_id in CHECK_RULES else "",
        }
        for finding in findings
    ]


def _findings_context(found: VersionFindings | CandidateCheck) -> dict[str, Any]:
    return {
        "errors": _rows(found.errors),
        "warnings": _rows(found.warnings),
        "checked_on": found.on,
    }


def _version_context(found: VersionFindings) -> dict[str, Any]:
    version = found.version
    return {
        "version": version,
        "version_label": version_label(version.version),
        "activated_by": _who(version),
        **_findings_context(found),
    }


def _who(version: CodeVersion) -> str:
    user = version.activated_by
    if user is None:
        return "Not recorded (set up with Amends)"
    return user.get_full_name() or user.get_username()


# --------------------------------------------------------------------------- reading


@staff_view(Work.VIEW_CASES)
@require_GET
def code_page(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    now = timezone.now()
    found = code_version_in_force_for_staff(actor=actor, now=now)
    history = [
        {
            "entry": entry,
            "label": version_label(entry.version.version),
            "activated_by": _who(entry.version),
        }
        for entry in code_version_list_for_staff(actor=actor, now=now)
    ]
    context: dict[str, Any] = {
        "nav": "code",
        "history": history,
        "may_manage": actor.may(Work.MANAGE_CODE),
        "today": today_in_london(now),
    }
    if found is not None:
        context.update(_version_context(found))
    return render(request, "console/code/index.html", context)


@staff_view(Work.VIEW_CASES)
@require_GET
def code_version(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    now = timezone.now()
    try:
        found = code_version_get_for_staff(actor=actor, pk=pk, now=now)
    except CaseError as refused:
        raise Http404(refused.message) from None
    today = today_in_london(now)
    in_force = code_version_in_force_for_staff(actor=actor, now=now)
    context = {
        "nav": "code",
        "in_force": in_force is not None and in_force.version.pk == found.version.pk,
        "future": found.version.effective_from > today,
        **_version_context(found),
    }
    return render(request, "console/code/version.html", context)


def _version_param(request: HttpRequest) -> int | None:
    value = request.GET.get("version", "")
    if not value:
        return None
    if not value.isdigit():
        raise Http404("No such version.")
    return int(value)


def _published(request: HttpRequest, fmt: str) -> bytes:
    try:
        return code_version_render_for_staff(
            actor=_actor(request),
            fmt="pdf" if fmt == "pdf" else "html",
            now=timezone.now(),
            pk=_version_param(request),
        )
    except CaseError as refused:
        if refused.code is ErrorCode.NOT_FOUND:
            raise Http404(refused.message) from None
        raise


@csp_update({"style-src": [UNSAFE_INLINE]})  # the renderer's own self-contained stylesheet
@staff_view(Work.VIEW_CASES)
@require_GET
def code_html(request: HttpRequest) -> HttpResponse:
    """The published code as its own document (the renderer's self-contained HTML)."""
    return HttpResponse(_published(request, "html"), content_type="text/html; charset=utf-8")


@staff_view(Work.VIEW_CASES)
@require_GET
def code_pdf(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_published(request, "pdf"), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="code-of-practice.pdf"'
    return response


# --------------------------------------------------------------------------- a new version


def _uploaded_text(request: HttpRequest) -> tuple[str, str] | None:
    """The text and name of an uploaded file, or None when no file was chosen."""
    upload = request.FILES.get("file")
    if upload is None or not upload.size:
        return None
    name = (upload.name or "The file").replace("\\", "/").rsplit("/", 1)[-1][:100]
    if upload.size > MAX_CODE_CHARS * 4:
        raise CaseError(
            f"{name} is too large for a code of practice.", field="file", code=ErrorCode.INVALID
        )
    data = upload.read()
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as error:
        raise CaseError(
            f"{name} cannot be read: byte {error.start} is not UTF-8 text. Save it as UTF-8.",
            field="file",
            code=ErrorCode.INVALID,
        ) from None


def _problem(refused: CaseError) -> Problem:
    anchor = refused.field or "content"
    if isinstance(refused, CodeRejected):
        return Problem(f"{refused.headline}:", anchor, tuple(str(p) for p in refused.problems))
    return Problem(refused.message, anchor)


def _new_page(
    request: HttpRequest,
    *,
    content: str = "",
    checked: CandidateCheck | None = None,
    problems: list[Problem] | None = None,
    effective_from: str = "",
) -> HttpResponse:
    today = today_in_london(timezone.now())
    problems = list(dict.fromkeys(problems or []))
    if not effective_from and checked is not None:
        own = checked.code.meta.effective_from
        effective_from = (own if own is not None and own > today else today).isoformat()
    by_field = {problem.anchor: problem for problem in reversed(problems)}
    context: dict[str, Any] = {
        "nav": "code",
        "content": content,
        "checked": checked,
        "problems": problems,
        "content_problem": by_field.get("content"),
        "file_problem": by_field.get("file"),
        "date_problem": by_field.get("effective_from"),
        "effective_from": effective_from or today.isoformat(),
        "today": today,
    }
    if checked is not None:
        context.update(_findings_context(checked))
        context["code_version_label"] = (
            version_label(checked.code.meta.version) if checked.code.meta.version else ""
        )
    return render(request, "console/code/new.html", context, status=400 if problems else 200)


def _effective_date(text: str) -> date:
    value = text.strip()
    if not value:
        raise CaseError(
            "Give the date the new version takes effect.",
            field="effective_from",
            code=ErrorCode.INVALID,
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CaseError(
            "Give the date it takes effect as a real date, for example 2026-12-01.",
            field="effective_from",
            code=ErrorCode.INVALID,
        ) from None


@staff_view(Work.MANAGE_CODE)
@require_http_methods(["GET", "POST"])
def code_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _new_page(request)
    actor = _actor(request)
    now = timezone.now()
    problems: list[Problem] = []
    content = request.POST.get("content", "")
    filename = "The code"
    effective_text = request.POST.get("effective_from", "")
    uploaded: tuple[str, str] | None = None
    try:
        uploaded = _uploaded_text(request)
        if uploaded is not None:
            content, filename = uploaded
    except CaseError as refused:
        problems.append(_problem(refused))

    effective: date | None = None
    if request.POST.get("action") == "activate" and not problems:
        try:
            effective = _effective_date(effective_text)
            version = code_candidate_activate(
                actor=actor,
                content=content,
                effective_from=effective,
                checked_sha256=request.POST.get("checked_sha256", ""),
                now=now,
            )
        except CaseError as refused:
            if refused.code is ErrorCode.FORBIDDEN:
                return forbidden(request, refused.message)
            problems.append(_problem(refused))
        else:
            label = version_label(version.version)
            if version.effective_from <= today_in_london(now):
                when = "it is in force from today"
            else:
                when = f"it takes effect on {_long_date(version.effective_from)}"
            messages.success(request, f"{label} of the code is activated: {when}.")
            return redirect("console:code")

    # Checked again after a refused activation, under the rules of the date chosen, so that
    # the findings beside the form are those that refused it.
    checked: CandidateCheck | None = None
    if not any(p.anchor == "file" for p in problems):
        today = today_in_london(now)
        try:
            checked = code_candidate_check(
                actor=actor,
                content=content,
                now=now,
                on=max(effective, today) if effective is not None else None,
                filename=filename,
                field="file" if uploaded is not None else "content",
            )
        except CaseError as refused:
            if refused.code is ErrorCode.FORBIDDEN:
                return forbidden(request, refused.message)
            problems.append(_problem(refused))
    return _new_page(
        request,
        content=content,
        checked=checked,
        problems=problems,
        effective_from=effective_text,
    )


urlpatterns: list[URLPattern] = [
    path("code/", code_page, name="code"),
    path("code/published.html", code_html, name="code_html"),
    path("code/published.pdf", code_pdf, name="code_pdf"),
    path("code/versions/<int:pk>/", code_version, name="code_version"),
    path("code/new/", code_new, name="code_new"),
]
