"""API and webhooks in the staff console: a provider's API tokens and its webhook endpoints,
each endpoint's delivery log with replay.

Thin views over ``amends.providers.tokens`` (``Work.MANAGE_API``) and
``amends.comms.webhooks`` (``Work.MANAGE_WEBHOOKS``): each reads its form, calls one service
and shows what it said. Another provider's token, endpoint or delivery is not found (404); a
role that may not manage them is turned away by the page and by the service (403). A refusal
re-renders the form with an error summary linked to the field (400), keeping what was typed;
a success redirects (POST/redirect/GET) with a message.

**Shown once.** A new token exists in clear only in the request that made it: it is kept in
the session until the page after the redirect shows it, then dropped (that page is never
cached). Only the token's SHA-256 is stored. An endpoint's signing secret is on its row (it
signs every delivery) and is shown on the page after it is made, once. Neither is ever logged
or put in an address.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amends.cases.actors import Actor
from amends.cases.errors import CaseError, ErrorCode
from amends.comms.models import WebhookDelivery, WebhookEndpoint, WebhookStatus, WebhookType
from amends.comms.webhooks import (
    RETRY_WINDOW,
    SCHEDULE,
    WebhookError,
    timeout,
    webhook_delivery_list,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_get,
    webhook_endpoint_list,
    webhook_endpoint_update,
)
from amends.console.access import View, forbidden, staff_view
from amends.domain.access import ApiScope, Work
from amends.providers.models import ApiToken
from amends.providers.tokens import api_token_create, api_token_list, api_token_revoke

#: The API's own documentation (OpenAPI), served by ``amends.api``.
API_DOCS = "/api/v1/docs"
#: Where the Standard Webhooks specification and its receivers' libraries are.
STANDARD_WEBHOOKS = "https://www.standardwebhooks.com/"

#: Session keys: a new token until it is shown, the endpoint whose secret is to be shown.
NEW_TOKEN = "console_api_new_token"
NEW_ENDPOINT = "console_api_new_endpoint"

#: Deliveries on a page of the log; with a status filter, how many are read (in the
#: service's pages) looking for a page of them.
PAGE = 50
SCAN_CHUNK = 200
SCAN_CHUNKS = 5

SCOPES = [
    (
        ApiScope.READ.value,
        "Read",
        "Read cases, their history and the figures, and export them.",
    ),
    (
        ApiScope.WRITE.value,
        "Write",
        "Open cases and act on them as a manager may (calls, notes, compensation, merging), "
        "and mark compensation applied to an invoice. Reading needs Read as well.",
    ),
    (
        ApiScope.WEBHOOKS.value,
        "Webhooks",
        "Manage the webhook endpoints and read their delivery logs.",
    ),
]
SCOPE_LABELS = {value: label for value, label, _ in SCOPES}

TYPE_HINTS = {
    WebhookType.CASE_OPENED: "A case is opened, however it reached you.",
    WebhookType.CASE_STATE_CHANGED: "A case moves to another state.",
    WebhookType.CLOCK_BREACHED: "A promise of the code was not kept in time.",
    WebhookType.ADR_LETTER_ISSUED: "The ADR letter is issued.",
    WebhookType.MESSAGE_RECEIVED: "A message from the customer is received.",
    WebhookType.COMPENSATION_RECORDED: "Compensation is recorded.",
}
TYPES = [
    {
        "value": t.value,
        "label": t.label,
        "hint": TYPE_HINTS.get(t, ""),
        "id": "type-" + t.value.replace(".", "-").replace("_", "-"),
    }
    for t in WebhookType
]
TYPE_LABELS = dict(WebhookType.choices)
#: Where an error about a group of checkboxes links to: its first checkbox.
TYPES_ANCHOR = str(TYPES[0]["id"])
SCOPES_ANCHOR = "scope-" + SCOPES[0][0]
STATUSES = [(s.value, s.label) for s in WebhookStatus]


@dataclass(frozen=True)
class Problem:
    """One line of the error summary and the id of the field it links to."""

    message: str
    anchor: str


def _actor(request: HttpRequest) -> Actor:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    return actor


def _who(user: Any) -> str:
    if user is None:
        return "Not recorded"
    return str(user.get_full_name() or user.get_username())


def _spoken(delta: timedelta) -> str:
    """'5 seconds', '30 minutes', '1 day'."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{delta.total_seconds():g} seconds"


