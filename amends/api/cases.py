"""``/api/v1/cases``: open, list, read, and every action on a case, each its own endpoint.

Handlers are thin: parse (ninja and pydantic), call the one typed service, answer. The service
decides: a refusal of the lifecycle is a 409 problem with its reason, a stale If-Match a 412.
"""

import inspect
from collections.abc import Callable
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from amends.api import schemas as s
from amends.api.auth import READ, WRITE, actor_of
from amends.api.idempotency import idempotent
from amends.api.present import (
    case_detail,
    case_or_404,
    case_summary,
    compensation_out,
    if_match,
    not_found,
    page,
)
from amends.api.problems_doc import ERRORS, ERRORS_READ, IDEMPOTENCY_KEY, IF_MATCH
from amends.cases import actions
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case
from amends.cases.selectors import case_get_for, case_list_for
from amends.cases.writes import AdrTrigger
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import OPEN_STATES, State
from amends.providers.models import Provider

router = Router(tags=["cases"])


class CaseFilters(s.Paged):
    state: list[State] = Field(default_factory=list, description="One or more states.")
    kind: CaseKind | None = None
    open: bool | None = Field(default=None, description="Only open (true) or finished (false).")
    customer_id: int | None = Field(default=None, ge=1, le=s.MAX_ID)
    handler_id: int | None = Field(default=None, ge=1, le=s.MAX_ID)
    received_after: s.Instant | None = None
    received_before: s.Instant | None = None


@router.get(
    "/cases",
    auth=READ,
    response={200: s.CasePage, **ERRORS_READ},
    summary="List cases",
    description="Newest first, with cursor pagination (``next_cursor``).",
    operation_id="cases_list",
)
def cases_list(request: HttpRequest, filters: Query[CaseFilters]) -> s.CasePage:
    rows = case_list_for(actor_of(request))
    if filters.state:
        rows = rows.filter(state__in=filters.state)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.open is not None:
        is_open = Q(state__in=[state.value for state in OPEN_STATES])
        rows = rows.filter(is_open if filters.open else ~is_open)
    if filters.customer_id is not None:
        rows = rows.filter(customer_id=filters.customer_id)
    if filters.handler_id is not None:
        rows = rows.filter(handler_id=filters.handler_id)
    if filters.received_after is not None:
        rows = rows.filter(first_received_at__gte=filters.received_after)
    if filters.received_before is not None:
        rows = rows.filter(first_received_at__lt=filters.received_before)
    items, cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return s.CasePage(items=[case_summary(c) for c in items], next_cursor=cursor)


@router.post(
    "/cases",
    auth=WRITE,
    response={201: s.CaseDetail, **ERRORS},
    summary="Open a case",
    description="For an existing customer (``customer_id``) or a new one (``customer``), in "
    "one transaction. The case's clocks start at ``first_received_at``. Send an "
    "Idempotency-Key: a retried request makes one case.",
    operation_id="cases_create",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
)
@idempotent
def cases_create(
    request: HttpRequest, payload: s.CaseCreate, response: HttpResponse
) -> Status[s.CaseDetail]:
    actor = actor_of(request)
    if (payload.customer_id is None) == (payload.customer is None):
        raise CaseError(
            "Give customer_id (an existing customer) or customer (a new one), not both.",
            field="customer",
            code=ErrorCode.INVALID,
        )
    customer: int | actions.NewCustomer
    if payload.customer is not None:
        data = payload.customer.model_dump()
        data["access_needs"] = tuple(data["access_needs"])
        customer = actions.NewCustomer(**data)
    else:
        assert payload.customer_id is not None
        customer = payload.customer_id
    provider = Provider.objects.get(pk=actor.provider_id)
    link: Callable[[str], str] | None = None
    if payload.send_case_link:

        def link(token: str) -> str:
            return request.build_absolute_uri(f"/{provider.slug}/case/{token}/")

    case = actions.case_intake(
        provider=provider,
        actor=actor,
        customer=customer,
        kind=payload.kind,
        channel=payload.channel,
        first_received_at=payload.first_received_at,
        first_received_note=payload.first_received_note,
        summary=payload.summary,
        description=payload.description,
        category=payload.category,
        now=timezone.now(),
        link_url_for=link,
    )
    response["Location"] = f"/api/v1/cases/{case.reference}"
    return Status(201, _fresh(actor, case.reference, response))


def _fresh(actor: Any, reference: str, response: HttpResponse) -> s.CaseDetail:
    case = case_get_for(actor, reference=reference)
    if case is None:
        raise not_found()
    return case_detail(actor, case, response)


