"""Every endpoint of the served OpenAPI document, with an allowed and a forbidden token: none,
revoked, another provider's, and one without the endpoint's scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from amends.api.api import api as ninja_api
from amends.cases import actions
from amends.cases.actors import token_actor
from amends.cases.models import Case, Compensation, Customer
from amends.comms.models import WebhookDelivery
from amends.comms.webhooks import webhook_endpoint_create
from amends.providers.models import ApiToken, CodeVersion
from tests.api.conftest import Api, Tokens, as_token

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    scope: str | None


def operations() -> list[Operation]:
    schema = ninja_api.get_openapi_schema()
    found = []
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            found.append(
                Operation(method.upper(), path.removeprefix("/api/v1"), op["operationId"], None)
            )
    return found


def required_scope(op: Operation) -> str | None:
    if op.path.startswith("/webhooks"):
        return "webhooks"
    if op.path == "/me":
        return None
    if op.method == "GET" or op.operation_id == "code_versions_check":
        return "read"
    return "write"


OPERATIONS = operations()


def test_the_document_lists_every_endpoint_once_with_an_operation_id() -> None:
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40
    assert {"cases_create", "cases_get", "cases_list", "cases_close", "cases_messages"} <= set(ids)


@dataclass
class Objects:
    ids: dict[str, str]


@pytest.fixture
def objects(tokens: Tokens) -> Objects:
    """One object of V4VoIP (the provider of ``tokens.full``) for every path parameter."""
    token = ApiToken.objects.get(prefix=tokens.full[:13])
    actor = token_actor(token)
    now = timezone.now()
    case = Case.objects.filter(provider=tokens.v4voip, state="received").first()
    assert case is not None
    credit = actions.case_record_compensation(
        case_id=case.pk,
        actor=actor,
        amount_pence=500,
        reason="Goodwill",
        form="invoice_credit",
        basis="goodwill",
        now=now,
    )
    endpoint = webhook_endpoint_create(
        actor=actor, url="https://crm.example.net/hook", types=["case.opened"], now=now
    )
    actions.case_add_note(case_id=case.pk, actor=actor, text="for a state change", now=now)
    delivery = WebhookDelivery.objects.create(
        provider=tokens.v4voip,
        endpoint=endpoint,
        case=case,
        event_sequence=1,
        type="case.opened",
        msg_id="msg_test_access",
        body="{}",
        created_at=now,
        next_attempt_at=now,
    )
    customer = Customer.objects.filter(provider=tokens.v4voip).first()
    version = CodeVersion.objects.filter(provider=tokens.v4voip).first()
    assert customer is not None and version is not None
    return Objects(
        {
            "reference": case.reference,
            "customer_id": str(customer.pk),
            "compensation_id": str(credit.pk),
            "version_id": str(version.pk),
            "endpoint_id": str(endpoint.pk),
            "delivery_id": str(delivery.pk),
        }
    )


#: A valid body for each write that needs one (so that only the token decides the answer).
BODIES: dict[str, dict[str, Any]] = {
    "cases_assign": {"handler_id": 1},
    "cases_record_update": {"channel": "phone"},
    "cases_agree_updates": {"interval": "1 week"},
    "cases_escalate": {"reason": "The customer asked"},
    "cases_propose_resolution": {"proposal": "A credit"},
    "cases_accept_resolution": {"by": "Customer", "how": "phone"},
    "cases_reject_resolution": {"by": "Customer", "how": "phone"},
    "cases_reopen": {"reason": "Asked again"},
    "cases_declare_deadlock": {"final_position": "Our final position"},
    "cases_request_adr_letter": {"by": "Customer", "how": "phone"},
    "cases_refer_to_scheme": {"scheme_reference": "CO-1"},
    "cases_scheme_declined": {"reason": "Out of time"},
    "cases_record_scheme_decision": {"outcome": "upheld"},
    "cases_withdraw": {"by": "Customer", "how": "phone"},
    "cases_convert_to_complaint": {"reason": "Unhappy"},
    "cases_log_call": {"direction": "inbound", "summary": "Called"},
    "cases_merge": {"duplicate": "V4V-26-000002-W"},
    "cases_add_note": {"text": "A note"},
    "cases_messages": {"text": "Hello"},
    "cases_record_compensation": {"amount_pence": 100, "reason": "Goodwill"},
    "compensation_mark_applied": {"invoice_reference": "INV-1"},
    "customers_create": {"contact_name": "A Customer"},
    "cases_create": {
        "kind": "complaint",
        "channel": "email",
        "first_received_at": "2026-11-30T09:00:00Z",
        "summary": "A complaint",
        "customer": {"contact_name": "A Customer"},
    },
    "code_versions_check": {"content": "not a code"},
    "webhook_endpoints_create": {"url": "https://crm.example.net/x", "types": ["case.opened"]},
}


def call(client: Api, op: Operation, objects: Objects) -> Any:
    path = op.path
    for name, value in objects.ids.items():
        path = path.replace("{" + name + "}", value)
    headers = {"If-Match": "*"}
    if op.method == "GET":
        return client.get(path)
    if op.method == "DELETE":
        return client.delete(path)
    if op.method == "PATCH":
        return client.patch(path, {})
    return client.post(path, BODIES.get(op.operation_id, {}), **headers)


def test_every_endpoint_refuses_no_token_and_a_revoked_one(
    tokens: Tokens, objects: Objects
) -> None:
    wrong = []
    for op in OPERATIONS:
        for token in (None, tokens.revoked):
            answer = call(as_token(token), op, objects)
            if answer.status_code != 401 or answer["Content-Type"] != PROBLEM:
                wrong.append((op.operation_id, answer.status_code))
    assert wrong == []


def test_every_endpoint_refuses_a_token_without_its_scope_and_lets_one_with_it(
    tokens: Tokens, objects: Objects
) -> None:
    by_scope = {"read": tokens.read, "write": tokens.write, "webhooks": tokens.hooks}
    wrong = []
    for op in OPERATIONS:
        scope = required_scope(op)
        allowed = call(as_token(by_scope[scope] if scope else tokens.read), op, objects)
        if allowed.status_code in (401, 403):
            wrong.append((op.operation_id, scope, allowed.status_code))
        for other, token in by_scope.items():
            if scope is None or other == scope:
                continue
            answer = call(as_token(token), op, objects)
            if answer.status_code != 403 or answer.json()["code"] != "forbidden":
                wrong.append((op.operation_id, other, answer.status_code))
    assert wrong == []


def test_another_providers_token_gets_404_for_every_object(
    tokens: Tokens, objects: Objects
) -> None:
    before = (Case.objects.count(), Compensation.objects.filter(applied_at=None).count())
    wrong = []
    with_ids = [op for op in OPERATIONS if "{" in op.path]
    assert len(with_ids) >= 30
    for op in with_ids:
        answer = call(as_token(tokens.other), op, objects)
        if answer.status_code != 404 or answer["Content-Type"] != PROBLEM:
            wrong.append((op.operation_id, answer.status_code))
    assert wrong == []
    assert (Case.objects.count(), Compensation.objects.filter(applied_at=None).count()) == before
