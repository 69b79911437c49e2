"""Shared fixtures: real processes against the real test database.

The suite runs on SQLite by default and on PostgreSQL when ``DATABASE_URL`` points at one
(``make test`` does both when ``AMENDS_TEST_POSTGRES`` is set). Subprocess fixtures hand the
test database to ``amends serve`` / ``amends worker`` through ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import settings as hypothesis_settings

# CI runs the property tests on a fixed sequence of examples so that a submission's result
# does not depend on the draw; local runs keep exploring new examples (and any failure found
# is kept as an explicit regression test).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("AMENDS_CHROMIUM", "/usr/bin/chromium")


def database_url(settings_dict: dict[str, Any], vendor: str) -> str:
    """A DATABASE_URL naming the same database as a Django connection's settings."""
    if vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def amends_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an amends subprocess: its own var/ dir, local mode, and this
    process's audit key (so that the events it seals verify here)."""
    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        {
            "AMENDS_VAR_DIR": str(tmp_path / "var"),
            "AMENDS_ENV": "local",
            "PYTHONUNBUFFERED": "1",
            "AMENDS_AUDIT_KEY": str(settings.AMENDS_AUDIT_KEY),
        }
    )
    env.update(extra)
    return env


def amends_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "amends.cli", *args]


def wait_for_http(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> int:
    """Poll ``url`` until it answers at all; return its status code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 15.0) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return int(process.returncode)


@pytest.fixture
def test_database_url(transactional_db: None) -> str:
    """DATABASE_URL of the test database, for subprocesses (data must be committed)."""
    from django.db import connection

    return database_url(connection.settings_dict, connection.vendor)


@pytest.fixture
def scratch_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the vendor under test, dropped afterwards."""
    from django.db import connection

    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    import psycopg

    name = f"amends_scratch_{uuid.uuid4().hex[:12]}"
    settings_dict = dict(connection.settings_dict)
    admin_url = database_url({**settings_dict, "NAME": "postgres"}, "postgresql")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url({**settings_dict, "NAME": name}, "postgresql")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def web_server(test_database_url: str, tmp_path: Path) -> Iterator[str]:
    """``amends serve`` on a free port against the test database; yields its base URL."""
    port = free_port()
    env = amends_env(tmp_path, DATABASE_URL=test_database_url)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        amends_command("serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"),
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", process=process)
        yield base
    finally:
        stop_process(process)
        log.close()


@pytest.fixture
def web_server_log(web_server: str, tmp_path: Path) -> Path:
    """Where the ``web_server`` fixture's ``amends serve`` writes its stdout and stderr."""
    return tmp_path / "serve.log"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package "
            "(apt-get install chromium) or set AMENDS_CHROMIUM; .ci/run installs it."
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the Django code the test
    # itself runs (fixtures, assertions on the database) is still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    try:
        yield page
    finally:
        page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
        context.close()


@pytest.fixture(autouse=True, scope="session")
def _flush_may_purge_events() -> Iterator[None]:
    """Events are append-only in the database (triggers); the suite's flush between
    transactional tests is the deliberate purge those triggers allow, and nothing else is."""
    from django.core.management.commands import flush

    from amends.cases.events import events_purge_allowed

    original = flush.Command.handle

    def handle(self: Any, *args: Any, **options: Any) -> Any:
        with events_purge_allowed(options.get("database") or "default"):
            return original(self, *args, **options)

    flush.Command.handle = handle  # type: ignore[method-assign]
    try:
        yield
    finally:
        flush.Command.handle = original  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    """Fast password hashing in this process (demo logins hash a dozen passwords);
    subprocesses started by tests keep the real hasher."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The second factor is required of admins and compliance leads; its own tests turn it on
    # (tests/console/test_auth.py), every other test signs in without it, here and in the
    # `amends serve` subprocesses (which read their settings from the environment).
    settings.AMENDS_REQUIRE_TOTP_ROLES = ()
    os.environ["AMENDS_REQUIRE_TOTP_ROLES"] = "none"


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


@pytest.fixture(autouse=True)
def _rate_limit_clock_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limits count in fixed windows of the wall clock (amends.core.ratelimit): a
    test whose requests straddled a window's end saw its count start again (the API's
    one-minute window failed a fresh-clone run at 18:15:59). In this process every hit falls
    in one window; the limiter's counting is unchanged."""
    from types import SimpleNamespace

    from amends.core import ratelimit

    pinned = 1_800_000_030.0  # 30 s into a minute, of an hour
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: pinned))
