"""The API's cases: open, read, list, act, with ETags, idempotency and problems."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from amends.cases.models import Case, Customer
from amends.comms.models import OutboxMessage
from tests.api.conftest import Api, Tokens, as_token

PROBLEM = "application/problem+json"


def new_case(api: Api, **extra: Any) -> Any:
    headers = extra.pop("headers", {})
    body = {
        "kind": "complaint",
        "channel": "email",
        "first_received_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "summary": "Broadband drops every evening",
        "customer": {
            "contact_name": "Priya Shah",
            "business_name": "Shah Dental Ltd",
            "email": "priya@shahdental.example",
        },
        **extra,
    }
    return api.post("/cases", body, **headers)


def test_a_case_opened_through_the_api_has_its_clocks_and_acknowledgement(
    api: Api, tokens: Tokens
) -> None:
    answer = new_case(api)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert answer["Location"] == f"/api/v1/cases/{body['reference']}"
    assert answer["ETag"] == f'"{body["version"]}"'
    case = Case.objects.get(reference=body["reference"])
    assert case.provider_id == tokens.v4voip.pk
    assert case.customer.contact_name == "Priya Shah"
    assert body["state"] == "received"
    assert {c["kind"] for c in body["clocks"]} >= {"resolve", "adr_letter"}
    assert body["timeline"][0]["kind"] == "case_opened"
    assert body["timeline"][0]["actor"].startswith("token:")
    assert OutboxMessage.objects.filter(case=case, kind="acknowledgement").count() == 1


def test_a_case_for_an_existing_customer_and_never_anothers(api: Api, tokens: Tokens) -> None:
    mine = Customer.objects.filter(provider=tokens.v4voip).first()
    theirs = Customer.objects.filter(provider=tokens.iss).first()
    assert mine is not None and theirs is not None
    body = {
        "kind": "account_query",
        "channel": "email",
        "first_received_at": timezone.now().isoformat(),
        "summary": "Question about my bill",
    }
    ok = api.post("/cases", {**body, "customer_id": mine.pk})
    assert ok.status_code == 201, ok.content
    assert ok.json()["customer"]["id"] == mine.pk
    refused = api.post("/cases", {**body, "customer_id": theirs.pk})
    assert refused.status_code == 422
    assert refused["Content-Type"] == PROBLEM
    assert refused.json()["errors"][0]["pointer"] == "#/customer"
    both = api.post(
        "/cases", {**body, "customer_id": mine.pk, "customer": {"contact_name": "Someone"}}
    )
    assert both.status_code == 422


def test_a_refused_intake_leaves_no_customer_behind(api: Api, tokens: Tokens) -> None:
    before = Customer.objects.count()
    answer = new_case(api, first_received_at=(timezone.now() - timedelta(days=3)).isoformat())
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["pointer"] == "#/first_received_note"
    assert Customer.objects.count() == before


def test_bad_values_are_problems_pointing_at_each_field(api: Api) -> None:
    answer = api.post(
        "/cases",
        {
            "kind": "grumble",
            "channel": "phone",
            "first_received_at": "yesterday",
            "summary": "x" * 300,
            "customer": {"contact_name": "A", "nickname": "B"},
        },
    )
    assert answer.status_code == 422
    assert answer["Content-Type"] == PROBLEM
    pointers = {e["pointer"] for e in answer.json()["errors"]}
    assert {"#/kind", "#/first_received_at", "#/summary", "#/customer/nickname"} <= pointers
    naive = new_case(api, first_received_at="2026-11-30T09:00:00")
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["pointer"] == "#/first_received_at"
    not_json = api.client.post(
        "/api/v1/cases",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert not_json.status_code in (400, 422)
    assert not_json["Content-Type"] == PROBLEM


def test_an_action_needs_the_etag_and_a_stale_one_is_refused(api: Api) -> None:
    created = new_case(api).json()
    path = f"/cases/{created['reference']}/acknowledge"
    missing = api.post(path, {})
    assert missing.status_code == 428
    assert missing["Content-Type"] == PROBLEM
    ok = api.post(path, {}, **{"If-Match": f'"{created["version"]}"'})
    assert ok.status_code == 200, ok.content
    assert ok.json()["state"] == "acknowledged"
    assert ok["ETag"] == f'"{created["version"] + 1}"'
    stale = api.post(
        f"/cases/{created['reference']}/add-note",
        {"text": "written over an old page"},
        **{"If-Match": f'"{created["version"]}"'},
    )
    assert stale.status_code == 412
    assert "changed" in stale.json()["detail"]


def test_the_lifecycle_refuses_with_its_reason_as_409(api: Api) -> None:
    created = new_case(api).json()
    answer = api.post(
        f"/cases/{created['reference']}/close", {}, **{"If-Match": f'"{created["version"]}"'}
    )
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["code"] == "refused"
    assert problem["detail"]
    assert Case.objects.get(reference=created["reference"]).state == "received"


def test_a_complaint_through_to_deadlock_and_the_adr_letter(api: Api) -> None:
    created = new_case(api).json()
    ref = created["reference"]
    version = created["version"]

    def act(slug: str, body: dict[str, Any]) -> dict[str, Any]:
        nonlocal version
        answer = api.post(f"/cases/{ref}/{slug}", body, **{"If-Match": f'"{version}"'})
        assert answer.status_code == 200, (slug, answer.content)
        version = answer.json()["version"]
        return answer.json()

    act("acknowledge", {})
    act("investigate", {})
    act("propose-resolution", {"proposal": "A credit of £30."})
    act("reject-resolution", {"by": "Priya Shah", "how": "phone", "reason": "Not enough"})
    final = act("declare-deadlock", {"final_position": "We stand by our offer."})
    assert final["adr_letter_issued_at"] is not None
    assert final["adr_letter_trigger"] == "deadlock"
    assert OutboxMessage.objects.filter(case__reference=ref, kind="adr_letter").count() == 1
    kinds = [e["kind"] for e in final["timeline"]]
    assert "declare_deadlock" in kinds and "issue_adr_letter" in kinds


def test_list_filters_and_cursor_pages_of_the_tokens_provider_only(
    api: Api, tokens: Tokens
) -> None:
    mine = Case.objects.filter(provider=tokens.v4voip).count()
    seen: list[str] = []
    cursor = ""
    for _ in range(100):
        answer = api.get(f"/cases?limit=7{'&cursor=' + cursor if cursor else ''}")
        assert answer.status_code == 200
        page = answer.json()
        seen += [c["reference"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == mine
    assert all(r.startswith("V4V") for r in seen)
    open_only = api.get("/cases?open=true&limit=100").json()["items"]
    assert open_only and all(c["state"] not in ("closed", "withdrawn") for c in open_only)
    by_state = api.get("/cases?state=closed&state=withdrawn&limit=100").json()["items"]
    assert {c["state"] for c in by_state} <= {"closed", "withdrawn"}
    assert api.get("/cases?cursor=garbage").status_code == 422


def test_another_providers_case_is_not_found_like_no_case(api: Api, tokens: Tokens) -> None:
    theirs = Case.objects.filter(provider=tokens.iss).first()
    assert theirs is not None
    other = api.get(f"/cases/{theirs.reference}")
    none = api.get("/cases/V4V-26-999999-X")
    assert other.status_code == none.status_code == 404
    assert other.json()["detail"] == none.json()["detail"]
    act = api.post(f"/cases/{theirs.reference}/add-note", {"text": "x"}, **{"If-Match": '"1"'})
    assert act.status_code == 404


def test_idempotency_key_makes_one_case_and_replays_the_answer(api: Api) -> None:
    headers = {"Idempotency-Key": "crm-call-42"}
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    first = new_case(api, headers=headers, first_received_at=at)
    again = new_case(api, headers=headers, first_received_at=at)
    assert first.status_code == again.status_code == 201
    assert first.json()["reference"] == again.json()["reference"]
    assert again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"]
    assert Case.objects.filter(summary="Broadband drops every evening").count() == 1
    other_body = new_case(api, headers=headers, first_received_at=at, summary="Other")
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_mismatch"


def test_a_refusal_is_not_kept_under_its_key(api: Api) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    bad = new_case(api, headers=headers, first_received_at="2026-11-30T09:00:00")
    assert bad.status_code == 422
    good = new_case(api, headers=headers)
    assert good.status_code == 201


def test_tokens_without_the_scope_or_revoked_are_refused(tokens: Tokens) -> None:
    read = as_token(tokens.read)
    assert read.get("/cases").status_code == 200
    written = new_case(read)
    assert written.status_code == 403
    assert written["Content-Type"] == PROBLEM
    write_only = as_token(tokens.write)
    assert write_only.get("/cases").status_code == 403  # GET needs read
    assert write_only.get("/figures").status_code == 403
    assert new_case(write_only).status_code == 201
    hooks_only = as_token(tokens.hooks)
    assert hooks_only.get("/cases").status_code == 403
    assert new_case(hooks_only).status_code == 403
    for bad in (tokens.revoked, "amends_" + "x" * 43, "nonsense", None):
        answer = as_token(bad).get("/cases")
        assert answer.status_code == 401
        assert answer["Content-Type"] == PROBLEM
        assert answer["WWW-Authenticate"].startswith("Bearer")


def test_the_rate_limit_answers_429_with_retry_after(api: Api, settings: Any) -> None:
    settings.AMENDS_API_RATE_PER_MINUTE = 3
    codes = [api.get("/me").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert 429 in codes[3:]
    limited = api.get("/me")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1


def test_compensation_recorded_listed_until_billing_marks_it_applied(api: Api) -> None:
    created = new_case(api).json()
    recorded = api.post(
        f"/cases/{created['reference']}/compensation",
        {"amount_pence": 3000, "reason": "Three days without service"},
        **{"If-Match": f'"{created["version"]}"'},
    )
    assert recorded.status_code == 201, recorded.content
    credit = recorded.json()
    owed = api.get("/compensation?applied=false&limit=100").json()["items"]
    assert credit["id"] in [c["id"] for c in owed]
    applied = api.post(
        f"/compensation/{credit['id']}/applied", {"invoice_reference": "INV-2026-11-0042"}
    )
    assert applied.status_code == 200, applied.content
    assert applied.json()["invoice_reference"] == "INV-2026-11-0042"
    owed = api.get("/compensation?applied=false&limit=100").json()["items"]
    assert credit["id"] not in [c["id"] for c in owed]
