"""The API attacked the way an attacker or a careless integrator would: another provider's ids
in every place an id goes, tokens sent oddly, If-Match and Idempotency-Key abused, bodies
too big, too deep or not JSON, forged cursors, the lifecycle pushed, and every error a
problem with nothing of the server or of people in it."""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from amends.api.models import IdempotencyKey
from amends.cases.models import Case, Compensation, Customer, Event
from amends.comms.models import WebhookDelivery, WebhookEndpoint
from amends.providers.models import ApiToken, StaffMember
from tests.api.conftest import Api, Tokens, as_token, make_token

PROBLEM = "application/problem+json"


# --------------------------------------------------------------------------- helpers


def case_body(**extra: Any) -> dict[str, Any]:
    return {
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


def opened(api: Api, **extra: Any) -> dict[str, Any]:
    answer = api.post("/cases", case_body(**extra))
    assert answer.status_code == 201, answer.content
    return dict(answer.json())


def raw(
    token: str | None,
    method: str,
    path: str,
    body: bytes | str = b"",
    content_type: str = "application/json",
    **headers: str,
) -> Any:
    """A request exactly as given (bytes, content type, headers)."""
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return Client().generic(
        method, f"/api/v1{path}", data=body, content_type=content_type, headers=headers
    )


def act(api: Api, reference: str, slug: str, body: Any, version: int | str) -> Any:
    tag = version if isinstance(version, str) else f'"{version}"'
    return api.post(f"/cases/{reference}/{slug}", body, **{"If-Match": tag})


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == PROBLEM, (answer["Content-Type"], answer.content[:200])
    body = answer.json()
    assert body["status"] == status
    text = answer.content.decode()
    for leak in ("Traceback", 'File "', "SELECT ", "INSERT ", "UPDATE ", "sqlite", "psycopg"):
        assert leak not in text, text
    return dict(body)


def v4v_case(tokens: Tokens) -> Case:
    case = Case.objects.filter(provider=tokens.v4voip).first()
    assert case is not None
    return case


def iss_case(tokens: Tokens) -> Case:
    case = Case.objects.filter(provider=tokens.iss).first()
    assert case is not None
    return case


# --------------------------------------------------------------------------- other providers


def test_assigning_another_providers_staff_is_refused_like_no_one(api: Api, tokens: Tokens) -> None:
    created = opened(api)
    theirs = StaffMember.objects.filter(provider=tokens.iss, role="case_handler").get()
    mine = StaffMember.objects.filter(provider=tokens.v4voip, role="case_handler").get()
    refused = act(api, created["reference"], "assign", {"handler_id": theirs.user_id}, 1)
    none = act(api, created["reference"], "assign", {"handler_id": 10**9}, 1)
    assert assert_problem(refused, 422)["errors"][0]["pointer"] == "#/handler_id"
    assert refused.json()["detail"] == none.json()["detail"]
    for odd in (2**70, -1, 0, "1", True):
        assert_problem(act(api, created["reference"], "assign", {"handler_id": odd}, 1), 422)
    assert Case.objects.get(reference=created["reference"]).handler_id is None
    ok = act(api, created["reference"], "assign", {"handler_id": mine.user_id}, 1)
    assert ok.status_code == 200, ok.content


def test_merging_another_providers_case_is_refused_like_no_case(api: Api, tokens: Tokens) -> None:
    created = opened(api)
    theirs = iss_case(tokens)
    refused = act(api, created["reference"], "merge", {"duplicate": theirs.reference}, 1)
    none = act(api, created["reference"], "merge", {"duplicate": "V4V-26-999999-X"}, 1)
    assert assert_problem(refused, 422)["detail"] == none.json()["detail"]
    assert refused.json()["errors"][0]["pointer"] == "#/duplicate"
    theirs.refresh_from_db()
    assert theirs.merged_into_id is None and theirs.state != "merged"


def test_a_merge_refused_by_the_service_points_at_the_body_field(api: Api) -> None:
    created = opened(api)
    itself = act(api, created["reference"], "merge", {"duplicate": created["reference"]}, 1)
    assert assert_problem(itself, 422)["errors"][0]["pointer"] == "#/duplicate"


def test_opening_a_case_for_another_providers_customer_is_refused(api: Api, tokens: Tokens) -> None:
    theirs = Customer.objects.filter(provider=tokens.iss).first()
    assert theirs is not None
    before = Case.objects.filter(customer=theirs).count()
    body = case_body()
    del body["customer"]
    refused = api.post("/cases", {**body, "customer_id": theirs.pk})
    none = api.post("/cases", {**body, "customer_id": 10**9})
    assert assert_problem(refused, 422)["detail"] == none.json()["detail"]
    assert Case.objects.filter(customer=theirs).count() == before


def test_marking_another_providers_compensation_applied_is_not_found(
    api: Api, tokens: Tokens
) -> None:
    other = as_token(tokens.other)
    theirs = iss_case(tokens)
    credit = other.post(
        f"/cases/{theirs.reference}/compensation",
        {"amount_pence": 500, "reason": "Goodwill"},
        **{"If-Match": f'"{theirs.version}"'},
    )
    assert credit.status_code == 201, credit.content
    answer = api.post(f"/compensation/{credit.json()['id']}/applied", {"invoice_reference": "X"})
    assert_problem(answer, 404)
    assert Compensation.objects.get(pk=credit.json()["id"]).applied_at is None
    listed = api.get("/compensation?limit=100").json()["items"]
    assert credit.json()["id"] not in [c["id"] for c in listed]


def test_another_providers_webhook_endpoint_and_deliveries_are_not_found(
    api: Api, tokens: Tokens, settings: Any
) -> None:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    other = as_token(tokens.other)
    made = other.post(
        "/webhooks/endpoints", {"url": "https://hooks.example.net/x", "types": ["case.opened"]}
    )
    assert made.status_code == 201, made.content
    endpoint = WebhookEndpoint.objects.get(pk=made.json()["id"])
    delivery = WebhookDelivery.objects.create(
        provider=tokens.iss,
        endpoint=endpoint,
        case=iss_case(tokens),
        event_sequence=1,
        type="case.opened",
        msg_id="msg_redteam",
        body="{}",
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    pk = endpoint.pk
    for answer in (
        api.get(f"/webhooks/endpoints/{pk}"),
        api.patch(f"/webhooks/endpoints/{pk}", {"url": "https://evil.example.net/"}),
        api.patch(f"/webhooks/endpoints/{pk}", {"enabled": False}),
        api.delete(f"/webhooks/endpoints/{pk}"),
        api.get(f"/webhooks/endpoints/{pk}/deliveries"),
        api.post(f"/webhooks/deliveries/{delivery.pk}/replay"),
    ):
        assert_problem(answer, 404)
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.net/x"
    assert endpoint.disabled_at is None and endpoint.deleted_at is None
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1
    assert pk not in [e["id"] for e in api.get("/webhooks/endpoints").json()]


def test_filters_with_another_providers_ids_find_nothing(api: Api, tokens: Tokens) -> None:
    theirs = iss_case(tokens)
    handler = StaffMember.objects.filter(provider=tokens.iss).first()
    assert handler is not None
    Case.objects.filter(pk=theirs.pk).update(handler_id=handler.user_id)
    for query in (
        f"customer_id={theirs.customer_id}",
        f"handler_id={handler.user_id}",
        f"kind={theirs.kind}&state={theirs.state}",
    ):
        items = api.get(f"/cases?limit=100&{query}").json()["items"]
        assert theirs.reference not in [c["reference"] for c in items], query
    assert_problem(api.get(f"/customers/{theirs.customer_id}"), 404)
    names = [c["contact_name"] for c in api.get("/customers?limit=100").json()["items"]]
    emails = api.get(f"/customers?email={theirs.customer.email or 'x@y.z'}").json()["items"]
    assert all(c["id"] != theirs.customer_id for c in emails)
    assert len(names) == Customer.objects.filter(provider=tokens.v4voip).count()
    staff = {m["user_id"] for m in api.get("/staff").json()}
    assert staff == set(
        StaffMember.objects.filter(provider=tokens.v4voip).values_list("user_id", flat=True)
    )


def test_a_forged_cursor_pages_only_the_tokens_provider(api: Api, tokens: Tokens) -> None:
    top = Case.objects.order_by("-id").values_list("id", flat=True).first()
    assert top is not None
    for last in (top + 1, 10**12, 1):
        cursor = base64.urlsafe_b64encode(f"id:{last}".encode()).decode().rstrip("=")
        answer = api.get(f"/cases?limit=100&cursor={cursor}")
        assert answer.status_code == 200, answer.content
        assert all(c["reference"].startswith("V4V") for c in answer.json()["items"])
        for path in ("/customers", "/compensation"):
            assert api.get(f"{path}?cursor={cursor}").status_code == 200
    cases = api.get("/cases?limit=100").json()["items"]
    assert {c["reference"] for c in cases} == set(
        Case.objects.filter(provider=tokens.v4voip).values_list("reference", flat=True)
    )


@pytest.mark.parametrize(
    "text",
    [
        "id:-5",
        "id:",
        "id:1.5",
        "id:1e9",
        "id:99999999999999999999999",
        "id:\u00b2",
        "id:\u0661",
        "x" * 5000,
        "id:1\x00",
    ],
)
def test_a_garbage_cursor_is_a_422_problem(api: Api, text: str) -> None:
    cursor = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    for path in ("/cases", "/customers", "/compensation"):
        assert_problem(api.get(f"{path}?cursor={cursor}"), 422)
    assert_problem(api.get("/cases?cursor=%00"), 422)


def test_huge_and_negative_ids_in_paths_and_queries_are_not_found(api: Api) -> None:
    for number in ("99999999999999999999999", "-1", "0", "9223372036854775808"):
        assert_problem(api.get(f"/customers/{number}"), 404)
        assert_problem(api.get(f"/code-versions/{number}"), 404)
        assert_problem(api.get(f"/webhooks/endpoints/{number}"), 404)
        assert_problem(api.get(f"/webhooks/endpoints/{number}/deliveries"), 404)
        assert_problem(api.post(f"/compensation/{number}/applied", {"invoice_reference": "I"}), 404)
        assert_problem(api.post(f"/webhooks/deliveries/{number}/replay"), 404)
        listed = api.get(f"/cases?customer_id={number}&handler_id={number}")
        assert listed.status_code in (200, 422), listed.content
        assert listed.json().get("items", []) == []
    assert_problem(api.get("/customers/abc"), 422)


# --------------------------------------------------------------------------- tokens


def test_a_token_in_the_query_string_or_a_cookie_is_ignored(tokens: Tokens) -> None:
    for path in (f"/cases?access_token={tokens.full}", f"/cases?token={tokens.full}"):
        assert_problem(raw(None, "GET", path), 401)
    client = Client()
    client.cookies["Authorization"] = f"Bearer {tokens.full}"
    assert_problem(client.get("/api/v1/cases"), 401)


@pytest.mark.parametrize(
    "header",
    [
        "bearer {t}",
        "BEARER {t}",
        "Bearer {t}",
    ],
)
def test_the_bearer_scheme_is_case_insensitive(tokens: Tokens, header: str) -> None:
    answer = raw(None, "GET", "/me", Authorization=header.format(t=tokens.full))
    assert answer.status_code == 200, answer.content


@pytest.mark.parametrize(
    "header",
    [
        "{t}",
        "Token {t}",
        "Basic {t}",
        "Bearer",
        "Bearer ",
        "Bearer {T}",
        "Bearer {t}x",
        "Bearer {t}\t",
        "Bearer \t{t}",
        "Bearer {t},{t}",
        "Bearer {t} {t}",
        "Bearer amends_" + "A" * 10_000,
        "Bearer " + "x" * 60_000,
        "Bearer {t}\x00",
        "Bearer amends_" + "\u00e9" * 13,
    ],
)
def test_a_malformed_authorization_header_is_a_401_problem(tokens: Tokens, header: str) -> None:
    value = header.format(t=tokens.full, T=tokens.full.upper())
    answer = raw(None, "GET", "/cases", Authorization=value)
    body = assert_problem(answer, 401)
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert tokens.full not in json.dumps(body)


def test_a_revoked_token_stops_working_on_the_next_request(tokens: Tokens) -> None:
    from amends.cases.actors import staff_actor
    from amends.providers.tokens import api_token_revoke

    token = make_token("v4voip", "read", "write", name="soon revoked")
    client = as_token(token)
    created = opened(client)
    assert client.get(f"/cases/{created['reference']}").status_code == 200
    admin = StaffMember.objects.get(provider=tokens.v4voip, role="admin")
    api_token_revoke(
        actor=staff_actor(admin),
        token_id=ApiToken.objects.get(name="soon revoked").pk,
        now=timezone.now(),
    )
    assert_problem(client.get(f"/cases/{created['reference']}"), 401)
    assert_problem(act(client, created["reference"], "acknowledge", {}, created["version"]), 401)
    assert Case.objects.get(reference=created["reference"]).state == "received"


def test_the_rate_limit_is_per_token_and_not_dodged_by_the_header_spelling(
    tokens: Tokens, settings: Any
) -> None:
    settings.AMENDS_API_RATE_PER_MINUTE = 3
    token = make_token("v4voip", "read", name="limited")
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer {token}"]
    answers = [raw(None, "GET", "/me", Authorization=s).status_code for s in spellings * 2]
    assert answers[:3] == [200, 200, 200]
    assert set(answers[3:]) == {429}
    # Another spelling of the token itself is not the token: no entry, and no dodge.
    for odd in (token.upper(), f" {token}", f"{token} "):
        assert raw(None, "GET", "/me", Authorization=f"Bearer {odd}").status_code in (401, 429)
    limited = raw(None, "GET", "/me", Authorization=f"Bearer {token}")
    assert_problem(limited, 429)
    assert 1 <= int(limited["Retry-After"]) <= 61
    # Another token of the same provider has its own count.
    assert as_token(tokens.read).get("/me").status_code == 200


def test_a_token_without_the_scope_is_refused_before_its_body_is_read(tokens: Tokens) -> None:
    read = tokens.read
    for body in (b"{not json", b"\xff\xfe", b"[]" * 100_000):
        answer = raw(read, "POST", "/cases", body)
        assert_problem(answer, 403)
    hooks = tokens.hooks
    assert_problem(raw(hooks, "POST", "/cases", b"{"), 403)
    assert_problem(raw(tokens.write, "POST", "/webhooks/endpoints", b"{"), 403)


def test_me_tells_the_token_nothing_of_its_secret(tokens: Tokens) -> None:
    me = as_token(tokens.full).get("/me")
    assert me.status_code == 200
    assert tokens.full not in me.content.decode()
    assert me.json()["prefix"] == tokens.full[:13]


def test_a_token_sent_with_another_scheme_never_reaches_the_logs_even_in_debug(
    tokens: Tokens, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)
    for header in (f"Token {tokens.full}", f"Basic {tokens.full}", tokens.full):
        assert_problem(raw(None, "GET", "/cases", Authorization=header), 401)
    assert tokens.full not in caplog.text
    assert tokens.full[7:] not in caplog.text


# --------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize(
    "tag",
    [
        '"x"',
        "garbage",
        '"-1"',
        "-1",
        '"1.0"',
        '"0x1"',
        '"99999999999999999999"',
        '""',
        "",
        '"\u00b2"',
        '"\u0661"',
        '"1", "2"',
        '"1" "2"',
        "W/",
        '"1',
    ],
)
def test_a_malformed_if_match_is_a_problem_and_changes_nothing(api: Api, tag: str) -> None:
    created = opened(api)
    answer = act(api, created["reference"], "acknowledge", {}, tag)
    assert answer.status_code in (412, 422, 428), (tag, answer.content)
    assert_problem(answer, answer.status_code)
    assert Case.objects.get(reference=created["reference"]).state == "received"


def test_if_match_takes_the_etag_weak_or_strong_and_refuses_another_version(api: Api) -> None:
    created = opened(api)
    ref, version = created["reference"], created["version"]
    assert_problem(act(api, ref, "acknowledge", {}, f'"{version + 1}"'), 412)
    assert_problem(act(api, ref, "acknowledge", {}, f'"{version - 1}"'), 412)
    assert_problem(act(api, ref, "acknowledge", {}, '"999999999"'), 412)
    # A proxy that compresses answers may have weakened the ETag on its way to the client.
    weak = act(api, ref, "acknowledge", {}, f'W/"{version}"')
    assert weak.status_code == 200, weak.content
    spaced = act(api, ref, "investigate", {}, f'  "{version + 1}"  ')
    assert spaced.status_code == 200, spaced.content


def test_if_match_star_acts_on_the_case_as_it_is_now(api: Api) -> None:
    """RFC 9110 13.1.1: ``*`` matches any current version of an existing resource."""
    created = opened(api)
    ok = act(api, created["reference"], "acknowledge", {}, "*")
    assert ok.status_code == 200, ok.content
    assert_problem(act(api, "V4V-26-999999-X", "acknowledge", {}, "*"), 404)


def test_two_different_keys_racing_on_one_case_action_one_gets_412(
    tokens_committed: Tokens,
) -> None:
    client = Api(tokens_committed.full)
    created = opened(client)
    ref, version = created["reference"], created["version"]
    start = threading.Barrier(2)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def post(key: str) -> None:
        try:
            mine = Api(tokens_committed.full)
            start.wait(timeout=30)
            answers.append(
                mine.post(
                    f"/cases/{ref}/add-note",
                    {"text": f"note {key}"},
                    **{"If-Match": f'"{version}"', "Idempotency-Key": key},
                )
            )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(k,)) for k in ("race-a", "race-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(a.status_code for a in answers) == [200, 412], [a.content for a in answers]
    loser = next(a for a in answers if a.status_code == 412)
    assert loser["Content-Type"] == PROBLEM
    assert Event.objects.filter(case__reference=ref, kind="note_added").count() == 1
    # The loser's key was not kept: it may read the case again and retry with it.
    assert IdempotencyKey.objects.filter(key__in=["race-a", "race-b"]).count() == 1


# --------------------------------------------------------------------------- Idempotency-Key


def test_a_key_used_by_one_provider_never_replays_its_answer_to_another(
    api: Api, tokens: Tokens
) -> None:
    key = {"Idempotency-Key": "crm-0001"}
    body = case_body()
    mine = api.post("/cases", body, **key)
    assert mine.status_code == 201, mine.content
    theirs = as_token(tokens.other).post("/cases", body, **key)
    assert theirs.status_code == 201, theirs.content
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["reference"].startswith("ISS")
    assert mine.json()["reference"] != theirs.json()["reference"]
    assert Case.objects.get(reference=theirs.json()["reference"]).provider_id == tokens.iss.pk
    # Each replays its own.
    again = as_token(tokens.other).post("/cases", body, **key)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == theirs.json()["reference"]


def test_a_key_is_the_providers_so_a_retry_with_a_rotated_token_makes_no_second_case(
    api: Api, tokens: Tokens
) -> None:
    """Keys are per provider, not per token: a retry sent after the CRM's token was replaced
    replays the first answer instead of making the case again."""
    key = {"Idempotency-Key": "crm-rotated"}
    body = case_body()
    first = api.post("/cases", body, **key)
    again = as_token(tokens.write).post("/cases", body, **key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == first.json()["reference"]
    # A token without the route's scope is refused before any key is looked at.
    assert_problem(as_token(tokens.read).post("/cases", body, **key), 403)
    assert_problem(as_token(tokens.hooks).post("/cases", body, **key), 403)


def test_the_same_key_on_another_path_is_refused_and_does_nothing(api: Api) -> None:
    created = opened(api)
    ref = created["reference"]
    key = {"Idempotency-Key": "one-key"}
    first = api.post(f"/cases/{ref}/add-note", {"text": "A"}, **key, **{"If-Match": "*"})
    assert first.status_code == 200, first.content
    other = api.post(f"/cases/{ref}/messages", {"text": "A"}, **key, **{"If-Match": "*"})
    assert assert_problem(other, 422)["code"] == "idempotency_mismatch"
    other_case = opened(api)
    same_slug = api.post(
        f"/cases/{other_case['reference']}/add-note", {"text": "A"}, **key, **{"If-Match": "*"}
    )
    assert assert_problem(same_slug, 422)["code"] == "idempotency_mismatch"
    assert not Event.objects.filter(
        case__reference=other_case["reference"], kind="note_added"
    ).exists()
    assert not Event.objects.filter(case__reference=ref, kind="message_sent").exists()


def test_the_same_key_with_a_query_string_or_another_content_type_is_the_same_request(
    api: Api,
) -> None:
    body = json.dumps(case_body())
    key = "same-body"
    first = raw(api.token, "POST", "/cases", body, **{"Idempotency-Key": key})
    again = raw(api.token, "POST", "/cases?x=1", body, **{"Idempotency-Key": key})
    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "key",
    ["", " ", "x" * 201, "caf\u00e9", "tab\there", "nul\x00", "new\nline"],
)
def test_a_malformed_key_is_a_400_problem_and_nothing_is_made(api: Api, key: str) -> None:
    before = Case.objects.count()
    answer = raw(api.token, "POST", "/cases", json.dumps(case_body()), **{"Idempotency-Key": key})
    assert_problem(answer, 400)
    assert Case.objects.count() == before


def test_a_key_of_200_printable_characters_is_kept(api: Api) -> None:
    key = "k" * 199 + "~"
    body = case_body()
    first = api.post("/cases", body, **{"Idempotency-Key": key})
    again = api.post("/cases", body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"


def test_a_replay_repeats_the_status_etag_and_location_and_is_json(api: Api) -> None:
    created = opened(api)
    ref = created["reference"]
    headers = {"Idempotency-Key": "ack-1", "If-Match": f'"{created["version"]}"'}
    first = api.post(f"/cases/{ref}/acknowledge", {}, **headers)
    again = api.post(f"/cases/{ref}/acknowledge", {}, **headers)
    assert first.status_code == again.status_code == 200
    assert again["ETag"] == first["ETag"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again.content == first.content
    credit = api.post(
        f"/cases/{ref}/compensation",
        {"amount_pence": 100, "reason": "Goodwill"},
        **{"Idempotency-Key": "credit-1", "If-Match": "*"},
    )
    credit_again = api.post(
        f"/cases/{ref}/compensation",
        {"amount_pence": 100, "reason": "Goodwill"},
        **{"Idempotency-Key": "credit-1", "If-Match": "*"},
    )
    assert credit.status_code == credit_again.status_code == 201
    assert credit_again["Location"] == credit["Location"]
    assert credit_again.content == credit.content
    assert Compensation.objects.filter(case__reference=ref).count() == 1


def test_the_webhook_secret_is_in_the_creation_answer_and_its_replay_only(
    tokens: Tokens, settings: Any
) -> None:
    """A retry after a lost answer must get the secret (the endpoint exists and could not be
    verified otherwise); no read, change or other provider ever shows it."""
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    hooks = as_token(tokens.hooks)
    body = {"url": "https://hooks.example.net/one", "types": ["case.opened"]}
    first = hooks.post("/webhooks/endpoints", body, **{"Idempotency-Key": "hook-1"})
    assert first.status_code == 201, first.content
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    again = hooks.post("/webhooks/endpoints", body, **{"Idempotency-Key": "hook-1"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert WebhookEndpoint.objects.filter(url=body["url"]).count() == 1
    theirs = as_token(tokens.other).post(
        "/webhooks/endpoints", body, **{"Idempotency-Key": "hook-1"}
    )
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert theirs.json()["secret"] != secret
    for answer in (
        hooks.get("/webhooks/endpoints"),
        hooks.get(f"/webhooks/endpoints/{first.json()['id']}"),
        hooks.patch(f"/webhooks/endpoints/{first.json()['id']}", {"description": "CRM"}),
        as_token(tokens.other).get("/webhooks/endpoints"),
    ):
        assert answer.status_code == 200
        assert secret not in answer.content.decode()
        assert "secret" not in answer.content.decode()


# --------------------------------------------------------------------------- bodies


def test_a_ten_megabyte_body_is_a_413_problem(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    before = Case.objects.count()
    body = json.dumps(case_body(description="x" * (10 * 1024 * 1024)))
    answer = raw(api.token, "POST", "/cases", body)
    assert_problem(answer, 413)
    assert Case.objects.count() == before
    assert "Traceback" not in caplog.text


def test_a_body_just_under_the_limit_is_read_and_judged_by_its_fields(api: Api) -> None:
    body = json.dumps(case_body(description="x" * (2 * 1024 * 1024)))
    assert (
        assert_problem(raw(api.token, "POST", "/cases", body), 422)["errors"][0]["pointer"]
        == "#/description"
    )


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_deeply_nested_json_is_a_problem_never_a_500(api: Api, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    for body in (nested, '{"summary": ' + nested + "}"):
        answer = raw(api.token, "POST", "/cases", body)
        assert answer.status_code in (400, 422), answer.content[:200]
        assert_problem(answer, answer.status_code)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("summary", "A\x00B"),
        ("summary", "A\ud800B"),
        ("description", "\udfff"),
        ("category", "\x00"),
        ("first_received_note", "\ud83d"),
    ],
)
def test_nul_and_lone_surrogates_in_a_new_case_are_422_problems(
    api: Api, field: str, value: str
) -> None:
    before = (Case.objects.count(), Customer.objects.count())
    body = json.dumps(case_body(**{field: value}))  # \\u escapes, as a client would send them
    answer = raw(api.token, "POST", "/cases", body)
    assert assert_problem(answer, 422)["errors"][0]["pointer"] == f"#/{field}"
    assert (Case.objects.count(), Customer.objects.count()) == before


@pytest.mark.parametrize("value", ["A\x00B", "A\ud800B"])
def test_nul_and_lone_surrogates_anywhere_are_422_problems(api: Api, value: str) -> None:
    created = opened(api)
    ref = created["reference"]
    customer = case_body()["customer"]
    attempts = [
        ("/cases", case_body(customer={**customer, "contact_name": value})),
        ("/cases", case_body(customer={**customer, "email": value})),
        ("/customers", {"contact_name": value}),
        ("/customers", {"contact_name": "A", "account_number": value}),
        (f"/cases/{ref}/add-note", {"text": value}),
        (f"/cases/{ref}/messages", {"text": value}),
        (f"/cases/{ref}/escalate", {"reason": value}),
        (f"/cases/{ref}/agree-updates", {"interval": value}),
        (f"/cases/{ref}/withdraw", {"by": value, "how": "phone"}),
        (f"/cases/{ref}/request-adr-letter", {"by": value, "how": "phone"}),
        (f"/cases/{ref}/merge", {"duplicate": value}),
        (f"/cases/{ref}/log-call", {"direction": "inbound", "summary": value}),
        (f"/cases/{ref}/compensation", {"amount_pence": 100, "reason": value}),
        (f"/cases/{ref}/compensation", {"amount_pence": 100, "reason": "R", "rule_id": value}),
        ("/code-checks", {"content": value}),
        ("/webhooks/endpoints", {"url": f"https://a.example/{value}", "types": ["case.opened"]}),
        (
            "/webhooks/endpoints",
            {"url": "https://a.example/", "types": ["case.opened"], "description": value},
        ),
    ]
    wrong = []
    for path, body in attempts:
        answer = raw(api.token, "POST", path, json.dumps(body), **{"If-Match": "*"})
        if answer.status_code != 422 or answer["Content-Type"] != PROBLEM:
            wrong.append((path, sorted(body), answer.status_code, answer.content[:120]))
    assert wrong == []
    assert not Event.objects.filter(case__reference=ref).exclude(kind="case_opened").exists()


@pytest.mark.parametrize("value", ["A\x00B", "A\ud800B"])
def test_nul_and_lone_surrogates_in_a_webhook_change_are_422_problems(
    api: Api, tokens: Tokens, settings: Any, value: str
) -> None:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    made = api.post("/webhooks/endpoints", {"url": "https://a.example/", "types": ["case.opened"]})
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    for body in ({"description": value}, {"url": f"https://a.example/{value}"}):
        answer = raw(api.token, "PATCH", f"/webhooks/endpoints/{pk}", json.dumps(body))
        assert_problem(answer, 422)


@pytest.mark.parametrize("value", ["\x00", "\ud800", "a\x00b"])
def test_nul_and_lone_surrogates_in_queries_and_paths_are_problems(api: Api, value: str) -> None:
    from urllib.parse import quote

    q = quote(value.encode("utf-8", "surrogatepass"))
    wrong = []
    for path in (
        f"/cases?kind={q}",
        f"/cases?state={q}",
        f"/customers?email={q}",
        f"/customers?account_number={q}",
        f"/cases/{q}",
        f"/cases/V4V{q}",
        f"/figures?start={q}",
        f"/cases?received_after={q}",
    ):
        answer = api.get(path)
        if answer.status_code not in (200, 404, 422) or (
            answer.status_code != 200 and answer["Content-Type"] != PROBLEM
        ):
            wrong.append((path, answer.status_code, answer.content[:120]))
    for path in (f"/cases/{q}/add-note", f"/cases/V4V{q}/close"):
        answer = api.post(path, {"text": "x"}, **{"If-Match": "*"})
        if answer.status_code not in (404, 422) or answer["Content-Type"] != PROBLEM:
            wrong.append((path, answer.status_code, answer.content[:120]))
    assert wrong == []


def test_an_unknown_field_with_an_odd_name_is_a_422_problem(api: Api) -> None:
    for name in ("nickname", "\ud800", "a/b~c", "\x00", "x" * 10_000):
        body = json.dumps({**case_body(), name: 1})
        answer = raw(api.token, "POST", "/cases", body)
        problem = assert_problem(answer, 422)
        assert problem["errors"], problem
        assert len(answer.content) < 20_000


def test_an_unknown_field_in_an_action_changes_nothing(api: Api) -> None:
    created = opened(api)
    answer = act(api, created["reference"], "close", {"force": True}, created["version"])
    assert assert_problem(answer, 422)["errors"][0]["pointer"] == "#/force"
    answer = act(api, created["reference"], "acknowledge", {"state": "closed"}, "*")
    assert_problem(answer, 422)
    assert Case.objects.get(reference=created["reference"]).state == "received"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "CASE"),
        ("application/x-www-form-urlencoded", "kind=complaint&channel=email"),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="kind"\r\n\r\ncomplaint\r\n--x--\r\n',
        ),
        ("application/xml", "<case/>"),
        ("application/json", "null"),
        ("application/json", "[]"),
        ("application/json", '"a string"'),
        ("application/json", "1e999999"),
        ("application/json", "NaN"),
        ("application/json", "\xff\xfe"),
        ("application/json", '{"kind": "complaint", "kind": "query"}'),
        ("application/json; charset=latin-1", "{}"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_problem(
    api: Api, content_type: str, body: str
) -> None:
    before = Case.objects.count()
    data = body.encode("latin-1") if "\xff" in body else body
    answer = raw(api.token, "POST", "/cases", data, content_type=content_type)
    assert answer.status_code in (400, 415, 422), (answer.status_code, answer.content[:200])
    assert_problem(answer, answer.status_code)
    assert Case.objects.count() == before


def test_json_sent_as_text_plain_is_read_as_json(api: Api) -> None:
    """A careless client's content type: the body is what counts (no CSRF question: a token
    is needed, which a browser never sends on its own)."""
    answer = raw(api.token, "POST", "/cases", json.dumps(case_body()), content_type="text/plain")
    assert answer.status_code in (201, 415), answer.content
    if answer.status_code == 415:
        assert_problem(answer, 415)


@pytest.mark.parametrize("slug", ["acknowledge", "investigate", "close", "issue-adr-letter"])
def test_an_action_that_needs_no_body_may_be_sent_none(api: Api, slug: str) -> None:
    created = opened(api)
    answer = raw(
        api.token,
        "POST",
        f"/cases/{created['reference']}/{slug}",
        b"",
        **{"If-Match": f'"{created["version"]}"'},
    )
    assert answer.status_code in (200, 409), (slug, answer.content)
    if answer.status_code == 409:
        assert_problem(answer, 409)


def test_an_action_that_needs_a_body_refuses_none_with_a_pointer(api: Api) -> None:
    created = opened(api)
    answer = raw(
        api.token, "POST", f"/cases/{created['reference']}/add-note", b"", **{"If-Match": "*"}
    )
    assert answer.status_code in (400, 422), answer.content
    assert_problem(answer, answer.status_code)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_received_at", "0001-01-01T00:00:00+01:00"),
        ("first_received_at", "9999-12-31T23:59:59-23:59"),
        ("first_received_at", "1970-01-01T00:00:00Z"),
        ("first_received_at", "2026-02-30T00:00:00Z"),
        ("first_received_at", 1_700_000_000),
        ("first_received_at", True),
        ("first_received_at", None),
        ("first_received_at", "2026-11-30T09:00:00+24:00"),
        ("summary", ""),
        ("summary", "   "),
        ("summary", 5),
        ("summary", ["a"]),
        ("summary", {"a": 1}),
        ("kind", "Complaint"),
        ("send_case_link", "true"),
        ("send_case_link", 1),
        ("customer_id", "1"),
        ("customer_id", 1.0),
        ("customer_id", True),
        ("customer_id", -1),
        ("customer_id", 2**70),
    ],
)
def test_an_odd_value_in_a_new_case_is_a_422_problem(api: Api, field: str, value: Any) -> None:
    before = (Case.objects.count(), Customer.objects.count())
    body = case_body(**{field: value})
    if field == "customer_id":
        del body["customer"]
    answer = raw(api.token, "POST", "/cases", json.dumps(body))
    assert_problem(answer, 422)
    assert (Case.objects.count(), Customer.objects.count()) == before


@pytest.mark.parametrize(
    "at",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2000-01-01T00:00:00Z"],
)
def test_an_action_at_an_instant_out_of_range_is_a_422_problem(api: Api, at: str) -> None:
    created = opened(api)
    answer = act(api, created["reference"], "acknowledge", {"at": at}, "*")
    assert assert_problem(answer, 422)["errors"][0]["pointer"] == "#/at"


@pytest.mark.parametrize(
    "query",
    [
        "received_after=0001-01-01T00:00:00%2B01:00",
        "received_before=9999-12-31T23:59:59-23:59",
        "received_after=1970-01-01T00:00:00Z&received_before=9999-12-31T00:00:00Z",
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=99999999999999999999",
        "open=yes",
        "open=2",
    ],
)
def test_odd_list_filters_are_answered_never_a_500(api: Api, query: str) -> None:
    answer = api.get(f"/cases?{query}")
    assert answer.status_code in (200, 422), (query, answer.content)
    if answer.status_code == 422:
        assert_problem(answer, 422)


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01&end=0001-12-31",
        "start=9999-01-01&end=9999-12-31",
        "start=2026-01-01&end=2025-01-01",
        "start=1900-01-01&end=2026-01-01",
        "start=2026-13-01",
    ],
)
def test_figures_for_an_odd_period_are_answered_never_a_500(api: Api, query: str) -> None:
    answer = api.get(f"/figures?{query}")
    assert answer.status_code in (200, 422), (query, answer.content)
    if answer.status_code == 422:
        assert_problem(answer, 422)


