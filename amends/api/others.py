"""``/api/v1``: customers, compensation (the billing loop), codes, figures, staff, webhooks."""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from amends.api import schemas as s
from amends.api.auth import ANY, HOOKS, READ, WRITE, actor_of
from amends.api.idempotency import idempotent
from amends.api.present import (
    compensation_out,
    customer_out,
    decode_cursor,
    encode_cursor,
    findings_out,
    not_found,
    page,
)
from amends.api.problems_doc import ERRORS, ERRORS_READ, IDEMPOTENCY_KEY
from amends.cases import actions
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.figures import Period, dashboard_figures
from amends.cases.selectors import compensation_list_for, customer_list_for
from amends.codes import staff as codes
from amends.comms import webhooks
from amends.comms.models import WebhookDelivery, WebhookEndpoint, WebhookStatus
from amends.domain.access import Work
from amends.domain.calendar import SUPPORTED_YEARS
from amends.domain.regulation import C4_START
from amends.providers.models import ApiToken, Provider, StaffMember

router = Router()

# --------------------------------------------------------------------------- customers


class CustomerFilters(s.Paged):
    account_number: s.SearchText | None = Field(default=None, max_length=50)
    email: s.SearchText | None = Field(default=None, max_length=254)


@router.get(
    "/customers",
    auth=READ,
    response={200: s.CustomerPage, **ERRORS_READ},
    summary="List customers",
    description="Newest first; filter by account number or email address (exact).",
    operation_id="customers_list",
    tags=["customers"],
)
def customers_list(request: HttpRequest, filters: Query[CustomerFilters]) -> s.CustomerPage:
    rows = customer_list_for(actor_of(request))
    if filters.account_number:
        rows = rows.filter(account_number=filters.account_number)
    if filters.email:
        rows = rows.filter(email__iexact=filters.email)
    items, cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return s.CustomerPage(items=[customer_out(c) for c in items], next_cursor=cursor)


@router.get(
    "/customers/{customer_id}",
    auth=READ,
    response={200: s.CustomerOut, **ERRORS_READ},
    summary="Read a customer",
    operation_id="customers_get",
    tags=["customers"],
)
def customers_get(request: HttpRequest, customer_id: int) -> s.CustomerOut:
    found = customer_list_for(actor_of(request)).filter(pk=customer_id).first()
    if found is None:
        raise not_found("customer")
    return customer_out(found)


@router.post(
    "/customers",
    auth=WRITE,
    response={201: s.CustomerOut, **ERRORS},
    summary="Create a customer",
    description="A customer on record before any case (an account number is unique).",
    operation_id="customers_create",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
    tags=["customers"],
)
@idempotent
def customers_create(
    request: HttpRequest, payload: s.CustomerIn, response: HttpResponse
) -> Status[s.CustomerOut]:
    actor = actor_of(request)
    actor.require(Work.OPEN_CASE)
    data = payload.model_dump()
    customer = actions.customer_create(
        provider=Provider.objects.get(pk=actor.provider_id), now=timezone.now(), **data
    )
    response["Location"] = f"/api/v1/customers/{customer.pk}"
    return Status(201, customer_out(customer))


# --------------------------------------------------------------------------- compensation


class CompensationFilters(s.Paged):
    applied: bool | None = Field(
        default=None, description="false: not yet applied to an invoice (the billing loop)."
    )


@router.get(
    "/compensation",
    auth=READ,
    response={200: s.CompensationPage, **ERRORS_READ},
    summary="List compensation",
    description="``applied=false`` lists what billing has still to credit.",
    operation_id="compensation_list",
    tags=["compensation"],
)
def compensation_list(
    request: HttpRequest, filters: Query[CompensationFilters]
) -> s.CompensationPage:
    rows = compensation_list_for(actor_of(request))
    if filters.applied is not None:
        rows = rows.filter(applied_at__isnull=not filters.applied)
    items, cursor = page(rows, cursor=filters.cursor, limit=filters.limit)
    return s.CompensationPage(items=[compensation_out(c) for c in items], next_cursor=cursor)


