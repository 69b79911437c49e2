"""The API's request and response bodies (OpenAPI 3.1 is generated from these types).

Request bodies forbid unknown fields (a misspelt field is an error, not silently dropped) and
carry an example each, shown on the docs page. Times are ISO 8601 with an offset; a time
without one is refused (``first_received_at`` must say which instant it is).
"""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from amends.cases.models import AccessNeed, CompensationBasis, CompensationForm, PreferredContact
from amends.comms.models import WebhookStatus, WebhookType
from amends.domain.access import ApiScope
from amends.domain.codes import CaseKind, ChannelType, CustomerType
from amends.domain.lifecycle import State

# --------------------------------------------------------------------------- shared


def _text_only(value: Any) -> Any:
    """Times and days are ISO 8601 text: a number (which pydantic would read as seconds since
    1970) is refused."""
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
        return value
    if isinstance(value, date):
        return value
    raise ValueError("Give an ISO 8601 date or time, like 2026-11-30T09:15:00Z.")


def _utc_exists(value: datetime) -> datetime:
    """An instant that is one in UTC too (``0001-01-01T00:00+01:00`` is not: the database
    could not be asked about it)."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("Give a time between the years 1 and 9999 in UTC.") from None
    return value


#: An instant given by a client: ISO 8601 text with its offset.
Instant = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_utc_exists)]
#: A UK calendar day given by a client: ISO 8601 text.
Day = Annotated[date, BeforeValidator(_text_only)]


def _storable(value: str) -> str:
    """Text the database can be asked about: no NUL (PostgreSQL refuses it)."""
    if "\x00" in value:
        raise ValueError("Remove the NUL character.")
    return value


#: Text a client searches by (a query parameter).
SearchText = Annotated[str, AfterValidator(_storable)]
#: The id of a row (64-bit): a larger number is no row's, and SQLite cannot bind it.
MAX_ID = 2**63 - 1


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class Problem(Schema):
    """An RFC 9457 problem (``application/problem+json``)."""

    type: str = Field(examples=["urn:amends:problem:refused"])
    title: str
    status: int
    code: str = Field(examples=["refused"])
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, str]] | None = Field(
        default=None, examples=[[{"pointer": "#/summary", "detail": "Summary is required."}]]
    )


PreferredContactValue = Literal["email", "letter", "phone"]
AccessNeedValue = Literal["large_print", "braille", "audio", "relay_uk", "bsl", "other_language"]
HowValue = Literal["phone", "email", "letter", "web_form", "portal", "in_person", "textphone"]
assert set(PreferredContactValue.__args__) == set(PreferredContact.values)  # type: ignore[attr-defined]
assert set(AccessNeedValue.__args__) == set(AccessNeed.values)  # type: ignore[attr-defined]

# --------------------------------------------------------------------------- customers


class Paged(Schema):
    """A list's page: ``cursor`` as the previous page's ``next_cursor`` gave it."""

    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=100)


class CustomerIn(Strict):
    """A new customer (the code's collect list: who they are and how to reach them)."""

    contact_name: str = Field(max_length=200, examples=["Priya Shah"])
    customer_type: CustomerType = CustomerType.SMALL_BUSINESS
    business_name: str = Field(default="", max_length=200, examples=["Shah Dental Ltd"])
    account_number: str = Field(default="", max_length=50, examples=["ACC-10442"])
    phone: str = Field(default="", max_length=40, examples=["01495 000123"])
    email: str = Field(default="", max_length=254, examples=["priya@shahdental.example"])
    postal_address: str = Field(default="", max_length=1000)
    employees: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    preferred_contact: PreferredContactValue = "email"
    access_needs: list[AccessNeedValue] = Field(default_factory=list, max_length=6)
    other_language: str = Field(default="", max_length=60)
    representative_name: str = Field(default="", max_length=200)
    representative_contact: str = Field(default="", max_length=200)
    support_contract: StrictBool = False


class CustomerOut(Schema):
    id: int
    customer_type: str
    contact_name: str
    business_name: str
    account_number: str
    phone: str
    email: str
    postal_address: str
    preferred_contact: str
    access_needs: list[str]
    other_language: str
    representative_name: str
    support_contract: bool
    created_at: datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


# --------------------------------------------------------------------------- cases


class CaseCreate(Strict):
    """A case received by the provider's own systems (a call in the CRM, a letter scanned).

    Give ``customer_id`` (an existing customer) or ``customer`` (a new one), not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "complaint",
                    "channel": "phone",
                    "first_received_at": "2026-11-30T09:15:00Z",
                    "summary": "Broadband drops every evening",
                    "description": "Line drops between 7 and 9 pm since 20 November.",
                    "customer": {
                        "contact_name": "Priya Shah",
                        "business_name": "Shah Dental Ltd",
                        "email": "priya@shahdental.example",
                        "preferred_contact": "email",
                    },
                }
            ]
        },
    )

    kind: CaseKind
    channel: ChannelType
    first_received_at: Instant = Field(
        description="When the provider first heard of it, on any channel (with its offset)."
    )
    first_received_note: str = Field(
        default="",
        max_length=300,
        description="Why it is entered more than an hour after it was first received.",
    )
    summary: str = Field(max_length=200)
    description: str = Field(default="", max_length=20_000)
    category: str = Field(default="", max_length=60)
    customer_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID)
    customer: CustomerIn | None = None
    send_case_link: StrictBool = Field(
        default=False,
        description="Also make the customer's private case link and send it with the "
        "acknowledgement.",
    )


class CustomerRef(Schema):
    id: int
    contact_name: str
    business_name: str
    account_number: str


class Clock(Schema):
    key: str
    kind: str
    due_at: datetime
    state: str
    met_at: datetime | None
    rule_id: str
    source: str


class TimelineEvent(Schema):
    sequence: int
    at: datetime
    kind: str
    actor: str
    data: dict[str, Any]


class CaseSummary(Schema):
    id: int
    reference: str = Field(examples=["V4V-26-000123-K"])
    kind: str
    state: State
    channel: str
    summary: str
    customer_id: int
    handler_id: int | None
    escalation_level: int
    first_received_at: datetime
    entered_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    adr_letter_issued_at: datetime | None
    adr_letter_trigger: str
    closed_at: datetime | None
    version: int = Field(description="The case's version; its ETag is this in quotes.")


class CaseDetail(CaseSummary):
    description: str
    category: str
    customer: CustomerRef
    adr_scheme: str
    merged_into: str | None = Field(description="The reference of the case it was merged into.")
    allowed_actions: list[str] = Field(
        description="What this token may do on the case now (the lifecycle and its scopes)."
    )
    clocks: list[Clock]
    timeline: list[TimelineEvent]


class CasePage(Schema):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page.")


# --------------------------------------------------------------------------- actions


class When(Strict):
    at: Instant | None = Field(
        default=None,
        description="When it happened, if not now (never in the future, never before the case "
        "was first received).",
    )


class NoBody(Strict):
    pass


class AssignBody(Strict):
    handler_id: StrictInt = Field(
        ge=1, le=MAX_ID, description="The user id of a member of staff (GET /staff)."
    )


class RecordUpdateBody(When):
    channel: Literal["phone", "email", "letter"]


class AgreeUpdatesBody(When):
    interval: str = Field(max_length=30, examples=["1 week"])


class ReasonBody(When):
    reason: str = Field(max_length=2000)


class ReopenBody(Strict):
    reason: str = Field(max_length=2000)


class ProposeBody(When):
    proposal: str = Field(max_length=5000, examples=["A credit of £30 and a line test."])


class CustomerAnswerBody(When):
    by: str = Field(
        max_length=200, description="Who told us: the customer or their representative."
    )
    how: HowValue


class RejectBody(CustomerAnswerBody):
    reason: str = Field(default="", max_length=2000)


class DeadlockBody(When):
    final_position: str = Field(max_length=5000)
    final_offer: str = Field(default="", max_length=5000)


class RequestAdrLetterBody(Strict):
    by: str = Field(max_length=200)
    how: HowValue


class ReferBody(When):
    scheme_reference: str = Field(max_length=60)


class SchemeDeclinedBody(Strict):
    reason: str = Field(max_length=2000)


class DecisionBody(When):
    outcome: Literal["upheld", "partly upheld", "not upheld"]
    remedies: str = Field(default="", max_length=5000)


class WithdrawBody(CustomerAnswerBody):
    reason: str = Field(default="", max_length=2000)


class LogCallBody(When):
    direction: Literal["inbound", "outbound"]
    summary: str = Field(max_length=5000)
    update_given: StrictBool = True


class MergeBody(Strict):
    duplicate: str = Field(
        max_length=24, description="The reference of the duplicate to merge into this case."
    )
    reason: str = Field(default="", max_length=2000)


class NoteBody(Strict):
    text: str = Field(max_length=10_000)


class MessageBody(Strict):
    """A message to the customer, from the provider's template (greeting, reference, next
    steps and sign-off added), sent the way they prefer."""

    kind: Literal["reply", "progress_update", "query_reply"] = "reply"
    text: str = Field(max_length=10_000, examples=["We have booked an engineer for Tuesday."])


# --------------------------------------------------------------------------- compensation


class CompensationIn(Strict):
    amount_pence: StrictInt = Field(ge=1, le=100_000_000, examples=[3000])
    reason: str = Field(max_length=300, examples=["Three days without service"])
    form: CompensationForm = CompensationForm.INVOICE_CREDIT
    basis: CompensationBasis = CompensationBasis.GOODWILL
    rule_id: str = Field(default="", max_length=40)


class CompensationOut(Schema):
    id: int
    case_reference: str
    amount_pence: int
    reason: str
    form: str
    basis: str
    rule_id: str
    recorded_at: datetime
    recorded_by: str
    applied_at: datetime | None
    invoice_reference: str


class CompensationPage(Schema):
    items: list[CompensationOut]
    next_cursor: str | None


class AppliedBody(Strict):
    invoice_reference: str = Field(max_length=60, examples=["INV-2026-11-0042"])


# --------------------------------------------------------------------------- codes, figures


class CodeVersionOut(Schema):
    id: int
    version: str
    effective_from: date
    activated_at: datetime
    sha256: str
    in_force: bool
    future: bool


class Finding(Schema):
    rule_id: str
    severity: str
    path: str
    message: str
    source: str


class CodeVersionDetail(CodeVersionOut):
    content: str = Field(description="The code as TOML.")
    findings: list[Finding]


class CodeCheckBody(Strict):
    content: str = Field(max_length=200_000, description="A candidate code (TOML).")
    on: Day | None = Field(default=None, description="Check under the rules of this day.")


class CodeCheckOut(Schema):
    sha256: str
    on: date
    errors: int
    warnings: int
    findings: list[Finding]


class Tally(Schema):
    key: str
    label: str
    count: int


class FiguresOut(Schema):
    start: date
    end: date
    open_total: int
    open_by_state: list[Tally]
    open_by_kind: list[Tally]
    at_risk: int
    breached: int
    complaints: int
    resolved: int
    unresolved: int
    withdrawn: int
    resolved_within_weeks: dict[str, float | None] = Field(
        description="Share of complaints resolved within 1, 6 ... weeks, in percent."
    )
    adr_letters: int
    adr_letters_by_trigger: list[Tally]
    referred: int
    median_acknowledge_hours: float | None
    median_resolve_days: float | None


class StaffOut(Schema):
    user_id: int
    name: str
    role: str


# --------------------------------------------------------------------------- webhooks


class EndpointIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://crm.example.net/hooks/complaints",
                    "types": ["case.opened", "case.state_changed", "adr_letter.issued"],
                    "description": "CRM",
                }
            ]
        },
    )

    url: str = Field(max_length=500)
    types: list[WebhookType] = Field(min_length=1, max_length=20)
    description: str = Field(default="", max_length=200)


class EndpointPatch(Strict):
    url: str | None = Field(default=None, max_length=500)
    types: list[WebhookType] | None = Field(default=None, min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=200)
    enabled: StrictBool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    types: list[str]
    description: str
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks): shown only in this answer."
    )


class DeliveryOut(Schema):
    id: int
    msg_id: str
    type: str
    case_reference: str | None
    event_sequence: int
    status: WebhookStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str
    sent_at: datetime | None
    body: str


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class TokenInfo(Schema):
    name: str
    prefix: str
    scopes: list[ApiScope]
    provider: str