@pytest.mark.parametrize("on", ["0001-01-01", "9999-12-31", "1900-01-01"])
def test_a_code_check_on_an_odd_day_is_answered_never_a_500(api: Api, on: str) -> None:
    from pathlib import Path

    content = (Path("amends/codes") / "v4voip.toml").read_text()
    answer = api.post("/code-checks", {"content": content, "on": on})
    assert answer.status_code in (200, 422), (on, answer.content[:300])
    if answer.status_code == 422:
        assert_problem(answer, 422)


# --------------------------------------------------------------------------- the lifecycle


def test_a_case_cannot_be_closed_without_acceptance_or_the_adr_letter(api: Api) -> None:
    created = opened(api)
    ref = created["reference"]
    version = created["version"]
    for slug, body in (
        ("acknowledge", {}),
        ("investigate", {}),
        ("propose-resolution", {"proposal": "A credit of 30 pounds."}),
    ):
        answer = act(api, ref, slug, body, version)
        assert answer.status_code == 200, (slug, answer.content)
        version = answer.json()["version"]
    refused = act(api, ref, "close", {}, version)
    assert assert_problem(refused, 409)["code"] == "refused"
    assert "close" not in act(api, ref, "add-note", {"text": "n"}, "*").json()["allowed_actions"]
    case = Case.objects.get(reference=ref)
    assert case.state == "resolution_proposed" and case.closed_at is None


