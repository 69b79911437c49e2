"""The REST API, ``/api/v1/``: django-ninja over the same services and selectors as the
console. OpenAPI 3.1 at ``/api/v1/openapi.json``, its docs page at ``/api/v1/docs``.

Every answer that is not a success is an RFC 9457 problem (``application/problem+json``):
services' refusals (``CaseError``, ``WebhookError``), ninja's validation errors (pointing at
each bad field), a missing or unknown token, a rate limit, an unexpected error (a bare 500,
logged with ids only).
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError, ValidationError

from amends.api import cases, others
from amends.api.auth import ANY, MissingScope, RateLimited, TokenAuth
from amends.api.docs import ReferencePage
from amends.api.present import PreconditionRequired
from amends.api.problems import PROBLEM_TYPE, field_errors, from_validation, problem
from amends.cases.errors import CaseError
from amends.comms.webhooks import WebhookError

log = logging.getLogger("amends.api")

DESCRIPTION = """
The API of Amends for a provider's own systems (CRM, billing). Every request carries an API
token of one provider, made by its administrator in the staff console (API and webhooks):
`Authorization: Bearer amends_...`. A token has scopes: **read** (GET), **write** (open
cases, act on them, record compensation, mark it applied), **webhooks** (manage endpoints).

* **Idempotency-Key** on any POST: a retried request makes one effect and gets the first
  answer again (with `Idempotent-Replayed: true`), for a day.
* **ETag / If-Match**: reading a case gives its version as the ETag; every action on a case
  needs `If-Match` with it (428 without, 412 if the case changed since).
* **Errors** are RFC 9457 problems: `409` when the case's lifecycle or a rule refuses (the
  reason is in `detail`), `422` with a pointer to each bad field.
* **Rate limit** per token (429 with Retry-After).
* **Webhooks** are signed with the Standard Webhooks scheme (`webhook-id`,
  `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`).
"""


def _problem_for_405(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A method the path does not take: a 405 problem with Allow (ninja's is plain text)."""

    @functools.wraps(view)
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != PROBLEM_TYPE:
            allowed = response.get("Allow", "")
            return problem(
                "method_not_allowed",
                f"This endpoint takes {allowed}.",
                headers={"Allow": allowed},
                request=request,
            )
        return response

    return answer


def _root(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return problem("not_found", "The API's endpoints are listed at /api/v1/docs.", request=request)


class AmendsApi(NinjaAPI):
    """Every answer of its URLs a problem when it is not a success: a method a path does not
    take (405), and its root (ninja's raises Http404 outside its handlers: the portal's HTML
    page)."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return _problem_media(super().get_openapi_schema(*args, **kwargs), _scopes(self))

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                if pattern.name == "api-root":
                    pattern.callback = _root
                else:
                    pattern.callback = _problem_for_405(pattern.callback)
        return urls


api = AmendsApi(
    title="Amends API",
    version="1",
    description=DESCRIPTION,
    auth=ANY,
    urls_namespace="api-v1",
    docs_url="/docs",
    docs=ReferencePage(),
    openapi_url="/openapi.json",
)
api.add_router("", cases.router)
api.add_router("", others.router)

#: Last: any other path under /api/v1/ is a 404 problem, not the portal's HTML page.
_fallback = Router()


@_fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
)
def _no_such_endpoint(request: HttpRequest, rest: str) -> HttpResponse:
    return problem("not_found", "No such endpoint: see /api/v1/docs.", request=request)


api.add_router("", _fallback)

_STATUS_OF = {
    "invalid": "invalid",
    "refused": "refused",
    "conflict": "conflict",
    "not_found": "not_found",
    "forbidden": "forbidden",
}


@api.exception_handler(CaseError)
def _case_error(request: HttpRequest, exc: CaseError) -> HttpResponse:
    code = _STATUS_OF.get(exc.code.value, "refused")
    errors = field_errors(exc.field, exc.message) if code == "invalid" else None
    return problem(code, exc.message, errors=errors, request=request)


@api.exception_handler(WebhookError)
def _webhook_error(request: HttpRequest, exc: WebhookError) -> HttpResponse:
    code = _STATUS_OF.get(exc.code, "invalid")
    errors = field_errors(exc.field, exc.message) if code == "invalid" else None
    return problem(code, exc.message, errors=errors, request=request)


@api.exception_handler(ValidationError)
def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem(
        "invalid",
        "Some values are missing or not valid.",
        errors=from_validation(list(exc.errors)),
        request=request,
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(
        "unauthenticated",
        "Send a live API token: Authorization: Bearer amends_...",
        headers={"WWW-Authenticate": 'Bearer realm="amends"'},
        request=request,
    )


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    return problem(
        "rate_limited",
        f"This token made too many requests; try again in {exc.retry_after} s.",
        headers={"Retry-After": str(exc.retry_after)},
        request=request,
    )


@api.exception_handler(MissingScope)
def _missing_scope(request: HttpRequest, exc: MissingScope) -> HttpResponse:
    return problem(
        "forbidden", f"This token does not have the {exc.scope.value} scope.", request=request
    )


@api.exception_handler(PreconditionRequired)
def _precondition(request: HttpRequest, exc: PreconditionRequired) -> HttpResponse:
    return problem(
        "precondition_required",
        "Read the case first and send its ETag as If-Match.",
        request=request,
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem(
        "payload_too_large",
        f"A request body is at most {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        request=request,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem("not_found", request=request)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {
        400: "bad_request",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
    }.get(exc.status_code, "bad_request")
    return problem(code, str(exc.message) if hasattr(exc, "message") else "", request=request)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("api request failed", extra={"error_type": type(exc).__name__})
    return problem("server_error", request=request)


def _scopes(api: NinjaAPI) -> dict[str, str]:
    """Each operation's scope, from the auth object it is routed with."""
    found: dict[str, str] = {}
    for _, router in api._routers:
        for view in router.path_operations.values():
            for operation in view.operations:
                auth = operation.auth_callbacks[0] if operation.auth_callbacks else None
                scope = getattr(auth, "scope", None) if isinstance(auth, TokenAuth) else None
                if operation.operation_id:
                    found[operation.operation_id] = scope.value if scope else "any"
    return found


def _problem_media(schema: dict[str, Any], scopes: dict[str, str]) -> dict[str, Any]:
    """Error answers are ``application/problem+json`` in the document, as they are sent; each
    operation says which token scope it needs (``x-scope``)."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation["x-scope"] = scopes.get(operation.get("operationId", ""), "any")
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content")
                if str(status).startswith(("4", "5")) and content and "application/json" in content:
                    answer["content"] = {PROBLEM_TYPE: content.pop("application/json")}
    return schema
