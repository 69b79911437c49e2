"""The home page says what this instance is and links to the staff sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from amends.core.demo import DEMO_PASSWORD, demo_load

pytestmark = pytest.mark.django_db


def test_home_lists_the_providers_served(client: Client) -> None:
    demo_load()
    html = client.get("/").content.decode()
    assert "V4VoIP Ltd" in html
    assert "Infinity System Solutions Ltd" in html
    assert 'href="/staff/login/"' in html


def test_home_without_providers_says_so(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "No provider has been set up yet" in response.content.decode()


def test_unknown_page_is_a_plain_404_page(client: Client) -> None:
    response = client.get("/no-such.page")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_admin_requires_sign_in(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_console_requires_sign_in(client: Client) -> None:
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


def test_wrong_password_re_renders_the_form_with_a_clear_error(client: Client) -> None:
    demo_load()
    response = client.post("/staff/login/", {"username": "admin", "password": "wrong"})
    assert response.status_code == 200
    assert "The username or password is not right" in response.content.decode()


@pytest.mark.browser
def test_a_person_reaches_the_console_from_the_home_page(
    web_server: str, page: Any, tmp_path: Path
) -> None:
    demo_load()
    # This process hashes with a fast test hasher; the server verifies with the real ones.
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(username="admin").update(
        password=hasher.encode(DEMO_PASSWORD, hasher.salt())
    )
    # expect() waits for the page to get there; a snapshot (is_visible(), inner_text()) taken
    # right after an action reads whatever was on screen at that instant.
    page.goto(web_server + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Complaint handling and dispute resolution"
    )
    expect(page.get_by_role("heading", name="V4VoIP")).to_be_visible()
    page.get_by_role("link", name="Sign in to the staff console").click()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(web_server + "/staff/")
    expect(page.locator("main")).to_contain_text("You are not on the staff of a provider")
    page.screenshot(path=str(tmp_path / "console.png"))
    page.get_by_role("link", name="Administration").click()
    expect(
        page.locator("#providers-provider").get_by_role("link", name="Providers")
    ).to_be_visible()