def test_acceptance_and_withdrawal_need_who_and_how(api: Api) -> None:
    created = opened(api)
    ref = created["reference"]
    for slug in ("accept-resolution", "withdraw", "reject-resolution", "request-adr-letter"):
        for body in (
            {},
            {"by": "Priya"},
            {"how": "phone"},
            {"by": "   ", "how": "phone"},
            {"by": "Priya", "how": "telepathy"},
            {"by": "Priya", "how": ""},
        ):
            answer = act(api, ref, slug, body, "*")
            assert answer.status_code == 422, (slug, body, answer.content)
            assert_problem(answer, 422)
    assert Case.objects.get(reference=ref).state == "received"


@pytest.mark.parametrize("finish", ["withdraw", "close"])
def test_the_adr_letter_is_never_refused_on_request(api: Api, finish: str) -> None:
    created = opened(api)
    ref = created["reference"]
    if finish == "withdraw":
        done = act(api, ref, "withdraw", {"by": "Priya Shah", "how": "email"}, "*")
    else:
        act(api, ref, "acknowledge", {}, "*")
        act(api, ref, "propose-resolution", {"proposal": "A credit."}, "*")
        act(api, ref, "accept-resolution", {"by": "Priya Shah", "how": "phone"}, "*")
        done = act(api, ref, "close", {}, "*")
    assert done.status_code == 200, done.content
    asked = act(api, ref, "request-adr-letter", {"by": "Priya Shah", "how": "letter"}, "*")
    assert asked.status_code == 200, asked.content
    assert "request_adr_letter" in asked.json()["allowed_actions"]
    again = act(api, ref, "request-adr-letter", {"by": "Priya Shah", "how": "phone"}, "*")
    assert again.status_code == 200, again.content
    from amends.comms.models import OutboxMessage

    assert OutboxMessage.objects.filter(case__reference=ref, kind="adr_letter").count() >= 1