@router.post(
    "/compensation/{compensation_id}/applied",
    auth=WRITE,
    response={200: s.CompensationOut, **ERRORS},
    summary="Mark compensation applied to an invoice",
    description="Billing credited it: the invoice's reference is recorded on the case.",
    operation_id="compensation_mark_applied",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
    tags=["compensation"],
)
@idempotent
def compensation_mark_applied(
    request: HttpRequest, compensation_id: int, payload: s.AppliedBody, response: HttpResponse
) -> s.CompensationOut:
    actor = actor_of(request)
    credit = actions.compensation_mark_applied(
        compensation_id=compensation_id,
        actor=actor,
        invoice_reference=payload.invoice_reference,
        now=timezone.now(),
    )
    found = compensation_list_for(actor).filter(pk=credit.pk).first()
    if found is None:
        raise not_found("compensation")
    return compensation_out(found)


# --------------------------------------------------------------------------- codes


def _version_out(entry: codes.VersionEntry) -> s.CodeVersionOut:
    v = entry.version
    return s.CodeVersionOut(
        id=v.pk,
        version=v.version,
        effective_from=v.effective_from,
        activated_at=v.activated_at,
        sha256=v.sha256,
        in_force=entry.in_force,
        future=entry.future,
    )


@router.get(
    "/code-versions",
    auth=READ,
    response={200: list[s.CodeVersionOut], **ERRORS_READ},
    summary="List the versions of the provider's Code of Practice",
    operation_id="code_versions_list",
    tags=["code of practice"],
)
def code_versions_list(request: HttpRequest) -> list[s.CodeVersionOut]:
    entries = codes.code_version_list_for_staff(actor=actor_of(request), now=timezone.now())
    return [_version_out(e) for e in entries]


@router.get(
    "/code-versions/{version_id}",
    auth=READ,
    response={200: s.CodeVersionDetail, **ERRORS_READ},
    summary="Read a version of the code, with its findings",
    operation_id="code_versions_get",
    tags=["code of practice"],
)
def code_versions_get(request: HttpRequest, version_id: int) -> s.CodeVersionDetail:
    actor = actor_of(request)
    now = timezone.now()
    found = codes.code_version_get_for_staff(actor=actor, pk=version_id, now=now)
    entry = next(
        e
        for e in codes.code_version_list_for_staff(actor=actor, now=now)
        if e.version.pk == found.version.pk
    )
    return s.CodeVersionDetail(
        **_version_out(entry).model_dump(),
        content=found.version.content,
        findings=findings_out(found.findings),
    )


@router.post(
    "/code-checks",
    auth=READ,
    response={200: s.CodeCheckOut, **ERRORS},
    summary="Check a candidate code",
    description="Its findings under the rules of the day (nothing is stored). A text that "
    "does not load is a 422 problem with each problem's path.",
    operation_id="code_versions_check",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
    tags=["code of practice"],
)
@idempotent
def code_versions_check(
    request: HttpRequest, payload: s.CodeCheckBody, response: HttpResponse
) -> s.CodeCheckOut:
    if payload.on is not None and payload.on < C4_START:
        # (the service would raise LookupError: no rules are held for that day)
        raise CaseError(
            f"Amends holds the rules from {C4_START.isoformat()} (GC C4): check on that day "
            "or later.",
            field="on",
            code=ErrorCode.INVALID,
        )
    result = codes.code_candidate_check(
        actor=actor_of(request), content=payload.content, now=timezone.now(), on=payload.on
    )
    return s.CodeCheckOut(
        sha256=result.sha256,
        on=result.on,
        errors=len(result.errors),
        warnings=len(result.warnings),
        findings=findings_out(result.findings),
    )


# --------------------------------------------------------------------------- figures, staff


class FigureFilters(Schema):
    start: s.Day | None = Field(default=None, description="First day (UK) of first receipt.")
    end: s.Day | None = Field(default=None, description="Last day (UK), included.")


