"""Given: the demo's providers, staff and cases; signing in as a role, in a client or a
browser; and axe-core over a page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from amends.core.demo import DEMO_PASSWORD, demo_load
from tests.conftest import assert_accessible  # noqa: F401 (the console's tests import it here)


@pytest.fixture
def demo(db: Any) -> None:
    """Both seed providers with a user per role and a complaint in every state."""
    demo_load()


def signed_in(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


def browser_sign_in(page: Any, base: str, username: str, *, next_path: str = "/staff/") -> None:
    """Sign in through the login form. The test process hashes with a fast test hasher; the
    server (another process) verifies with the real ones, so the password is set here."""
    hasher = PBKDF2PasswordHasher()
    User.objects.filter(username=username).update(
        password=hasher.encode(DEMO_PASSWORD, hasher.salt())
    )
    page.goto(f"{base}/staff/login/?next={next_path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("nav.console-nav")).to_be_visible()