def test_the_timeline_names_the_token_as_the_actor_of_every_api_change(
    api: Api, tokens: Tokens
) -> None:
    created = opened(api)
    ref = created["reference"]
    write = as_token(tokens.write)
    act(api, ref, "acknowledge", {}, "*")
    act(write, ref, "add-note", {"text": "from billing"}, "*")
    full_id = ApiToken.objects.get(prefix=tokens.full[:13]).pk
    write_id = ApiToken.objects.get(prefix=tokens.write[:13]).pk
    actors = list(
        Event.objects.filter(case__reference=ref).order_by("sequence").values_list("kind", "actor")
    )
    assert ("case_opened", f"token:{full_id}") in actors
    assert ("acknowledge", f"token:{full_id}") in actors
    assert ("note_added", f"token:{write_id}") in actors
    timeline = api.get(f"/cases/{ref}").json()["timeline"]
    assert {e["actor"] for e in timeline} <= {
        f"token:{full_id}",
        f"token:{write_id}",
        "worker",
        "system",
    }


def test_a_case_merged_away_refuses_actions_and_points_at_its_keeper(api: Api) -> None:
    keeper = opened(api)
    customer_id = keeper["customer"]["id"]
    body = case_body()
    del body["customer"]
    duplicate = api.post("/cases", {**body, "customer_id": customer_id}).json()
    merged = act(api, keeper["reference"], "merge", {"duplicate": duplicate["reference"]}, "*")
    assert merged.status_code == 200, merged.content
    refused = act(api, duplicate["reference"], "add-note", {"text": "x"}, "*")
    assert keeper["reference"] in assert_problem(refused, 409)["detail"]
    assert api.get(f"/cases/{duplicate['reference']}").json()["merged_into"] == keeper["reference"]


