"""API and webhooks in the staff console: a provider's administrator makes API tokens (shown
once, stored as a hash) and revokes them, adds webhook endpoints (the signing secret shown
once), changes, disables and removes them, and reads each endpoint's delivery log, newest
first, page by page, with replay. Another provider's token, endpoint or delivery is not found;
a role that may not manage them is turned away, by the page and by the service."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from amends.cases.actions import case_escalate
from amends.cases.actors import Actor, actor_for_staff
from amends.cases.models import Case
from amends.comms.models import WebhookDelivery, WebhookEndpoint, WebhookStatus
from amends.comms.webhooks import new_msg_id, sign, webhook_endpoint_create
from amends.providers.models import ApiToken
from amends.providers.tokens import api_token_authenticate, api_token_create
from tests.console.conftest import assert_accessible, browser_sign_in, signed_in

SHOTS = Path("/tmp/shots-api")
TOKENS = "/staff/api/tokens/"
WEBHOOKS = "/staff/api/webhooks/"
RAW_TOKEN = re.compile(r"amends_[A-Za-z0-9_-]{43}")
RAW_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{32}")
HOOK = "https://hooks.example.com/amends"


# --------------------------------------------------------------------------- given


def actor(username: str) -> Actor:
    return actor_for_staff(User.objects.get(username=username))


def token(slug: str = "v4voip", name: str = "Billing system") -> ApiToken:
    made, _ = api_token_create(
        actor=actor(f"{slug}-admin"), name=name, scopes=["read"], now=timezone.now()
    )
    return made


def endpoint(slug: str = "v4voip", types: tuple[str, ...] = ("case.opened",)) -> WebhookEndpoint:
    return webhook_endpoint_create(
        actor=actor(f"{slug}-admin"),
        url=f"{HOOK}/{slug}",
        types=list(types),
        description=f"{slug} CRM",
        now=timezone.now(),
    )


def deliveries(hook: WebhookEndpoint, count: int, **fields: Any) -> list[WebhookDelivery]:
    """``count`` deliveries to ``hook``, oldest first (as the audit chain writes them)."""
    case = Case.objects.filter(provider_id=hook.provider_id).order_by("pk").first()
    now = timezone.now()
    rows = [
        WebhookDelivery(
            provider_id=hook.provider_id,
            endpoint=hook,
            case=case,
            event_sequence=i + 1,
            type="case.opened",
            msg_id=new_msg_id(),
            body=json.dumps({"type": "case.opened", "data": {"n": i}}),
            created_at=now - timedelta(minutes=count - i),
            next_attempt_at=now,
            **fields,
        )
        for i in range(count)
    ]
    WebhookDelivery.objects.bulk_create(rows)
    return list(WebhookDelivery.objects.filter(endpoint=hook).order_by("pk"))


def escalated(slug: str = "v4voip") -> Case:
    """A case escalated by its manager: an event its provider's endpoints may want."""
    case = Case.objects.filter(provider__slug=slug, state="investigating").first()
    assert case is not None
    return case_escalate(
        case_id=case.pk,
        actor=actor(f"{slug}-manager"),
        reason="The customer asked for a manager.",
        now=timezone.now(),
    )


def admin(client: Client, slug: str = "v4voip") -> Client:
    return signed_in(client, f"{slug}-admin")


def summary_links(html: str) -> list[str]:
    match = re.search(r'class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary"
    return re.findall(r'href="#([^"]+)"', match.group(0))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# --------------------------------------------------------------------------- the menu


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("admin", True),
        ("adviser", False),
        ("case_handler", False),
        ("manager", False),
        ("director", False),
        ("compliance", False),
    ],
)
def test_the_menu_offers_api_and_webhooks_only_to_a_role_that_manages_them(
    client: Client, demo: None, role: str, shown: bool
) -> None:
    html = signed_in(client, f"v4voip-{role}").get("/staff/").content.decode()
    assert ("API and webhooks" in html) is shown
    assert (f'href="{TOKENS}"' in html) is shown


