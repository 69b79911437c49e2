"""Rows to response bodies, cursors, ETags: what every router shares."""

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from amends.api import schemas as s
from amends.cases.actors import Actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Compensation, Customer
from amends.cases.selectors import case_actions_for, case_clocks, case_get_for, case_timeline
from amends.domain.checks import Finding

MAX_LIMIT = 100
#: ``"7"``, ``W/"7"`` (a proxy that compresses answers may weaken the ETag), or ``7``; ASCII
#: digits only (``str.isdigit`` also takes "²" and "١").
_ETAG = re.compile(r'(?:W/)?("?)([0-9]{1,9})\1')
#: What :func:`encode_cursor` makes, decoded.
_CURSOR = re.compile(r"id:([0-9]{1,19})")


def not_found(what: str = "case") -> CaseError:
    return CaseError(f"No such {what}.", code=ErrorCode.NOT_FOUND)


def case_or_404(actor: Actor, reference: str) -> Case:
    case = case_get_for(actor, reference=reference)
    if case is None:
        raise not_found()
    return case


def etag(case: Case) -> str:
    return f'"{case.version}"'


class PreconditionRequired(Exception):
    """An action sent without If-Match."""


def if_match(request: HttpRequest) -> int | None:
    """The version the client read (``If-Match: "7"``); None for ``*``; 428 when missing."""
    raw = request.headers.get("If-Match")
    if raw is None:
        raise PreconditionRequired
    value = raw.strip(" \t")
    if value == "*":
        return None
    found = _ETAG.fullmatch(value)
    if found is None:
        raise CaseError(
            'If-Match is the case\'s one ETag, like "7".', field="If-Match", code=ErrorCode.INVALID
        )
    return int(found.group(2))


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        text = ""
    found = _CURSOR.fullmatch(text)
    if found is None or int(found.group(1)) > s.MAX_ID:
        raise CaseError(
            "The cursor is not one this API gave.", field="cursor", code=ErrorCode.INVALID
        )
    return int(found.group(1))


def page(rows: QuerySet[Any], *, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Newest first, ``limit`` rows after the cursor, and the next cursor (None at the end)."""
    limit = max(1, min(limit, MAX_LIMIT))
    last = decode_cursor(cursor)
    if last is not None:
        rows = rows.filter(id__lt=last)
    items = list(rows.order_by("-id")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return items, (encode_cursor(items[-1].pk) if more and items else None)


def case_summary(case: Case) -> s.CaseSummary:
    return s.CaseSummary.model_validate(case)


def case_detail(actor: Actor, case: Case, response: HttpResponse | None = None) -> s.CaseDetail:
    summary = case_summary(case)
    customer = case.customer
    detail = s.CaseDetail(
        **summary.model_dump(),
        description=case.description,
        category=case.category,
        customer=s.CustomerRef(
            id=customer.pk,
            contact_name=customer.contact_name,
            business_name=customer.business_name,
            account_number=customer.account_number,
        ),
        adr_scheme=case.adr_scheme,
        merged_into=case.merged_into.reference if case.merged_into is not None else None,
        allowed_actions=[a.value for a in case_actions_for(actor, case)],
        clocks=[
            s.Clock(
                key=c.key,
                kind=c.kind,
                due_at=c.due_at,
                state=c.state,
                met_at=c.met_at,
                rule_id=c.rule_id,
                source=c.source,
            )
            for c in case_clocks(case)
        ],
        timeline=[
            s.TimelineEvent(sequence=e.sequence, at=e.at, kind=e.kind, actor=e.actor, data=e.data)
            for e in case_timeline(case)
        ],
    )
    if response is not None:
        response["ETag"] = etag(case)
    return detail


def customer_out(c: Customer) -> s.CustomerOut:
    return s.CustomerOut.model_validate(c)


def compensation_out(c: Compensation) -> s.CompensationOut:
    return s.CompensationOut(
        id=c.pk,
        case_reference=c.case.reference,
        amount_pence=c.amount_pence,
        reason=c.reason,
        form=c.form,
        basis=c.basis,
        rule_id=c.rule_id,
        recorded_at=c.recorded_at,
        recorded_by=c.recorded_by,
        applied_at=c.applied_at,
        invoice_reference=c.invoice_reference,
    )


def findings_out(findings: Sequence[Finding]) -> list[s.Finding]:
    return [
        s.Finding(
            rule_id=f.rule_id,
            severity=f.severity.value,
            path=f.path,
            message=f.message,
            source=f"{f.law} ({f.source.citation})",
        )
        for f in findings
    ]