def test_a_read_only_token_sees_no_action_allowed_and_a_write_token_cannot_read_lists(
    tokens: Tokens,
) -> None:
    ref = v4v_case(tokens).reference
    detail = as_token(tokens.read).get(f"/cases/{ref}").json()
    assert detail["allowed_actions"] == []
    assert_problem(as_token(tokens.write).get(f"/cases/{ref}"), 403)


# --------------------------------------------------------------------------- webhooks


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.net/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::ffff:7f00:1]/x",
        "https://0.0.0.0/x",
        "https://10.1.2.3/x",
        "https://192.168.0.1/x",
        "https://172.16.0.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/x",
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://017700000001/x",
        "https://127.1/x",
        "https://[fe80::1]/x",
        "https://[fc00::1]/x",
        "https://user:pass@hooks.example.net/x",
        "https://hooks.example.net:99999/x",
        "https://hooks.example.net:abc/x",
        "ftp://hooks.example.net/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https:///x",
        "https://hooks.example.net/x y",
        "https://hooks.example.net/\x00",
        "//hooks.example.net/x",
        "",
    ],
)
def test_a_webhook_address_that_is_not_public_https_is_refused(
    api: Api, settings: Any, url: str
) -> None:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = False
    before = WebhookEndpoint.objects.count()
    answer = api.post("/webhooks/endpoints", {"url": url, "types": ["case.opened"]})
    assert assert_problem(answer, 422)["errors"][0]["pointer"] == "#/url"
    assert WebhookEndpoint.objects.count() == before