# --------------------------------------------------------------------------- tokens


def test_the_tokens_page_lists_the_providers_own_tokens(client: Client, demo: None) -> None:
    ours, revoked, theirs = token(name="Billing system"), token(name="Old CRM"), token("iss")
    ApiToken.objects.filter(pk=revoked.pk).update(
        revoked_at=timezone.now(), revoked_by=User.objects.get(username="v4voip-admin")
    )
    response = admin(client).get(TOKENS)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1>") == 1
    assert "Live tokens (1)" in html and "Revoked tokens (1)" in html
    assert "Billing system" in html and f"{ours.prefix}…" in html and "Old CRM" in html
    assert "Read" in html and "Never" in html
    assert theirs.prefix not in html
    assert 'href="/api/v1/docs"' in html
    assert 'aria-current="page">API and webhooks' in html
    assert f'href="/staff/api/tokens/{ours.pk}/revoke/"' in html
    assert f'href="/staff/api/tokens/{revoked.pk}/revoke/"' not in html


def test_a_token_is_made_shown_once_and_only_its_hash_is_stored(
    client: Client, demo: None, caplog: pytest.LogCaptureFixture
) -> None:
    from amends.core.logging import JsonFormatter

    caplog.set_level(logging.DEBUG)
    client = admin(client)
    response = client.post(TOKENS, {"name": "Billing system", "scopes": ["read", "write"]})
    assert response.status_code == 302
    made = ApiToken.objects.get(provider__slug="v4voip", name="Billing system")
    assert response["Location"] == f"/staff/api/tokens/{made.pk}/new/"
    assert (made.scopes, made.created_by.username) == (["read", "write"], "v4voip-admin")

    shown = client.get(response["Location"])
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    html = shown.content.decode()
    assert "it will not be shown again" in html
    found = RAW_TOKEN.findall(html)
    assert len(found) == 1
    raw = found[0]
    assert raw.startswith(made.prefix)
    # Only the hash is kept, and the token works.
    made.refresh_from_db()
    assert made.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert api_token_authenticate(raw, now=timezone.now()) == made
    # Once shown it is gone: from the page, and from the session.
    again = client.get(response["Location"])
    assert again.status_code == 200
    assert raw not in again.content.decode()
    assert not RAW_TOKEN.search(again.content.decode())
    assert "cannot be shown again" in again.content.decode()
    for session in Session.objects.all():
        assert raw not in json.dumps(session.get_decoded())
    # Never in an address or a log.
    assert raw not in response["Location"]
    lines = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert raw not in lines and raw[len(made.prefix) :] not in lines


def test_the_new_token_page_shows_only_the_token_just_made(client: Client, demo: None) -> None:
    client = admin(client)
    first = client.post(TOKENS, {"name": "First", "scopes": ["read"]})["Location"]
    second = client.post(TOKENS, {"name": "Second", "scopes": ["read"]})["Location"]
    assert not RAW_TOKEN.search(client.get(first).content.decode())
    assert RAW_TOKEN.search(client.get(second).content.decode())


