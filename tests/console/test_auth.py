"""Staff sign-in: lockout after repeated failures, the TOTP second factor (required for the
admin and compliance roles), sessions that expire, and signing out everywhere."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from amends.console.models import StaffSession
from tests.console.conftest import assert_accessible, browser_sign_in, signed_in

PASSWORD = "correct horse battery staple"
LOGIN = "/staff/login/"


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the user's app would show (``steps_ahead`` 30-second steps from now)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture(autouse=True)
def no_throttle(settings: Any) -> None:
    """django-otp slows guessing (1 s after a wrong code, doubling); tests go at once."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def totp_roles(settings: Any) -> None:
    settings.AMENDS_REQUIRE_TOTP_ROLES = ("admin", "compliance")


@pytest.fixture
def handler(demo: None) -> User:
    user = User.objects.get(username="v4voip-case_handler")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, {"username": username, "password": password})


# Lockout -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failures_lock_the_username_out_even_with_the_right_password(
    handler: User, client: Client
) -> None:
    for _ in range(4):
        response = sign_in(client, handler.username, "wrong")
        assert response.status_code == 200
        assert "The username or password is not right" in response.content.decode()
    fifth = sign_in(client, handler.username, "wrong")
    assert fifth.status_code == 429
    assert "Signing in is paused" in fifth.content.decode()
    assert "15 minutes" in fifth.content.decode()
    refused = sign_in(client, handler.username)
    assert refused.status_code == 429 and "Traceback" not in refused.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is still refused for this username.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert sign_in(other, handler.username).status_code == 429


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(handler: User, client: Client) -> None:
    from axes.models import AccessAttempt

    for _ in range(5):
        sign_in(client, handler.username, "wrong")
    assert sign_in(client, handler.username).status_code == 429
    from datetime import timedelta

    from django.utils import timezone

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = sign_in(client, handler.username)
    assert response.status_code == 302 and response["Location"] == "/staff/"


@pytest.mark.django_db
def test_five_failures_from_one_address_lock_that_address(handler: User) -> None:
    attacker = Client(REMOTE_ADDR="10.9.9.9")
    for number in range(5):
        sign_in(attacker, f"nobody-{number}", "wrong")
    assert sign_in(attacker, handler.username).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="10.0.0.1"), handler.username).status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_count(handler: User, client: Client) -> None:
    for _ in range(4):
        sign_in(client, handler.username, "wrong")
    assert sign_in(client, handler.username).status_code == 302
    client.post("/staff/logout/")
    for _ in range(4):
        assert sign_in(client, handler.username, "wrong").status_code == 200
    assert sign_in(client, handler.username).status_code == 302