def _common(request: HttpRequest) -> dict[str, Any]:
    actor = _actor(request)
    return {
        "nav": "api",
        "may_tokens": actor.may(Work.MANAGE_API),
        "may_webhooks": actor.may(Work.MANAGE_WEBHOOKS),
        "api_docs": API_DOCS,
        "standard_webhooks": STANDARD_WEBHOOKS,
        # What the sender does, as the sender says (so that the explanation cannot drift).
        "answer_within": _spoken(timedelta(seconds=timeout())),
        "retries": ", ".join(_spoken(wait) for wait in SCHEDULE[:-1]),
        "retry_every": _spoken(SCHEDULE[-1]),
        "retry_window": _spoken(RETRY_WINDOW),
    }


def _refusals(view: View) -> View:
    """Refusals that are not about a form: not found is the 404 page (another provider's id
    too), forbidden the console's page (the services check the role as well as the page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except (CaseError, WebhookError) as refused:
            if refused.code == ErrorCode.NOT_FOUND:
                raise Http404(refused.message) from None
            if refused.code == ErrorCode.FORBIDDEN:
                return forbidden(request, refused.message)
            raise

    return wrapped


# --------------------------------------------------------------------------- tokens


def _token_rows(tokens: Iterable[ApiToken]) -> list[dict[str, Any]]:
    return [
        {
            "token": token,
            "scopes": [SCOPE_LABELS.get(s, s) for s in token.scopes],
            "created_by": _who(token.created_by),
            "revoked_by": _who(token.revoked_by),
        }
        for token in tokens
    ]


def _token_of(request: HttpRequest, token_id: int) -> ApiToken:
    """One of the provider's tokens (another provider's, or none: 404)."""
    for token in api_token_list(actor=_actor(request)):
        if token.pk == token_id:
            return token
    raise Http404("No such token.")


def _tokens_page(
    request: HttpRequest,
    *,
    problems: list[Problem] | None = None,
    name: str = "",
    chosen: Iterable[str] = (),
    status: int = 200,
) -> HttpResponse:
    problems = problems or []
    by_field = {p.anchor: p for p in problems}
    tokens = api_token_list(actor=_actor(request))
    context = {
        **_common(request),
        "live": _token_rows(t for t in tokens if t.revoked_at is None),
        "revoked": _token_rows(t for t in tokens if t.revoked_at is not None),
        "scopes": SCOPES,
        "problems": problems,
        "name_problem": by_field.get("name"),
        "scopes_problem": by_field.get(SCOPES_ANCHOR),
        "name": name,
        "chosen": set(chosen),
    }
    return render(request, "console/api/tokens.html", context, status=status)


@staff_view(Work.MANAGE_API)
@require_http_methods(["GET", "POST"])
@_refusals
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _tokens_page(request)
    name = request.POST.get("name", "")
    chosen = request.POST.getlist("scopes")
    try:
        token, raw = api_token_create(
            actor=_actor(request), name=name, scopes=chosen, now=timezone.now()
        )
    except CaseError as refused:
        if refused.code is not ErrorCode.INVALID:
            raise
        anchor = SCOPES_ANCHOR if refused.field == "scopes" else "name"
        return _tokens_page(
            request,
            problems=[Problem(refused.message, anchor)],
            name=name,
            chosen=chosen,
            status=400,
        )
    # Kept only until the next page shows it (then dropped): never in the address.
    request.session[NEW_TOKEN] = {"id": token.pk, "token": raw}
    return redirect("console:api_token_created", token_id=token.pk)


@never_cache
@staff_view(Work.MANAGE_API)
@require_GET
@_refusals
def token_created(request: HttpRequest, token_id: int) -> HttpResponse:
    """The new token, shown once: a second look finds it gone."""
    token = _token_of(request, token_id)
    raw = ""
    kept = request.session.get(NEW_TOKEN)
    if isinstance(kept, dict) and kept.get("id") == token.pk:
        raw = str(kept.get("token", ""))
        del request.session[NEW_TOKEN]
    context = {
        **_common(request),
        "token": token,
        "scopes": [SCOPE_LABELS.get(s, s) for s in token.scopes],
        "raw": raw,
    }
    return render(request, "console/api/token_created.html", context)


@staff_view(Work.MANAGE_API)
@require_http_methods(["GET", "POST"])
@_refusals
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """A page that asks first; revoking is the POST it makes."""
    if request.method != "POST":
        context = {**_common(request), "token": _token_of(request, token_id)}
        return render(request, "console/api/token_revoke.html", context)
    token = api_token_revoke(actor=_actor(request), token_id=token_id, now=timezone.now())
    messages.success(
        request,
        f"The token {token.name} ({token.prefix}…) is revoked: "
        "requests made with it are refused from now on.",
    )
    return redirect("console:api_tokens")


# --------------------------------------------------------------------------- endpoints


def _endpoint_problem(refused: WebhookError) -> Problem:
    field = refused.field or "url"
    return Problem(refused.message, TYPES_ANCHOR if field == "types" else field)


def _form_context(
    *, problems: list[Problem], url: str, description: str, chosen: Iterable[str]
) -> dict[str, Any]:
    by_field = {p.anchor: p for p in problems}
    return {
        "types": TYPES,
        "problems": problems,
        "url_problem": by_field.get("url"),
        "description_problem": by_field.get("description"),
        "types_problem": by_field.get(TYPES_ANCHOR),
        "url": url,
        "description": description,
        "chosen": set(chosen),
    }


def _endpoint_row(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "types": [TYPE_LABELS.get(t, t) for t in endpoint.types],
    }


def _webhooks_page(
    request: HttpRequest,
    *,
    problems: list[Problem] | None = None,
    url: str = "",
    description: str = "",
    chosen: Iterable[str] = (),
    status: int = 200,
) -> HttpResponse:
    endpoints = webhook_endpoint_list(actor=_actor(request))
    context = {
        **_common(request),
        "endpoints": [_endpoint_row(e) for e in endpoints],
        **_form_context(problems=problems or [], url=url, description=description, chosen=chosen),
    }
    return render(request, "console/api/webhooks.html", context, status=status)


@staff_view(Work.MANAGE_WEBHOOKS)
@require_http_methods(["GET", "POST"])
@_refusals
def webhooks(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _webhooks_page(request)
    url = request.POST.get("url", "")
    description = request.POST.get("description", "")
    chosen = request.POST.getlist("types")
    try:
        endpoint = webhook_endpoint_create(
            actor=_actor(request),
            url=url,
            types=chosen,
            description=description,
            now=timezone.now(),
        )
    except WebhookError as refused:
        if refused.code != ErrorCode.INVALID:
            raise
        return _webhooks_page(
            request,
            problems=[_endpoint_problem(refused)],
            url=url,
            description=description,
            chosen=chosen,
            status=400,
        )
    # The secret stays on the endpoint's row (it signs each delivery); the session only says
    # which endpoint's secret the next page may show, once.
    request.session[NEW_ENDPOINT] = endpoint.pk
    return redirect("console:webhook_created", endpoint_id=endpoint.pk)


@never_cache
@staff_view(Work.MANAGE_WEBHOOKS)
@require_GET
@_refusals
def webhook_created(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """The new endpoint's signing secret, shown once."""
    endpoint = webhook_endpoint_get(actor=_actor(request), endpoint_id=endpoint_id)
    show = request.session.get(NEW_ENDPOINT) == endpoint.pk
    if show:
        del request.session[NEW_ENDPOINT]
    context = {
        **_common(request),
        **_endpoint_row(endpoint),
        "secret": endpoint.secret if show else "",
    }
    return render(request, "console/api/webhook_created.html", context)