@router.get(
    "/figures",
    auth=READ,
    response={200: s.FiguresOut, **ERRORS_READ},
    summary="The dashboard's figures",
    description="For cases first received in the period (default: the last 12 months).",
    operation_id="figures_get",
    tags=["figures"],
)
def figures_get(request: HttpRequest, filters: Query[FigureFilters]) -> s.FiguresOut:
    actor = actor_of(request)
    actor.require(Work.VIEW_DASHBOARD)
    now = timezone.now()
    today = codes.today_in_london(now)
    default = Period.last_12_months(today)
    period = Period(filters.start or default.start, filters.end or default.end)
    for field, day in (("start", period.start), ("end", period.end)):
        if day.year not in SUPPORTED_YEARS:
            raise CaseError(
                f"Give a day from {SUPPORTED_YEARS.start} to {SUPPORTED_YEARS.stop - 1}.",
                field=field,
                code=ErrorCode.INVALID,
            )
    if period.end < period.start or (period.end - period.start).days > 3660:
        raise CaseError(
            "The period runs forwards, for at most ten years.",
            field="end",
            code=ErrorCode.INVALID,
        )
    f = dashboard_figures(provider_id=actor.provider_id, period=period, now=now, risk_until=now)

    def tallies(rows: list) -> list[s.Tally]:  # type: ignore[type-arg]
        return [s.Tally(key=t.key, label=t.label, count=t.count) for t in rows]

    return s.FiguresOut(
        start=period.start,
        end=period.end,
        open_total=f.open_total,
        open_by_state=tallies(f.open_by_state),
        open_by_kind=tallies(f.open_by_kind),
        at_risk=f.at_risk,
        breached=f.breached,
        complaints=f.complaints,
        resolved=f.resolved,
        unresolved=f.unresolved,
        withdrawn=f.withdrawn,
        resolved_within_weeks={str(share.weeks): share.percent for share in f.shares},
        adr_letters=f.letters,
        adr_letters_by_trigger=tallies(f.letters_by_trigger),
        referred=f.referred,
        median_acknowledge_hours=None
        if f.median_acknowledge is None
        else round(f.median_acknowledge.total_seconds() / 3600, 1),
        median_resolve_days=None
        if f.median_resolve is None
        else round(f.median_resolve.total_seconds() / 86400, 1),
    )


@router.get(
    "/staff",
    auth=READ,
    response={200: list[s.StaffOut], **ERRORS_READ},
    summary="The provider's staff (to assign a case)",
    operation_id="staff_list",
    tags=["staff"],
)
def staff_list(request: HttpRequest) -> list[s.StaffOut]:
    actor = actor_of(request)
    actor.require(Work.VIEW_CASES)
    return [
        s.StaffOut(
            user_id=m.user_id,
            name=m.user.get_full_name() or m.user.get_username(),
            role=m.role,
        )
        for m in StaffMember.objects.filter(provider_id=actor.provider_id)
        .select_related("user")
        .order_by("user_id")
    ]


@router.get(
    "/me",
    auth=ANY,
    response={200: s.TokenInfo, **ERRORS_READ},
    summary="The token in use",
    description="Its name, prefix, scopes and provider (any scope may ask).",
    operation_id="me_get",
    tags=["staff"],
)
def me_get(request: HttpRequest) -> s.TokenInfo:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, ApiToken)
    return s.TokenInfo(
        name=token.name,
        prefix=token.prefix,
        scopes=token.scopes,
        provider=Provider.objects.get(pk=token.provider_id).slug,
    )


# --------------------------------------------------------------------------- webhooks


def _endpoint_out(e: WebhookEndpoint) -> s.EndpointOut:
    return s.EndpointOut.model_validate(e)


@router.get(
    "/webhooks/endpoints",
    auth=HOOKS,
    response={200: list[s.EndpointOut], **ERRORS_READ},
    summary="List webhook endpoints",
    operation_id="webhook_endpoints_list",
    tags=["webhooks"],
)
def webhook_endpoints_list(request: HttpRequest) -> list[s.EndpointOut]:
    return [_endpoint_out(e) for e in webhooks.webhook_endpoint_list(actor=actor_of(request))]


@router.post(
    "/webhooks/endpoints",
    auth=HOOKS,
    response={201: s.EndpointCreated, **ERRORS},
    summary="Register a webhook endpoint",
    description="Events of the chosen types are posted to it, signed (Standard Webhooks: "
    "webhook-id, webhook-timestamp, webhook-signature = v1,base64(HMAC-SHA256(secret, "
    "id.timestamp.body))). The secret is in this answer only.",
    operation_id="webhook_endpoints_create",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
    tags=["webhooks"],
)
@idempotent
def webhook_endpoints_create(
    request: HttpRequest, payload: s.EndpointIn, response: HttpResponse
) -> Status[s.EndpointCreated]:
    endpoint = webhooks.webhook_endpoint_create(
        actor=actor_of(request),
        url=payload.url,
        types=[t.value for t in payload.types],
        description=payload.description,
        now=timezone.now(),
    )
    response["Location"] = f"/api/v1/webhooks/endpoints/{endpoint.pk}"
    return Status(
        201, s.EndpointCreated(**_endpoint_out(endpoint).model_dump(), secret=endpoint.secret)
    )


