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


def assert_accessible(page: Any) -> None:
    """axe-core (WCAG 2.0-2.2 A and AA rules) finds no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={
            "runOnly": {
                "type": "tag",
                "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
            },
            "resultTypes": ["violations"],
        },
    )
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: " + "; ".join(bad)