def test_a_webhook_address_cannot_be_changed_to_a_private_one(api: Api, settings: Any) -> None:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    made = api.post(
        "/webhooks/endpoints", {"url": "https://hooks.example.net/x", "types": ["case.opened"]}
    )
    assert made.status_code == 201, made.content
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = False
    pk = made.json()["id"]
    for url in ("https://127.0.0.1/x", "http://hooks.example.net/x", "https://[::1]/"):
        answer = api.patch(f"/webhooks/endpoints/{pk}", {"url": url})
        assert assert_problem(answer, 422)["errors"][0]["pointer"] == "#/url"
    assert WebhookEndpoint.objects.get(pk=pk).url == "https://hooks.example.net/x"


def test_odd_webhook_bodies_are_422_problems(api: Api, settings: Any) -> None:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    url = "https://hooks.example.net/x"
    for body in (
        {"url": url, "types": []},
        {"url": url, "types": ["case.nope"]},
        {"url": url, "types": "case.opened"},
        {"url": url, "types": ["case.opened"] * 21},
        {"url": url, "types": ["case.opened"], "secret": "mine"},
        {"url": url, "types": ["case.opened"], "description": "x" * 201},
        {"url": ["https://a.example"], "types": ["case.opened"]},
        {"url": "x" * 501, "types": ["case.opened"]},
    ):
        assert_problem(api.post("/webhooks/endpoints", body), 422)
    made = api.post("/webhooks/endpoints", {"url": url, "types": ["case.opened"]}).json()
    for patch in ({"enabled": "false"}, {"types": []}, {"secret": "x"}, {"url": None, "x": 1}):
        assert_problem(api.patch(f"/webhooks/endpoints/{made['id']}", patch), 422)