@router.get(
    "/webhooks/endpoints/{endpoint_id}",
    auth=HOOKS,
    response={200: s.EndpointOut, **ERRORS_READ},
    summary="Read a webhook endpoint",
    operation_id="webhook_endpoints_get",
    tags=["webhooks"],
)
def webhook_endpoints_get(request: HttpRequest, endpoint_id: int) -> s.EndpointOut:
    return _endpoint_out(
        webhooks.webhook_endpoint_get(actor=actor_of(request), endpoint_id=endpoint_id)
    )


@router.patch(
    "/webhooks/endpoints/{endpoint_id}",
    auth=HOOKS,
    response={200: s.EndpointOut, **ERRORS},
    summary="Change a webhook endpoint",
    description="``enabled: true`` turns a disabled endpoint back on; replay what failed "
    "from its deliveries.",
    operation_id="webhook_endpoints_update",
    tags=["webhooks"],
)
def webhook_endpoints_update(
    request: HttpRequest, endpoint_id: int, payload: s.EndpointPatch
) -> s.EndpointOut:
    endpoint = webhooks.webhook_endpoint_update(
        actor=actor_of(request),
        endpoint_id=endpoint_id,
        now=timezone.now(),
        url=payload.url,
        types=None if payload.types is None else [t.value for t in payload.types],
        description=payload.description,
        enabled=payload.enabled,
    )
    return _endpoint_out(endpoint)


@router.delete(
    "/webhooks/endpoints/{endpoint_id}",
    auth=HOOKS,
    response={204: None, **ERRORS},
    summary="Remove a webhook endpoint",
    description="Nothing more is sent to it; what it was owed is marked failed.",
    operation_id="webhook_endpoints_delete",
    tags=["webhooks"],
)
def webhook_endpoints_delete(request: HttpRequest, endpoint_id: int) -> Status[None]:
    webhooks.webhook_endpoint_delete(
        actor=actor_of(request), endpoint_id=endpoint_id, now=timezone.now()
    )
    return Status(204, None)


DeliveryFilters = s.Paged


def _delivery_out(d: WebhookDelivery) -> s.DeliveryOut:
    return s.DeliveryOut(
        id=d.pk,
        msg_id=d.msg_id,
        type=d.type,
        case_reference=d.case.reference if d.case is not None else None,
        event_sequence=d.event_sequence,
        status=WebhookStatus(d.status),
        attempts=d.attempts,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status=d.last_status,
        last_error=d.last_error,
        sent_at=d.sent_at,
        body=d.body,
    )


@router.get(
    "/webhooks/endpoints/{endpoint_id}/deliveries",
    auth=HOOKS,
    response={200: s.DeliveryPage, **ERRORS_READ},
    summary="An endpoint's delivery log",
    description="Newest first, with each attempt's outcome and the body sent.",
    operation_id="webhook_deliveries_list",
    tags=["webhooks"],
)
def webhook_deliveries_list(
    request: HttpRequest, endpoint_id: int, filters: Query[DeliveryFilters]
) -> s.DeliveryPage:
    limit = filters.limit
    rows = webhooks.webhook_delivery_list(
        actor=actor_of(request),
        endpoint_id=endpoint_id,
        limit=limit + 1,
        before=decode_cursor(filters.cursor),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return s.DeliveryPage(
        items=[_delivery_out(d) for d in rows],
        next_cursor=encode_cursor(rows[-1].pk) if more and rows else None,
    )


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    auth=HOOKS,
    response={202: s.DeliveryOut, **ERRORS},
    summary="Replay a delivery",
    description="Sends the same body again as a new delivery (a new webhook-id).",
    operation_id="webhook_deliveries_replay",
    openapi_extra={"parameters": [IDEMPOTENCY_KEY]},
    tags=["webhooks"],
)
@idempotent
def webhook_deliveries_replay(
    request: HttpRequest, delivery_id: int, response: HttpResponse
) -> Status[s.DeliveryOut]:
    replay = webhooks.webhook_delivery_replay(
        actor=actor_of(request), delivery_id=delivery_id, now=timezone.now()
    )
    return Status(202, _delivery_out(replay))
