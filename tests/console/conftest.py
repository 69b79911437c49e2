"""Given: the demo's providers, staff and cases; signing in as a role, in a client or a
browser; and axe-core over a page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from playwright.sync_api import expect

from amends.core.demo import DEMO_PASSWORD, demo_load
from tests.conftest import assert_accessible  # noqa: F401 (the console's tests import it here)


class _DemoSnapshot:
    """The demo loaded once for the tests of a module that read it in their own transaction,
    and kept in an open transaction: each such test's transaction is a savepoint inside it
    and rolls back to it (as Django's ``setUpTestData``). Loading the demo is the costliest
    set-up of the suite (a second or more a test on PostgreSQL); a test that needs it
    committed (a browser test: another process serves the pages) closes the snapshot first
    and loads its own."""

    def __init__(self) -> None:
        self.atomic: Any = None

    def open(self, blocker: Any) -> None:
        if self.atomic is not None and self.atomic not in connection.atomic_blocks:
            self.atomic = None  # rolled back under us: never trust it again
        if self.atomic is None and not connection.in_atomic_block:
            # Only as the outermost transaction (a test whose own transaction is already
            # open, through a module's django_db mark, loads the demo in it as before).
            with blocker.unblock():
                self.atomic = transaction.atomic()
                self.atomic.__enter__()
                demo_load()

    def close(self, blocker: Any) -> None:
        if self.atomic is not None and self.atomic in connection.atomic_blocks:
            with blocker.unblock():
                transaction.set_rollback(True)
                self.atomic.__exit__(None, None, None)
        self.atomic = None


_SNAPSHOT = _DemoSnapshot()


@pytest.fixture(scope="module", autouse=True)
def _demo_snapshot_per_module(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    yield
    _SNAPSHOT.close(django_db_blocker)


@pytest.fixture(autouse=True)
def _demo_snapshot(
    request: pytest.FixtureRequest, django_db_setup: Any, django_db_blocker: Any
) -> None:
    """Before the test's own transaction: the snapshot open for a test that reads the demo in
    a transaction, closed for every other."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    committed = (
        "transactional_db" in names
        or "live_server" in names
        or (
            marker is not None
            and bool(marker.kwargs.get("transaction", marker.args[0] if marker.args else False))
        )
    )
    if "demo" in names and not committed:
        _SNAPSHOT.open(django_db_blocker)
    else:
        _SNAPSHOT.close(django_db_blocker)


@pytest.fixture
def demo(db: Any) -> None:
    """Both seed providers with a user per role and a complaint in every state."""
    if _SNAPSHOT.atomic is None or _SNAPSHOT.atomic not in connection.atomic_blocks:
        demo_load()  # in the test's transaction (committed, for a browser test)


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