@pytest.mark.django_db
def test_failed_sign_ins_never_log_the_username_typed(
    demo: None, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    from amends.core.logging import JsonFormatter

    caplog.set_level(logging.DEBUG)
    for _ in range(6):
        sign_in(client, "someone.secret@example.com", "wrong")
    lines = [JsonFormatter().format(record) for record in caplog.records]
    assert any("AXES" in line for line in lines)
    assert not [line for line in lines if "someone.secret" in line]


def test_sessions_expire_after_eight_hours_and_at_browser_close() -> None:
    assert django_settings.SESSION_COOKIE_AGE == 8 * 3600
    assert django_settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert django_settings.AXES_FAILURE_LIMIT == 5
    assert django_settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


# The second factor -------------------------------------------------------------------------


def set_up_device(client: Client) -> TOTPDevice:
    page = client.get("/staff/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "data:image/svg+xml;base64," in html and 'class="totp-secret"' in html
    device = TOTPDevice.objects.get(confirmed=False)
    secret = html.split('class="totp-secret">')[1].split("<")[0].replace(" ", "")
    import base64

    padded = secret + "=" * (-len(secret) % 8)
    assert base64.b32decode(padded) == device.bin_key
    wrong = client.post(
        "/staff/setup/", {"code": "000000" if code_for(device) != "000000" else "1"}
    )
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    done = client.post("/staff/setup/", {"code": code_for(device)})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


@pytest.mark.django_db
def test_a_handler_sets_up_totp_then_needs_a_code_at_the_next_sign_in(
    handler: User, client: Client
) -> None:
    assert sign_in(client, handler.username).status_code == 302
    assert client.get("/staff/").status_code == 200  # no device: no code needed
    device = set_up_device(client)
    assert client.get("/staff/").status_code == 200
    assert "Your second factor is on" in client.get("/staff/account/").content.decode()

    other = Client()
    assert sign_in(other, handler.username).status_code == 302
    for path in ("/staff/", "/staff/account/"):
        response = other.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/staff/verify/")
    assert other.get("/staff/verify/").status_code == 200
    wrong = other.post("/staff/verify/", {"code": "12345x", "next": "/staff/account/"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    assert other.get("/staff/").status_code == 302
    # The setup code was used at this step already: the app's next code.
    right = other.post("/staff/verify/", {"code": code_for(device, 1), "next": "/staff/account/"})
    assert right.status_code == 302 and right["Location"] == "/staff/account/"
    assert other.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_a_used_code_is_not_accepted_twice(handler: User) -> None:
    device = TOTPDevice.objects.create(user=handler, name="app", confirmed=True)
    code = code_for(device)
    first, second = Client(), Client()
    sign_in(first, handler.username)
    sign_in(second, handler.username)
    assert first.post("/staff/verify/", {"code": code}).status_code == 302
    assert second.post("/staff/verify/", {"code": code}).status_code == 400


@pytest.mark.django_db
def test_wrong_codes_are_throttled(handler: User, client: Client, settings: Any) -> None:
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    device = TOTPDevice.objects.create(user=handler, name="app", confirmed=True)
    sign_in(client, handler.username)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    assert client.post("/staff/verify/", {"code": wrong}).status_code == 400
    refused = client.post("/staff/verify/", {"code": code_for(device)})
    assert refused.status_code == 400 and "Too many wrong codes" in refused.content.decode()


@pytest.mark.django_db
def test_setup_cannot_replace_a_device_without_its_code(handler: User, client: Client) -> None:
    TOTPDevice.objects.create(user=handler, name="app", confirmed=True)
    sign_in(client, handler.username)
    response = client.get("/staff/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/verify/")
    assert not TOTPDevice.objects.filter(confirmed=False).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "compliance"])
def test_admin_and_compliance_without_a_device_must_set_one_up(
    demo: None, client: Client, totp_roles: None, role: str
) -> None:
    signed_in(client, f"v4voip-{role}")
    for path in ("/staff/", "/staff/account/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/staff/setup/")
    page = client.get("/staff/setup/")
    assert "Your role needs a second factor" in page.content.decode()
    set_up_device(client)
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_other_roles_are_not_forced(demo: None, client: Client, totp_roles: None) -> None:
    signed_in(client, "v4voip-manager")
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_the_role_rule_can_be_turned_off(demo: None, client: Client, settings: Any) -> None:
    settings.AMENDS_REQUIRE_TOTP_ROLES = ()
    signed_in(client, "v4voip-admin")
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_the_portal_and_the_admin_are_left_alone(
    demo: None, client: Client, totp_roles: None
) -> None:
    signed_in(client, "v4voip-admin")
    assert client.get("/").status_code == 200
    assert client.get("/admin/login/").status_code in (200, 302)


# Signing out everywhere ----------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_out_everywhere_ends_every_session_of_the_user(handler: User) -> None:
    laptop, phone, colleague = Client(), Client(), Client()
    assert sign_in(laptop, handler.username).status_code == 302
    assert sign_in(phone, handler.username).status_code == 302
    signed_in(colleague, "v4voip-manager")
    for client in (laptop, phone, colleague):
        assert client.get("/staff/").status_code == 200
    assert StaffSession.objects.filter(user=handler).count() == 2

    account = phone.get("/staff/account/")
    assert "Sign out everywhere" in account.content.decode()
    assert phone.get("/staff/account/sign-out-everywhere/").status_code == 405
    response = phone.post("/staff/account/sign-out-everywhere/")
    assert response.status_code == 302 and response["Location"] == LOGIN

    for client in (laptop, phone):
        again = client.get("/staff/")
        assert again.status_code == 302 and again["Location"].startswith(LOGIN)
    assert colleague.get("/staff/").status_code == 200
    assert not StaffSession.objects.filter(user=handler).exists()
    # Signing in again works as before.
    assert sign_in(laptop, handler.username).status_code == 302
    assert laptop.get("/staff/").status_code == 200


@pytest.mark.django_db
def test_setting_up_a_second_factor_ends_the_other_sessions(handler: User) -> None:
    laptop, phone = Client(), Client()
    sign_in(laptop, handler.username)
    sign_in(phone, handler.username)
    set_up_device(phone)
    assert phone.get("/staff/").status_code == 200
    assert laptop.get("/staff/").status_code == 302


# In a browser --------------------------------------------------------------------------------


@pytest.mark.browser
def test_browser_a_manager_sets_up_totp_then_signs_in_with_a_code(
    demo: None, web_server: str, page: Any
) -> None:
    """The journey in a real browser (the server runs with the test suite's settings, where
    no role is forced: the manager chooses to set up a second factor)."""
    from amends.core.demo import DEMO_PASSWORD

    page.goto(f"{web_server}{LOGIN}")
    assert_accessible(page)
    page.get_by_label("Username").fill("v4voip-manager")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("The username or password is not right")

    browser_sign_in(page, web_server, "v4voip-manager")
    page.goto(f"{web_server}/staff/account/")
    expect(page.get_by_text("Your second factor is off")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Set up a second factor").click()
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    assert_accessible(page)
    qr = page.get_by_role("img", name="QR code holding the key shown below as text")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0
    device = TOTPDevice.objects.get(user__username="v4voip-manager", confirmed=False)
    page.get_by_label("Code").fill(code_for(device))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Your second factor is set up")).to_be_visible()
    expect(page.get_by_text("Your second factor is on")).to_be_visible()

    # Signed out and in again: the code comes after the password.
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.goto(f"{web_server}{LOGIN}?next=/staff/")
    page.get_by_label("Username").fill("v4voip-manager")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(
        page.get_by_role("heading", name="Enter the code from your authenticator app")
    ).to_be_visible()
    assert "/staff/verify/" in page.url
    assert_accessible(page)
    page.get_by_label("Code").fill("000000" if code_for(device, 1) != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    assert_accessible(page)
    page.wait_for_timeout(1200)  # the server's throttle: 1 s after one wrong code
    page.get_by_label("Code").fill(code_for(device, 1))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("nav.console-nav")).to_be_visible()