# --------------------------------------------------------------------------- error hygiene


def test_an_unknown_path_or_method_under_the_api_is_a_problem(api: Api, tokens: Tokens) -> None:
    for answer in (
        api.get("/nope"),
        api.get("/cases/V4V-26-000001-A/nope"),
        raw(None, "GET", "/nope"),
        api.post("/cases/V4V-26-000001-A/fly", {}, **{"If-Match": "*"}),
    ):
        assert_problem(answer, 404)
    for answer in (
        api.delete("/cases"),
        api.patch("/cases", {}),
        raw(api.token, "PUT", "/cases", "{}"),
        api.get(f"/cases/{v4v_case(tokens).reference}/close"),
        api.delete("/me"),
    ):
        body = assert_problem(answer, 405)
        assert body["code"] == "method_not_allowed"
        assert "Allow" in answer


def test_an_unexpected_error_is_a_bare_500_problem_logged_with_ids_only(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from amends.api import cases

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SELECT * FROM cases_customer WHERE email = 'priya@shahdental.example'")

    monkeypatch.setattr(cases.actions, "case_intake", boom)
    caplog.set_level(logging.INFO)
    answer = api.post("/cases", case_body())
    body = assert_problem(answer, 500)
    assert set(body) == {"type", "title", "status", "code", "instance"}
    assert "priya" not in answer.content.decode()


def test_no_token_email_or_name_reaches_the_logs(
    api: Api, tokens: Tokens, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    caplog.set_level(logging.DEBUG)
    created = opened(api)
    ref = created["reference"]
    act(api, ref, "acknowledge", {}, "*")
    act(api, ref, "withdraw", {"by": "Priya Shah", "how": "email"}, "*")
    api.get("/customers?email=priya@shahdental.example&account_number=ACC-SECRET")
    api.get("/cases?cursor=garbage")
    api.post("/cases", case_body(summary="x" * 300))
    api.post("/cases", case_body(first_received_at="yesterday"))
    raw(None, "GET", "/cases", Authorization=f"Bearer {tokens.full}x")
    raw(None, "GET", "/cases", Authorization=f"Bearer {tokens.revoked}")
    api.post(
        "/webhooks/endpoints",
        {"url": "https://hooks.example.net/?t=priya", "types": ["case.opened"]},
    )
    api.post("/customers", {"contact_name": "Priya Shah", "email": "not an email"})
    api.post("/customers", {"contact_name": "Priya Shah", "account_number": "ACC-SECRET"})
    api.post("/customers", {"contact_name": "Priya Shah", "account_number": "ACC-SECRET"})
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (
        tokens.full,
        tokens.full[7:],
        tokens.revoked,
        "Priya",
        "priya@",
        "shahdental",
        "ACC-SECRET",
        "Shah Dental",
    ):
        assert secret not in text, secret


def test_the_access_log_path_has_no_query_string() -> None:
    from amends.core.access_log import request_path

    environ = {
        "SCRIPT_NAME": "",
        "PATH_INFO": "/api/v1/customers",
        "QUERY_STRING": "email=priya@shahdental.example",
    }
    assert request_path(environ) == "/api/v1/customers"
    assert "priya" not in request_path({**environ, "PATH_INFO": "/api/v1/customers?email=priya"})


def test_problems_never_echo_a_huge_or_odd_value(api: Api) -> None:
    for body in (
        case_body(kind="k" * 100_000),
        case_body(channel="\ud800"),
        case_body(customer={"contact_name": "A", "preferred_contact": "x" * 100_000}),
    ):
        answer = raw(api.token, "POST", "/cases", json.dumps(body))
        assert_problem(answer, 422)
        assert len(answer.content) < 10_000


def test_a_pointer_escapes_slash_and_tilde_in_a_field_name(api: Api) -> None:
    answer = raw(api.token, "POST", "/cases", json.dumps({**case_body(), "a/b~c": 1}))
    pointers = [e["pointer"] for e in assert_problem(answer, 422)["errors"]]
    assert "#/a~1b~0c" in pointers


def test_a_flood_of_unknown_fields_is_one_short_problem(api: Api) -> None:
    import time

    body = json.dumps({**case_body(), **{f"f{i}": i for i in range(50_000)}})
    started = time.monotonic()
    answer = raw(api.token, "POST", "/cases", body)
    assert time.monotonic() - started < 10
    problem = assert_problem(answer, 422)
    assert len(problem["errors"]) <= 50
    assert len(answer.content) < 20_000


def test_keys_older_than_a_day_are_forgotten_whoever_they_were_for(
    api: Api, tokens: Tokens
) -> None:
    old = timezone.now() - timedelta(days=1, minutes=1)
    for provider, key in ((tokens.iss, "theirs-old"), (tokens.v4voip, "mine-old")):
        IdempotencyKey.objects.create(
            provider=provider,
            key=key,
            request_hash="0" * 64,
            method_path="POST /api/v1/cases",
            status=201,
            response='{"customer": "Priya Shah"}',
            headers={},
            created_at=old,
        )
    fresh = api.post("/cases", case_body(), **{"Idempotency-Key": "now"})
    assert fresh.status_code == 201
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["now"]
    # An expired key is a new request: a second case, not the old answer.
    IdempotencyKey.objects.filter(key="now").update(created_at=old)
    again = api.post("/cases", case_body(), **{"Idempotency-Key": "now"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert again.json()["reference"] != fresh.json()["reference"]


def test_a_token_is_stored_only_as_its_hash_and_a_near_miss_is_refused(tokens: Tokens) -> None:
    import hashlib

    row = ApiToken.objects.get(prefix=tokens.full[:13])
    assert row.token_hash == hashlib.sha256(tokens.full.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiToken.objects.values_list())
    assert tokens.full not in stored and tokens.full[13:] not in stored
    near = tokens.full[:-1] + ("A" if tokens.full[-1] != "A" else "B")
    assert_problem(as_token(near).get("/me"), 401)
    assert_problem(as_token(tokens.full[:13]).get("/me"), 401)


def test_a_key_sent_with_a_patch_or_delete_is_not_an_idempotency_key(
    api: Api, settings: Any
) -> None:
    """Only POSTs keep keys (PATCH and DELETE are idempotent by themselves): the same key on
    a PATCH neither replays the POST's answer nor is refused."""
    settings.AMENDS_WEBHOOK_ALLOW_LOCAL = True
    key = {"Idempotency-Key": "hook-key"}
    made = api.post(
        "/webhooks/endpoints",
        {"url": "https://hooks.example.net/k", "types": ["case.opened"]},
        **key,
    )
    assert made.status_code == 201, made.content
    changed = api.patch(f"/webhooks/endpoints/{made.json()['id']}", {"description": "CRM"}, **key)
    assert changed.status_code == 200 and "Idempotent-Replayed" not in changed
    assert changed.json()["description"] == "CRM"
    assert (
        assert_problem(api.post("/customers", {"contact_name": "A"}, **key), 422)["code"]
        == "idempotency_mismatch"
    )
    removed = api.delete(f"/webhooks/endpoints/{made.json()['id']}", **key)
    assert removed.status_code == 204


def test_the_api_root_and_docs_answer_without_a_token_and_tell_nothing_private(
    tokens: Tokens,
) -> None:
    root = raw(None, "GET", "/")
    assert root.status_code in (200, 401, 404), root.content[:200]
    if root.status_code != 200:
        assert root["Content-Type"] == PROBLEM
    schema = raw(None, "GET", "/openapi.json")
    assert schema.status_code == 200
    case = v4v_case(tokens)
    for private in (case.reference, case.customer.contact_name, tokens.full[:13], "whsec_"):
        assert private not in schema.content.decode()


def test_a_huge_body_from_a_token_without_the_scope_is_refused_for_the_token(
    tokens: Tokens,
) -> None:
    body = b'{"summary": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert_problem(raw(tokens.read, "POST", "/cases", body), 403)
    assert_problem(raw(None, "POST", "/cases", body), 401)


def test_a_staff_session_is_not_an_api_credential(tokens: Tokens) -> None:
    member = StaffMember.objects.get(provider=tokens.v4voip, role="admin")
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)
    answer = client.post(
        "/api/v1/cases", data=json.dumps(case_body()), content_type="application/json"
    )
    assert_problem(answer, 401)
    assert_problem(client.get("/api/v1/cases"), 401)


def test_a_case_link_is_made_for_the_allowed_host_only(api: Api) -> None:
    answer = raw(
        api.token,
        "POST",
        "/cases",
        json.dumps(case_body(send_case_link=True)),
        HOST="evil.example",
    )
    assert answer.status_code == 400, answer.content[:300]
    assert not Case.objects.filter(summary="Broadband drops every evening").exists()


def test_an_action_cannot_be_dated_before_receipt_or_in_the_future(api: Api) -> None:
    created = opened(api)
    ref = created["reference"]
    received = Case.objects.get(reference=ref).first_received_at
    for at in (received - timedelta(seconds=1), timezone.now() + timedelta(minutes=5)):
        answer = act(api, ref, "acknowledge", {"at": at.isoformat()}, "*")
        assert assert_problem(answer, 422)["errors"][0]["pointer"] == "#/at"
    assert Case.objects.get(reference=ref).acknowledged_at is None


def test_a_query_cannot_be_given_an_adr_letter_unasked_but_a_complaint_can(api: Api) -> None:
    query = opened(api, kind="account_query")
    refused = act(api, query["reference"], "issue-adr-letter", None, "*")
    assert refused.status_code in (409, 422), refused.content
    assert_problem(refused, refused.status_code)
    complaint = opened(api)
    issued = act(api, complaint["reference"], "issue-adr-letter", None, "*")
    assert issued.status_code == 200, issued.content
    assert issued.json()["adr_letter_issued_at"] is not None
