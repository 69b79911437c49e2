"""Errors as RFC 9457 problem details (``application/problem+json``), one shape for all.

Every refusal a service makes is a :class:`~amends.cases.errors.CaseError` naming its field;
here it becomes a problem whose ``status`` follows its code (invalid 422, refused 409 with the
lifecycle's reason, conflict 412, not found 404, forbidden 403) and whose ``errors`` point at
the field (``{"pointer": "#/summary", "detail": ...}``). Nothing else about the server is
ever said: an unexpected error is a bare 500 problem, logged with the request's id only.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse

PROBLEM_TYPE = "application/problem+json"

#: (status, title) by the code a problem carries; its ``type`` is ``urn:amends:problem:<code>``.
TITLES: dict[str, tuple[int, str]] = {
    "bad_request": (400, "The request is malformed"),
    "unauthenticated": (401, "A valid API token is needed"),
    "forbidden": (403, "This token may not do that"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "refused": (409, "Refused by the case's lifecycle or a rule"),
    "idempotency_in_use": (409, "A request with this Idempotency-Key is still in progress"),
    "conflict": (412, "The case changed since you read it"),
    "payload_too_large": (413, "The request body is too large"),
    "unsupported_media_type": (415, "Send JSON"),
    "invalid": (422, "The request has invalid values"),
    "idempotency_mismatch": (422, "This Idempotency-Key was used with another request"),
    "precondition_required": (428, "Send If-Match with the case's ETag"),
    "rate_limited": (429, "Too many requests"),
    "server_error": (500, "Something went wrong on our side"),
}


def problem(
    code: str,
    detail: str = "",
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    request: HttpRequest | None = None,
) -> HttpResponse:
    status, title = TITLES[code]
    body: dict[str, Any] = {
        "type": f"urn:amends:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if request is not None:
        body["instance"] = request.path
    response = HttpResponse(
        # (a lone surrogate a client sent, quoted back in a detail, cannot be UTF-8: "?")
        json.dumps(body, ensure_ascii=False).encode("utf-8", "replace"),
        status=status,
        content_type=PROBLEM_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def pointer(field: str | None) -> list[dict[str, str]] | None:
    return None if not field else [{"pointer": f"#/{field.replace('.', '/')}"}]


def field_errors(field: str | None, detail: str) -> list[dict[str, str]] | None:
    if not field:
        return None
    return [{"pointer": f"#/{field.replace('.', '/')}", "detail": detail}]


def _token(part: str) -> str:
    """A JSON Pointer reference token (RFC 6901: ``~`` as ``~0``, ``/`` as ``~1``), and
    nothing that cannot be sent (a lone surrogate in a field's name) or is too long to read."""
    part = part.replace("~", "~0").replace("/", "~1")
    part = part.encode("utf-8", "replace").decode("utf-8")
    return part if len(part) <= 100 else part[:100] + "..."


def from_validation(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """pydantic's errors (``loc`` like ``("body", "payload", "summary")``) as pointers into
    the body, or the query/path/header parameter named."""
    out: list[dict[str, str]] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "Invalid value."))
        if loc and loc[0] == "body":
            path = loc[2:] if len(loc) > 2 else []
            out.append({"pointer": "#/" + "/".join(_token(p) for p in path), "detail": message})
        elif loc and loc[0] in ("query", "path", "header", "cookie"):
            name = loc[-1] if len(loc) > 1 else ""
            out.append({"parameter": name, "in": loc[0], "detail": message})
        else:
            out.append({"pointer": "#/", "detail": message})
    return out[:50]