def _edit_page(
    request: HttpRequest,
    endpoint: WebhookEndpoint,
    *,
    problems: list[Problem] | None = None,
    url: str | None = None,
    description: str | None = None,
    chosen: Iterable[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **_common(request),
        **_endpoint_row(endpoint),
        **_form_context(
            problems=problems or [],
            url=endpoint.url if url is None else url,
            description=endpoint.description if description is None else description,
            chosen=endpoint.types if chosen is None else chosen,
        ),
    }
    return render(request, "console/api/webhook_edit.html", context, status=status)


@staff_view(Work.MANAGE_WEBHOOKS)
@require_http_methods(["GET", "POST"])
@_refusals
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = webhook_endpoint_get(actor=_actor(request), endpoint_id=endpoint_id)
    if request.method != "POST":
        return _edit_page(request, endpoint)
    url = request.POST.get("url", "")
    description = request.POST.get("description", "")
    chosen = request.POST.getlist("types")
    try:
        webhook_endpoint_update(
            actor=_actor(request),
            endpoint_id=endpoint.pk,
            now=timezone.now(),
            url=url,
            types=chosen,
            description=description,
        )
    except WebhookError as refused:
        if refused.code != ErrorCode.INVALID:
            raise
        return _edit_page(
            request,
            endpoint,
            problems=[_endpoint_problem(refused)],
            url=url,
            description=description,
            chosen=chosen,
            status=400,
        )
    messages.success(request, f"Endpoint {endpoint.pk} is saved.")
    return redirect("console:webhooks")


@staff_view(Work.MANAGE_WEBHOOKS)
@require_POST
@_refusals
def webhook_enabled(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Turn an endpoint on (``enabled=yes``) or off (``no``)."""
    value = request.POST.get("enabled", "")
    if value not in ("yes", "no"):
        return HttpResponseBadRequest("Say enabled=yes or enabled=no.", content_type="text/plain")
    webhook_endpoint_update(
        actor=_actor(request), endpoint_id=endpoint_id, now=timezone.now(), enabled=value == "yes"
    )
    if value == "yes":
        messages.success(
            request,
            f"Endpoint {endpoint_id} is enabled: new events are sent to it. Deliveries that "
            "failed while it was off stay failed; replay them from its delivery log.",
        )
    else:
        messages.success(request, f"Endpoint {endpoint_id} is disabled: nothing is sent to it.")
    return redirect("console:webhooks")


@staff_view(Work.MANAGE_WEBHOOKS)
@require_http_methods(["GET", "POST"])
@_refusals
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """A page that asks first; removing is the POST it makes."""
    if request.method != "POST":
        endpoint = webhook_endpoint_get(actor=_actor(request), endpoint_id=endpoint_id)
        context = {**_common(request), **_endpoint_row(endpoint)}
        return render(request, "console/api/webhook_delete.html", context)
    webhook_endpoint_delete(actor=_actor(request), endpoint_id=endpoint_id, now=timezone.now())
    messages.success(request, f"Endpoint {endpoint_id} is removed: nothing more is sent to it.")
    return redirect("console:webhooks")


# --------------------------------------------------------------------------- delivery log


def _cursor(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise Http404("No such page of the log.")
    return int(value)


def _deliveries(
    actor: Actor, endpoint_id: int, *, before: int | None, status: str
) -> tuple[list[WebhookDelivery], int | None]:
    """A page of the log, newest first, and the cursor of the next older page (None: no
    more). The service has no status filter; with one, its pages are read until a page of
    matches is found or ``SCAN_CHUNKS`` pages were read (the next page goes on from there)."""
    if not status:
        rows = webhook_delivery_list(
            actor=actor, endpoint_id=endpoint_id, limit=PAGE + 1, before=before
        )
        return (rows[:PAGE], rows[PAGE - 1].pk) if len(rows) > PAGE else (rows, None)
    found: list[WebhookDelivery] = []
    cursor = before
    for _ in range(SCAN_CHUNKS):
        chunk = webhook_delivery_list(
            actor=actor, endpoint_id=endpoint_id, limit=SCAN_CHUNK, before=cursor
        )
        for row in chunk:
            if row.status != status:
                continue
            if len(found) == PAGE:
                return found, found[-1].pk
            found.append(row)
        if len(chunk) < SCAN_CHUNK:
            return found, None
        cursor = chunk[-1].pk
    return found, cursor


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return body


def _status_label(value: str) -> str:
    return str(WebhookStatus(value).label) if value in WebhookStatus.values else value


@staff_view(Work.MANAGE_WEBHOOKS)
@require_GET
@_refusals
def deliveries(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    actor = _actor(request)
    endpoint = webhook_endpoint_get(actor=actor, endpoint_id=endpoint_id)
    status = request.GET.get("status", "")
    if status not in WebhookStatus.values:
        status = ""
    before = _cursor(request)
    rows, older = _deliveries(actor, endpoint.pk, before=before, status=status)
    query = {"status": status} if status else {}
    here = reverse("console:webhook_deliveries", kwargs={"endpoint_id": endpoint.pk})
    context = {
        **_common(request),
        **_endpoint_row(endpoint),
        "rows": [
            {
                "delivery": row,
                "type": TYPE_LABELS.get(row.type, row.type),
                "status": _status_label(row.status),
                "body": _pretty(row.body),
            }
            for row in rows
        ],
        "statuses": STATUSES,
        "status": status,
        "status_label": _status_label(status) if status else "",
        "before": before,
        "older_url": f"{here}?{urlencode({**query, 'before': older})}" if older else "",
        "newest_url": f"{here}?{urlencode(query)}" if query else here,
    }
    return render(request, "console/api/deliveries.html", context)


@staff_view(Work.MANAGE_WEBHOOKS)
@require_POST
@_refusals
def delivery_replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    replay = webhook_delivery_replay(
        actor=_actor(request), delivery_id=delivery_id, now=timezone.now()
    )
    messages.success(
        request,
        f"Delivery {delivery_id} will be sent again, as a new delivery ({replay.msg_id}).",
    )
    return redirect("console:webhook_deliveries", endpoint_id=replay.endpoint_id)


urlpatterns: list[URLPattern] = [
    path("api/tokens/", tokens, name="api_tokens"),
    path("api/tokens/<int:token_id>/new/", token_created, name="api_token_created"),
    path("api/tokens/<int:token_id>/revoke/", token_revoke, name="api_token_revoke"),
    path("api/webhooks/", webhooks, name="webhooks"),
    path("api/webhooks/<int:endpoint_id>/", webhook_edit, name="webhook_edit"),
    path("api/webhooks/<int:endpoint_id>/new/", webhook_created, name="webhook_created"),
    path("api/webhooks/<int:endpoint_id>/enabled/", webhook_enabled, name="webhook_enabled"),
    path("api/webhooks/<int:endpoint_id>/delete/", webhook_delete, name="webhook_delete"),
    path(
        "api/webhooks/<int:endpoint_id>/deliveries/",
        deliveries,
        name="webhook_deliveries",
    ),
    path(
        "api/webhooks/deliveries/<int:delivery_id>/replay/",
        delivery_replay,
        name="webhook_delivery_replay",
    ),
]