@router.get(
    "/cases/{reference}",
    auth=READ,
    response={200: s.CaseDetail, **ERRORS_READ},
    summary="Read a case",
    description="With its clocks and timeline; the ETag header is the version to send back "
    "as If-Match with an action.",
    operation_id="cases_get",
)
def cases_get(request: HttpRequest, reference: str, response: HttpResponse) -> s.CaseDetail:
    actor = actor_of(request)
    return case_detail(actor, case_or_404(actor, reference), response)


# --------------------------------------------------------------------------- actions


def _register(
    slug: str,
    service: Callable[..., Any],
    body: type[Schema],
    summary: str,
    description: str,
    adapt: Callable[[Any, Case, dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    def act(
        request: HttpRequest, reference: str, response: HttpResponse, payload: Any = None
    ) -> Any:
        actor = actor_of(request)
        case = case_or_404(actor, reference)
        expected = if_match(request)
        arguments = (body() if payload is None else payload).model_dump()
        if adapt is not None:
            arguments = adapt(actor, case, arguments)
        try:
            service(
                case_id=case.pk,
                actor=actor,
                now=timezone.now(),
                expected_version=expected,
                **arguments,
            )
        except CaseError as refused:
            # The service names its own argument (``duplicate_id``); the client sent another.
            refused.field = _BODY_FIELD.get(refused.field or "", refused.field)
            raise
        return _fresh(actor, case.reference, response)

    act.__name__ = f"case_{slug.replace('-', '_')}"
    # An action whose body has no required field may be sent with none at all (a client's
    # bare POST): the body is then its defaults.
    optional = not any(field.is_required() for field in body.model_fields.values())
    act.__annotations__["payload"] = body | None if optional else body
    if not optional:
        signature = inspect.signature(act)
        act.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[
                p.replace(default=inspect.Parameter.empty, annotation=body)
                if p.name == "payload"
                else p
                for p in signature.parameters.values()
            ]
        )
    router.post(
        f"/cases/{{reference}}/{slug}",
        auth=WRITE,
        response={200: s.CaseDetail, **ERRORS},
        summary=summary,
        description=description
        + " Send If-Match with the case's ETag (428 without it, 412 if the case changed).",
        operation_id=f"cases_{slug.replace('-', '_')}",
        tags=["case actions"],
        openapi_extra={"parameters": [IF_MATCH, IDEMPOTENCY_KEY]},
    )(idempotent(act))


#: A service's argument named in a refusal, as the body's field.
_BODY_FIELD = {"duplicate_id": "duplicate"}


def _merge(actor: Any, case: Case, arguments: dict[str, Any]) -> dict[str, Any]:
    duplicate = case_get_for(actor, reference=arguments.pop("duplicate"))
    if duplicate is None:
        raise CaseError("No such case to merge.", field="duplicate", code=ErrorCode.INVALID)
    return {**arguments, "duplicate_id": duplicate.pk}


def _staff_letter(actor: Any, case: Case, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"trigger": AdrTrigger.STAFF}


_ACTIONS: list[tuple[str, Callable[..., Any], type[Schema], str, str]] = [
    (
        "acknowledge",
        actions.case_acknowledge,
        s.When,
        "Acknowledge",
        "The customer was told we have it, with its reference.",
    ),
    (
        "assign",
        actions.case_assign,
        s.AssignBody,
        "Assign a handler",
        "A member of staff owns the case from now.",
    ),
    (
        "introduce-handler",
        actions.case_introduce_handler,
        s.When,
        "Introduce the handler",
        "The handler gave the customer their contact details.",
    ),
    (
        "record-update",
        actions.case_record_update,
        s.RecordUpdateBody,
        "Record an update given",
        "The customer was updated (meets the update clock).",
    ),
    (
        "agree-updates",
        actions.case_agree_updates,
        s.AgreeUpdatesBody,
        "Agree how often to update",
        "The interval agreed with the customer.",
    ),
    (
        "investigate",
        actions.case_investigate,
        s.NoBody,
        "Start investigating",
        "Work on the case has started.",
    ),
    (
        "escalate",
        actions.case_escalate,
        s.ReasonBody,
        "Escalate",
        "To the next level of the code's escalation ladder.",
    ),
    (
        "propose-resolution",
        actions.case_propose_resolution,
        s.ProposeBody,
        "Propose a resolution",
        "The customer receives it with the ADR scheme's details.",
    ),
    (
        "accept-resolution",
        actions.case_accept_resolution,
        s.CustomerAnswerBody,
        "Record the customer's acceptance",
        "Only when the customer said yes: a complaint closes only on acceptance or after "
        "the ADR letter.",
    ),
    (
        "reject-resolution",
        actions.case_reject_resolution,
        s.RejectBody,
        "Record the customer's rejection",
        "The customer said no to the proposal.",
    ),
    (
        "close",
        actions.case_close,
        s.When,
        "Close",
        "Refused unless the customer accepted or the ADR letter was issued.",
    ),
    (
        "reopen",
        actions.case_reopen,
        s.ReopenBody,
        "Re-open",
        "A closed or withdrawn case taken back to work.",
    ),
    (
        "declare-deadlock",
        actions.case_declare_deadlock,
        s.DeadlockBody,
        "Deadlock",
        "Our final position: the ADR letter goes to the customer at once.",
    ),
    (
        "request-adr-letter",
        actions.case_request_adr_letter,
        s.RequestAdrLetterBody,
        "The customer asked for the ADR letter",
        "Never refused; a copy if it was issued before.",
    ),
    (
        "issue-adr-letter",
        actions.case_issue_adr_letter,
        s.NoBody,
        "Issue the ADR letter now",
        "Unasked, ahead of the ADR point or to put a miss right.",
    ),
    (
        "refer-to-scheme",
        actions.case_refer_to_scheme,
        s.ReferBody,
        "The customer went to the ADR scheme",
        "With the scheme's reference.",
    ),
    (
        "scheme-declined",
        actions.case_scheme_declined,
        s.SchemeDeclinedBody,
        "The scheme declined the complaint",
        "With the scheme's reason.",
    ),
    (
        "record-scheme-decision",
        actions.case_record_scheme_decision,
        s.DecisionBody,
        "Record the scheme's decision",
        "Upheld, partly upheld or not upheld, and the remedies.",
    ),
    (
        "accept-decision",
        actions.case_accept_decision,
        s.When,
        "The customer accepted the decision",
        "The remedy is now owed.",
    ),
    (
        "complete-remedy",
        actions.case_complete_remedy,
        s.When,
        "The remedy is done",
        "What the scheme decided has been done.",
    ),
    (
        "withdraw",
        actions.case_withdraw,
        s.WithdrawBody,
        "The customer withdrew",
        "Recorded as the customer's own, with who and how.",
    ),
    (
        "convert-to-complaint",
        actions.case_convert_to_complaint,
        s.ReasonBody,
        "This is a complaint",
        "A query that shows dissatisfaction becomes a complaint (first receipt kept).",
    ),
    (
        "log-call",
        actions.case_log_call,
        s.LogCallBody,
        "Log a call",
        "A call with the customer, in or out.",
    ),
    (
        "merge",
        actions.case_merge,
        s.MergeBody,
        "Merge a duplicate into this case",
        "The earliest first receipt stands.",
    ),
    (
        "add-note",
        actions.case_add_note,
        s.NoteBody,
        "Add an internal note",
        "Staff only: the customer never sees it.",
    ),
    (
        "messages",
        actions.case_send_message,
        s.MessageBody,
        "Send a message to the customer",
        "From the provider's template, the way the customer prefers.",
    ),
]

for _slug, _service, _body, _summary, _description in _ACTIONS:
    _adapt = {"merge": _merge, "issue-adr-letter": _staff_letter}.get(_slug)
    _register(_slug, _service, _body, _summary, _description, _adapt)


@router.post(
    "/cases/{reference}/compensation",
    auth=WRITE,
    response={201: s.CompensationOut, **ERRORS},
    summary="Record compensation",
    description="Money owed to the customer on this case (an invoice credit, or paid as "
    "agreed); it appears in GET /compensation?applied=false until marked applied.",
    operation_id="cases_record_compensation",
    tags=["compensation"],
    openapi_extra={"parameters": [IF_MATCH, IDEMPOTENCY_KEY]},
)
@idempotent
def cases_record_compensation(
    request: HttpRequest, reference: str, payload: s.CompensationIn, response: HttpResponse
) -> Status[s.CompensationOut]:
    actor = actor_of(request)
    case = case_or_404(actor, reference)
    credit = actions.case_record_compensation(
        case_id=case.pk,
        actor=actor,
        now=timezone.now(),
        expected_version=if_match(request),
        **payload.model_dump(),
    )
    credit.case = case
    response["Location"] = f"/api/v1/compensation/{credit.pk}"
    return Status(201, compensation_out(credit))
