"""The staff console's case pages: queues and search, a case, its actions, a new case.

Thin views over ``amends.cases.queues``, ``amends.cases.selectors`` and the typed services of
``amends.cases.actions``: a view reads the form, calls one service, and shows what it said.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from amends.cases.models import Case
from amends.cases.queues import QUEUE_NAMES, QUEUES, case_search, queue_cases, queue_counts
from amends.console.access import staff_view
from amends.domain.access import Work
from amends.providers.models import Provider


def _provider(request: HttpRequest) -> Provider:
    return Provider.objects.get(pk=request.actor.provider_id)  # type: ignore[attr-defined]


@staff_view(Work.VIEW_CASES)
def queues(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    now = timezone.now()
    provider = _provider(request)
    name = request.GET.get("queue") or "mine"
    if name not in QUEUE_NAMES:
        name = "mine"
    q = request.GET.get("q", "").strip()
    search = case_search(actor, q) if q else None
    rows = list(queue_cases(actor, name, now=now, provider=provider)[:200]) if not q else []
    return render(
        request,
        "console/queues.html",
        {
            "nav": "queues",
            "provider": provider,
            "queues": QUEUES,
            "counts": queue_counts(actor, now=now, provider=provider),
            "current": next(x for x in QUEUES if x.name == name),
            "rows": rows,
            "q": q,
            "search": search,
            "now": now,
        },
    )


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


@staff_view(Work.VIEW_CASES)
def case_page(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case(request, reference)
    return render(request, "console/case.html", {"case": case, "nav": "queues"})


@staff_view(Work.VIEW_CASES)
def case_act(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    raise Http404("No such action.")


@staff_view(Work.OPEN_CASE)
def case_new(request: HttpRequest) -> HttpResponse:
    return render(request, "console/case_new.html", {"nav": "new"})
