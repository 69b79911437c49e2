"""The problem answers each kind of endpoint documents (``application/problem+json``)."""

from amends.api.schemas import Problem

#: Every endpoint: not signed in, forbidden by scope, not found, bad values, too many.
ERRORS_READ: dict[int, type[Problem]] = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    422: Problem,
    429: Problem,
}
#: Endpoints that write: refused by the lifecycle (or a key in use), stale, If-Match missing.
ERRORS: dict[int, type[Problem]] = {
    **ERRORS_READ,
    409: Problem,
    412: Problem,
    428: Problem,
}

#: Documented headers (read by the handlers themselves).
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string", "examples": ['"7"']},
    "description": "The case's ETag as read (GET /cases/{reference}); * to skip the check.",
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 200, "examples": ["crm-7f3a9c2e"]},
    "description": "Any unique string: a retry with the same key and body makes one effect.",
}
