"""``Idempotency-Key`` on every POST: a retried request makes one effect and gets the first
answer again.

The key's row is inserted in the same transaction as the request's work, before it: a second
request with the same key waits on that row (PostgreSQL's unique index; SQLite's one writer)
until the first commits, then finds it and replays its answer (``Idempotent-Replayed: true``).
Only a successful answer is kept: a refusal rolls the row back with everything else, so the
client may correct the request and send it again with the same key. The same key with a
different request (method, path or body) is refused (422); keys are kept for a day.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Status
from ninja.responses import NinjaJSONEncoder
from pydantic import BaseModel

from amends.api.models import IdempotencyKey
from amends.api.problems import problem

KEPT_FOR = timedelta(days=1)
#: Response headers replayed with the answer.
_REPLAYED_HEADERS = ("ETag", "Location")
#: What ninja's JSON renderer sends (a replay is the same bytes with the same type).
_JSON = "application/json; charset=utf-8"


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _as_json(result: Any) -> tuple[int, str]:
    """The status and the body as ninja renders them (its encoder: times to the millisecond,
    ``Z`` for UTC), so that a replay is the first answer byte for byte."""
    status = 200
    if isinstance(result, Status):
        status, result = result.status_code, result.value
    if isinstance(result, BaseModel):
        result = result.model_dump()
    elif isinstance(result, list):
        result = [r.model_dump() if isinstance(r, BaseModel) else r for r in result]
    return status, json.dumps(result, cls=NinjaJSONEncoder)


def _replay(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(row.response, status=row.status, content_type=_JSON)
    for name, value in (row.headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a POST view (which takes ``response: HttpResponse``): with a key, in one
    transaction with its key's row; without, as it is."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            key = key.strip(" \t")  # a field value's surrounding white space is not its own
        if key is None:
            # Each service is its own transaction; the answer is read after it committed, so
            # no lock a service took (the provider's case counter, its ledger) is held while
            # the answer is built.
            return view(request, *args, **kwargs)
        if not 1 <= len(key) <= 200 or not key.isprintable() or not key.isascii():
            return problem(
                "bad_request",
                "Idempotency-Key is 1 to 200 printable ASCII characters.",
                request=request,
            )
        provider_id = request.auth.provider_id  # type: ignore[attr-defined]
        now = timezone.now()
        request_hash = _request_hash(request)
        # Every provider's keys older than a day go (their answers hold customers' names and
        # contact details, and webhook secrets): an indexed delete that finds nothing most
        # times. This one's too, so that the key may be used again.
        IdempotencyKey.objects.filter(created_at__lt=now - KEPT_FOR).delete()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotencyKey.objects.create(
                        provider_id=provider_id,
                        key=key,
                        request_hash=request_hash,
                        method_path=f"{request.method} {request.path}"[:300],
                        status=0,
                        response="",
                        created_at=now,
                    )
            except IntegrityError:
                found = IdempotencyKey.objects.filter(provider_id=provider_id, key=key).first()
                if found is None or found.status == 0:
                    return problem("idempotency_in_use", request=request)
                if found.request_hash != request_hash:
                    return problem(
                        "idempotency_mismatch",
                        f"The key was first used for {found.method_path} with another body.",
                        request=request,
                    )
                return _replay(found)
            result = view(request, *args, **kwargs)
            if isinstance(result, HttpResponse):
                # A problem the view answered itself: not kept, nothing of the work kept.
                transaction.set_rollback(True)
                return result
            status, body = _as_json(result)
            temporal = kwargs.get("response")
            headers = {}
            if isinstance(temporal, HttpResponse):
                headers = {h: temporal[h] for h in _REPLAYED_HEADERS if temporal.has_header(h)}
            row.status = status
            row.response = body
            row.headers = headers
            row.save(update_fields=["status", "response", "headers"])
        return result

    return wrapper