@pytest.mark.parametrize(
    ("data", "anchor", "message"),
    [
        ({"name": "", "scopes": ["write"]}, "name", "Name the token"),
        ({"name": "   ", "scopes": ["write"]}, "name", "Name the token"),
        ({"name": "x" * 101, "scopes": ["write"]}, "name", "at most 100 characters"),
        ({"name": "Billing <system>"}, "scope-read", "Choose at least one scope"),
        ({"name": "Billing <system>", "scopes": ["admin"]}, "scope-read", "Choose at least one"),
    ],
)
def test_bad_token_input_is_shown_beside_the_field_keeping_what_was_typed(
    client: Client, demo: None, data: dict[str, Any], anchor: str, message: str
) -> None:
    response = admin(client).post(TOKENS, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>Error: API tokens" in html
    assert summary_links(html) == [anchor]
    assert message in html
    field = "name" if anchor == "name" else "scopes"
    assert f'id="{field}-error"' in html
    if anchor == "name":
        assert 'aria-invalid="true"' in html
    if data["name"].strip() and len(data["name"]) <= 100:
        assert 'value="Billing &lt;system&gt;"' in html
    if "write" in data.get("scopes", []):
        assert re.search(r'id="scope-write" value="write"[^>]*checked', html)
    assert not ApiToken.objects.filter(provider__slug="v4voip").exists()


def test_revoking_a_token_asks_first_then_revokes_it(client: Client, demo: None) -> None:
    made = token()
    url = f"/staff/api/tokens/{made.pk}/revoke/"
    client = admin(client)
    ask = client.get(url)
    assert ask.status_code == 200
    assert "Revoke the token Billing system?" in ask.content.decode()
    made.refresh_from_db()
    assert made.revoked_at is None

    done = client.post(url)
    assert (done.status_code, done["Location"]) == (302, TOKENS)
    made.refresh_from_db()
    assert made.revoked_at is not None
    assert made.revoked_by == User.objects.get(username="v4voip-admin")
    html = client.get(TOKENS).content.decode()
    assert "is revoked" in html and "Revoked tokens (1)" in html
    again = client.get(url).content.decode()
    assert "The token Billing system is revoked" in again
    assert f'action="{url}"' not in again


def token_urls(made: ApiToken) -> list[tuple[str, str]]:
    return [
        ("get", TOKENS),
        ("post", TOKENS),
        ("get", f"/staff/api/tokens/{made.pk}/new/"),
        ("get", f"/staff/api/tokens/{made.pk}/revoke/"),
        ("post", f"/staff/api/tokens/{made.pk}/revoke/"),
    ]


@pytest.mark.parametrize("role", ["case_handler", "manager", "compliance", "adviser"])
def test_a_role_that_may_not_manage_api_tokens_is_turned_away(
    client: Client, demo: None, role: str
) -> None:
    made = token()
    client = signed_in(client, f"v4voip-{role}")
    for method, url in token_urls(made):
        data = {"name": "Sneaky", "scopes": ["write"]} if method == "post" else None
        assert getattr(client, method)(url, data).status_code == 403, (method, url)
    made.refresh_from_db()
    assert made.revoked_at is None
    assert ApiToken.objects.filter(provider__slug="v4voip").count() == 1


def test_another_providers_token_is_not_found(client: Client, demo: None) -> None:
    theirs = token("iss")
    client = admin(client)
    for method, url in token_urls(theirs)[2:]:
        assert getattr(client, method)(url).status_code == 404, (method, url)
    assert client.get("/staff/api/tokens/999999/new/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_signing_in_is_needed_for_the_api_pages(client: Client, demo: None) -> None:
    made, hook = token(), endpoint()
    delivery = deliveries(hook, 1)[0]
    for method, url in [*token_urls(made), *webhook_urls(hook, delivery)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/staff/login/"), url
    made.refresh_from_db()
    assert made.revoked_at is None
    assert ApiToken.objects.count() == 1 and WebhookEndpoint.objects.count() == 1


def test_every_post_on_the_api_pages_needs_the_csrf_token(demo: None) -> None:
    made, hook = token(), endpoint()
    delivery = deliveries(hook, 1)[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="v4voip-admin"))
    posts = [
        u for method, u in [*token_urls(made), *webhook_urls(hook, delivery)] if method == "post"
    ]
    for url in dict.fromkeys(posts):
        data = {"name": "x", "scopes": ["read"], "url": HOOK, "types": ["case.opened"]}
        assert client.post(url, {**data, "enabled": "no"}).status_code == 403, url
    made.refresh_from_db()
    hook.refresh_from_db()
    assert made.revoked_at is None
    assert (hook.disabled_at, hook.deleted_at) == (None, None)
    assert ApiToken.objects.count() == 1 and WebhookEndpoint.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


# --------------------------------------------------------------------------- endpoints


def test_the_webhooks_page_lists_the_providers_own_endpoints(client: Client, demo: None) -> None:
    ours, theirs = endpoint(types=("case.opened", "clock.breached")), endpoint("iss")
    response = admin(client).get(WEBHOOKS)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1>") == 1
    assert ours.url in html and "v4voip CRM" in html
    assert "Case opened, Clock breached" in html
    assert theirs.url not in html
    assert ours.secret not in html
    assert f'href="/staff/api/webhooks/{ours.pk}/deliveries/"' in html
    # How a receiver checks a webhook, and where the API is described.
    for words in ("webhook-id", "webhook-timestamp", "webhook-signature", "HMAC-SHA256"):
        assert words in html
    assert 'href="/api/v1/docs"' in html
    # Each event type is a labelled checkbox.
    for value, label in (("case.opened", "Case opened"), ("message.received", "Message received")):
        ident = "type-" + value.replace(".", "-").replace("_", "-")
        assert f'id="{ident}" value="{value}"' in html
        assert f'<label for="{ident}">{label}' in html


def test_an_endpoint_is_added_and_its_signing_secret_shown_once(
    client: Client, demo: None, caplog: pytest.LogCaptureFixture
) -> None:
    from amends.core.logging import JsonFormatter

    caplog.set_level(logging.DEBUG)
    client = admin(client)
    response = client.post(
        WEBHOOKS,
        {"url": HOOK, "description": "CRM", "types": ["case.opened", "adr_letter.issued"]},
    )
    assert response.status_code == 302
    hook = WebhookEndpoint.objects.get(provider__slug="v4voip")
    assert response["Location"] == f"/staff/api/webhooks/{hook.pk}/new/"
    assert (hook.url, hook.description, hook.types) == (
        HOOK,
        "CRM",
        ["case.opened", "adr_letter.issued"],
    )
    shown = client.get(response["Location"])
    assert "no-store" in shown["Cache-Control"]
    html = shown.content.decode()
    assert hook.secret in html and RAW_SECRET.search(html)
    assert "it will not be shown again" in html
    assert "webhook-signature" in html
    again = client.get(response["Location"]).content.decode()
    assert hook.secret not in again and not RAW_SECRET.search(again)
    assert "cannot be shown again" in again
    lines = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert hook.secret not in lines and hook.secret[6:] not in lines


@pytest.mark.parametrize(
    ("data", "anchor"),
    [
        ({"url": "", "types": ["case.opened"]}, "url"),
        ({"url": "ftp://hooks.example.com/", "types": ["case.opened"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/", "types": ["case.opened"]}, "url"),
        ({"url": HOOK}, "type-case-opened"),
        ({"url": HOOK, "types": ["case.deleted"]}, "type-case-opened"),
        ({"url": HOOK, "types": ["case.opened"], "description": "d" * 201}, "description"),
    ],
)
def test_bad_endpoint_input_is_shown_beside_the_field_keeping_what_was_typed(
    client: Client, demo: None, data: dict[str, Any], anchor: str
) -> None:
    data = {"description": "CRM <prod>", **data}
    response = admin(client).post(WEBHOOKS, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>Error: Webhook endpoints" in html
    assert summary_links(html) == [anchor]
    field = "types" if anchor.startswith("type-") else anchor
    assert f'id="{field}-error"' in html
    if data["url"] and "@" not in data["url"]:
        assert f'value="{data["url"]}"' in html
    if len(data["description"]) <= 200:
        assert 'value="CRM &lt;prod&gt;"' in html
    if "case.opened" in data.get("types", []):
        assert re.search(r'id="type-case-opened" value="case.opened"[^>]*checked', html)
    assert not WebhookEndpoint.objects.exists()


def test_the_pages_explain_the_signature_the_sender_makes(client: Client, demo: None) -> None:
    """What the page tells integrators, done by hand, checks what ``webhooks.sign`` makes."""
    hook = endpoint()
    html = admin(client).get(WEBHOOKS).content.decode()
    assert "base64-decode the rest" in html and "HMAC-SHA256" in html
    at = timezone.now()
    msg_id, body = new_msg_id(), '{"type":"case.opened"}'
    key = base64.b64decode(hook.secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{int(at.timestamp())}.{body}".encode(), hashlib.sha256)
    assert sign(hook.secret, msg_id, at, body) == "v1," + base64.b64encode(mac.digest()).decode()
    # The retry schedule and the time to answer are the sender's own.
    assert "within 10 seconds" in html
    assert (
        "after\n  5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, then every 10 hours" in html
    )


def test_an_endpoint_is_changed(client: Client, demo: None) -> None:
    hook = endpoint()
    url = f"/staff/api/webhooks/{hook.pk}/"
    client = admin(client)
    form = client.get(url).content.decode()
    assert f'value="{hook.url}"' in form and 'value="v4voip CRM"' in form
    assert re.search(r'id="type-case-opened" value="case.opened"[^>]*checked', form)
    assert hook.secret not in form

    done = client.post(
        url,
        {"url": f"{HOOK}/v2", "description": "", "types": ["clock.breached", "case.opened"]},
    )
    assert (done.status_code, done["Location"]) == (302, WEBHOOKS)
    hook.refresh_from_db()
    assert (hook.url, hook.description, hook.types) == (
        f"{HOOK}/v2",
        "",
        ["case.opened", "clock.breached"],
    )

    refused = client.post(url, {"url": "not an address", "description": "kept"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert summary_links(html) == ["url"]
    assert 'value="not an address"' in html and 'value="kept"' in html
    assert not re.search(r'value="case.opened"[^>]*checked', html)
    hook.refresh_from_db()
    assert hook.url == f"{HOOK}/v2"


def test_an_endpoint_is_disabled_and_enabled_again(client: Client, demo: None) -> None:
    hook = endpoint()
    url = f"/staff/api/webhooks/{hook.pk}/enabled/"
    client = admin(client)
    assert client.post(url, {"enabled": "no"})["Location"] == WEBHOOKS
    hook.refresh_from_db()
    assert hook.disabled_at is not None
    html = client.get(WEBHOOKS).content.decode()
    assert "is disabled" in html and ">Disabled</span>" in html and ">Enable</button>" in html
    assert client.post(url, {"enabled": "yes"}).status_code == 302
    hook.refresh_from_db()
    assert hook.disabled_at is None
    assert client.post(url, {"enabled": "maybe"}).status_code == 400
    assert client.get(url).status_code == 405


def test_removing_an_endpoint_asks_first(client: Client, demo: None) -> None:
    hook = endpoint()
    url = f"/staff/api/webhooks/{hook.pk}/delete/"
    client = admin(client)
    ask = client.get(url).content.decode()
    assert f"Remove webhook endpoint {hook.pk}?" in ask and hook.url in ask
    hook.refresh_from_db()
    assert hook.deleted_at is None
    assert client.post(url)["Location"] == WEBHOOKS
    hook.refresh_from_db()
    assert hook.deleted_at is not None
    assert hook.url not in client.get(WEBHOOKS).content.decode()
    assert client.get(f"/staff/api/webhooks/{hook.pk}/").status_code == 404
    assert client.post(url).status_code == 404


# --------------------------------------------------------------------------- the delivery log


def test_the_delivery_log_shows_what_was_sent_and_replays_it(client: Client, demo: None) -> None:
    hook = endpoint(types=("case.state_changed",))
    case = escalated()
    delivery = WebhookDelivery.objects.get(endpoint=hook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookStatus.FAILED,
        attempts=7,
        last_status=503,
        last_error="The receiver answered 503.",
    )
    log_url = f"/staff/api/webhooks/{hook.pk}/deliveries/"
    client = admin(client)
    html = client.get(log_url).content.decode()
    assert f'<a href="/staff/cases/{case.reference}/" class="nowrap">{case.reference}</a>' in html
    assert "Case state changed" in html and delivery.msg_id in html
    assert "Failed" in html and "HTTP 503" in html and "The receiver answered 503." in html
    assert "<details>" in html and "&quot;reference&quot;: &quot;" + case.reference in html
    assert f'action="/staff/api/webhooks/deliveries/{delivery.pk}/replay/"' in html

    done = client.post(f"/staff/api/webhooks/deliveries/{delivery.pk}/replay/")
    assert (done.status_code, done["Location"]) == (302, log_url)
    replay = WebhookDelivery.objects.get(replay_of=delivery)
    assert (replay.status, replay.body, replay.endpoint_id) == ("pending", delivery.body, hook.pk)
    html = client.get(log_url).content.decode()
    assert "will be sent again" in html and f"Replay of {delivery.pk}" in html
    assert html.index(f'id="delivery-{replay.pk}"') < html.index(f'id="delivery-{delivery.pk}"')


def test_the_delivery_log_is_newest_first_a_page_at_a_time(client: Client, demo: None) -> None:
    hook = endpoint()
    rows = deliveries(hook, 60)
    log_url = f"/staff/api/webhooks/{hook.pk}/deliveries/"
    client = admin(client)
    html = client.get(log_url).content.decode()
    shown = [int(n) for n in re.findall(r'<th scope="row" id="delivery-(\d+)"', html)]
    assert shown == [r.pk for r in reversed(rows)][:50]
    older = re.search(r'href="([^"]+)">Older deliveries', html)
    assert older and f"before={rows[10].pk}" in older.group(1)
    html = client.get(older.group(1).replace("&amp;", "&")).content.decode()
    shown = [int(n) for n in re.findall(r'<th scope="row" id="delivery-(\d+)"', html)]
    assert shown == [r.pk for r in reversed(rows[:10])]
    assert "Older deliveries" not in html and "Newest deliveries" in html
    assert client.get(log_url, {"before": "abc"}).status_code == 404
    assert client.get(log_url, {"before": "9" * 40}).status_code == 404


def test_the_delivery_log_filters_by_status(client: Client, demo: None) -> None:
    hook = endpoint()
    rows = deliveries(hook, 300)
    failed = rows[5:8] + rows[250:300]
    WebhookDelivery.objects.filter(pk__in=[r.pk for r in failed]).update(status="failed")
    log_url = f"/staff/api/webhooks/{hook.pk}/deliveries/"
    client = admin(client)
    html = client.get(log_url, {"status": "failed"}).content.decode()
    shown = [int(n) for n in re.findall(r'<th scope="row" id="delivery-(\d+)"', html)]
    assert shown == [r.pk for r in reversed(failed)][:50]
    assert re.search(r'<option value="failed" selected>', html)
    older = re.search(r'href="([^"]+)">Older deliveries', html)
    assert older and "status=failed" in older.group(1)
    html = client.get(older.group(1).replace("&amp;", "&")).content.decode()
    shown = [int(n) for n in re.findall(r'<th scope="row" id="delivery-(\d+)"', html)]
    assert shown == [r.pk for r in reversed(rows[5:8])]
    html = client.get(log_url, {"status": "sent"}).content.decode()
    assert "has the status Delivered" in html
    # An unknown status shows every delivery.
    html = client.get(log_url, {"status": "nope"}).content.decode()
    assert len(re.findall(r'<th scope="row" id="delivery-', html)) == 50


def test_an_empty_delivery_log_says_so(client: Client, demo: None) -> None:
    hook = endpoint()
    html = admin(client).get(f"/staff/api/webhooks/{hook.pk}/deliveries/").content.decode()
    assert "Nothing has been sent to this endpoint yet" in html
    assert "Older deliveries" not in html


def webhook_urls(hook: WebhookEndpoint, delivery: WebhookDelivery) -> list[tuple[str, str]]:
    return [
        ("get", WEBHOOKS),
        ("post", WEBHOOKS),
        ("get", f"/staff/api/webhooks/{hook.pk}/"),
        ("post", f"/staff/api/webhooks/{hook.pk}/"),
        ("get", f"/staff/api/webhooks/{hook.pk}/new/"),
        ("post", f"/staff/api/webhooks/{hook.pk}/enabled/"),
        ("get", f"/staff/api/webhooks/{hook.pk}/delete/"),
        ("post", f"/staff/api/webhooks/{hook.pk}/delete/"),
        ("get", f"/staff/api/webhooks/{hook.pk}/deliveries/"),
        ("post", f"/staff/api/webhooks/deliveries/{delivery.pk}/replay/"),
    ]


def unchanged(hook: WebhookEndpoint) -> None:
    fresh = WebhookEndpoint.objects.get(pk=hook.pk)
    assert (fresh.url, fresh.types, fresh.disabled_at, fresh.deleted_at) == (
        hook.url,
        hook.types,
        None,
        None,
    )
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 1


@pytest.mark.parametrize("role", ["case_handler", "manager", "compliance", "adviser"])
def test_a_role_that_may_not_manage_webhooks_is_turned_away(
    client: Client, demo: None, role: str
) -> None:
    hook = endpoint()
    delivery = deliveries(hook, 1)[0]
    client = signed_in(client, f"v4voip-{role}")
    data = {"url": f"{HOOK}/evil", "types": ["case.opened"], "enabled": "no"}
    for method, url in webhook_urls(hook, delivery):
        response = getattr(client, method)(url, data if method == "post" else None)
        assert response.status_code == 403, (method, url)
        assert hook.secret not in response.content.decode()
    unchanged(hook)
    assert WebhookEndpoint.objects.count() == 1


def test_another_providers_endpoint_and_delivery_are_not_found(client: Client, demo: None) -> None:
    theirs = endpoint("iss")
    delivery = deliveries(theirs, 1)[0]
    client = admin(client)
    data = {"url": f"{HOOK}/evil", "types": ["case.opened"], "enabled": "no"}
    for method, url in webhook_urls(theirs, delivery)[2:]:
        response = getattr(client, method)(url, data if method == "post" else None)
        assert response.status_code == 404, (method, url)
    unchanged(theirs)
    assert not WebhookEndpoint.objects.filter(provider__slug="v4voip").exists()


# --------------------------------------------------------------------------- in a browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_administrator_makes_and_revokes_a_token_and_adds_an_endpoint(
    web_server: str, page: Any
) -> None:
    from amends.core.demo import demo_load

    demo_load()
    browser_sign_in(page, web_server, "v4voip-admin")
    page.get_by_role("navigation", name="Console").get_by_role(
        "link", name="API and webhooks"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("API tokens")
    expect(page.get_by_text("There is no live token")).to_be_visible()
    assert_accessible(page)
    shot(page, "tokens")

    # Nothing chosen: the summary links to the field, what was typed is kept.
    page.get_by_label("Name", exact=True).fill("Billing system")
    page.get_by_role("button", name="Make the token").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Choose at least one scope")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Billing system")
    assert_accessible(page)
    shot(page, "tokens-error")
    summary.get_by_role("link").click()
    expect(page.get_by_label("Read", exact=True)).to_be_focused()

    page.get_by_label("Read", exact=True).check()
    page.get_by_label("Write", exact=True).check()
    page.get_by_role("button", name="Make the token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your new API token")
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    field = page.get_by_label("API token for Billing system")
    expect(field).to_have_value(RAW_TOKEN)
    assert_accessible(page)
    shot(page, "token-new")
    raw = field.input_value()
    made = ApiToken.objects.get(name="Billing system")
    assert made.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("API token Billing system")
    expect(page.get_by_text("cannot be shown again")).to_be_visible()
    expect(page.get_by_label("API token for Billing system")).to_have_count(0)

    page.get_by_role("link", name="Back to API tokens").click()
    live = page.get_by_role("table", name="Live tokens (1)")
    expect(live).to_contain_text(made.prefix)
    live.get_by_role("link", name="Revoke Billing system").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke the token Billing system?")
    assert_accessible(page)
    shot(page, "token-revoke")
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.get_by_role("status")).to_contain_text("is revoked")
    expect(page.get_by_role("table", name="Revoked tokens (1)")).to_contain_text("Billing system")
    assert_accessible(page)
    shot(page, "tokens-revoked")
    made.refresh_from_db()
    assert made.revoked_at is not None

    page.get_by_role("navigation", name="API and webhooks").get_by_role(
        "link", name="Webhook endpoints"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook endpoints")
    assert_accessible(page)
    shot(page, "webhooks")
    page.get_by_label("Address (URL)").fill(HOOK)
    page.get_by_label("Description (optional)").fill("CRM, production")
    page.get_by_label("Case state changed").check()
    page.get_by_label("ADR letter issued").check()
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your new webhook endpoint")
    expect(page.get_by_label(re.compile("Signing secret for endpoint"))).to_have_value(RAW_SECRET)
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    assert_accessible(page)
    shot(page, "webhook-new")
    hook = WebhookEndpoint.objects.get(provider__slug="v4voip")
    assert hook.types == ["case.state_changed", "adr_letter.issued"]

    page.get_by_role("link", name="Its delivery log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Delivery log of webhook endpoint {hook.pk}"
    )
    expect(page.get_by_text("Nothing has been sent to this endpoint yet")).to_be_visible()
    assert_accessible(page)
    shot(page, "deliveries-empty")

    # A case moves on: its delivery is in the log, its body one click away, and replayable.
    case = escalated()
    page.reload()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=case.reference))
    expect(row).to_contain_text("Waiting to be sent")
    page.get_by_text(re.compile(r"Body of delivery \d+")).click()
    expect(page.locator(".log-body pre")).to_contain_text(case.reference)
    assert_accessible(page)
    shot(page, "deliveries")
    row.get_by_role("button", name=re.compile("^Replay")).click()
    expect(page.get_by_role("status")).to_contain_text("will be sent again")
    expect(page.get_by_role("table")).to_contain_text("Replay of")

    page.get_by_role("link", name="Back to webhook endpoints").click()
    endpoints = page.get_by_role("table", name="Endpoints (1)")
    expect(endpoints).to_contain_text("Case state changed, ADR letter issued")
    assert_accessible(page)
    shot(page, "webhooks-list")
    endpoints.get_by_role("link", name=re.compile("^Change")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Change webhook endpoint {hook.pk}")
    assert_accessible(page)
    shot(page, "webhook-edit")
    page.get_by_role("link", name="Remove this endpoint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Remove webhook endpoint {hook.pk}?")
    assert_accessible(page)
    shot(page, "webhook-delete")
    page.get_by_role("button", name="Remove the endpoint").click()
    expect(page.get_by_role("status")).to_contain_text("is removed")
    expect(page.get_by_text("There is no endpoint yet")).to_be_visible()


def test_the_menu_offers_the_dashboard_only_to_roles_that_may_open_it(demo: None) -> None:
    from django.test import Client

    from tests.console.conftest import signed_in

    adviser = signed_in(Client(), "v4voip-adviser").get("/staff/")
    manager = signed_in(Client(), "v4voip-manager").get("/staff/")
    assert adviser.status_code == manager.status_code == 200
    assert b'href="/staff/dashboard/"' not in adviser.content
    assert b'href="/staff/dashboard/"' in manager.content
    assert signed_in(Client(), "v4voip-adviser").get("/staff/dashboard/").status_code == 403
