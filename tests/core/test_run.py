"""``amends run`` (what ``make run`` calls): migrate, demo data, web and worker together."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO, amends_command, amends_env, free_port, wait_for_http

pytestmark = pytest.mark.subprocess


def stop_run(process: subprocess.Popen[bytes]) -> None:
    """Stop ``amends run`` as Ctrl-C does, so that it stops its web server and worker: they run
    in their own sessions, and killing only the supervisor would leave them running."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_and_stop(
    env: dict[str, str], port: int, log_path: Path, mail_dir: Path | None = None
) -> tuple[int, dict[str, object], str]:
    """Start ``amends run``, wait for a fresh worker heartbeat, Ctrl-C it; return what we saw."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            amends_command("run", "--bind", f"127.0.0.1:{port}"),
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            assert wait_for_http(f"{base}/", timeout=90, process=process) == 200
            deadline = time.monotonic() + 90
            while True:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    health = json.loads(response.read())
                    status = response.status
                if health["worker"]["status"] == "ok":
                    break
                assert time.monotonic() < deadline, f"no fresh heartbeat: {health}"
                time.sleep(0.5)
            with urllib.request.urlopen(f"{base}/", timeout=5) as response:
                home = response.read().decode()
            if mail_dir is not None:
                # The worker sends the demo's emails to the catcher that `amends run` started.
                deadline = time.monotonic() + 90
                while not list(mail_dir.glob("*.eml")):
                    assert time.monotonic() < deadline, "no demo email reached the catcher"
                    assert process.poll() is None
                    time.sleep(0.5)
            process.send_signal(signal.SIGINT)  # what Ctrl-C sends
            assert process.wait(timeout=30) == 0
        finally:
            stop_run(process)
    assert "V4VoIP" in home and "Infinity System Solutions Ltd" in home
    return status, health, log_path.read_text()


def test_run_serves_home_and_health_and_starts_again_after_ctrl_c(
    tmp_path: Path, scratch_database_url: str
) -> None:
    catcher = free_port()
    env = amends_env(tmp_path, DATABASE_URL=scratch_database_url, AMENDS_CATCHER_PORT=str(catcher))
    env.pop("EMAIL_HOST", None)
    env.pop("EMAIL_PORT", None)
    port = free_port()
    mail = tmp_path / "var" / "mail"

    status, health, first_log = start_and_stop(env, port, tmp_path / "first.log", mail)
    assert status == 200
    assert health["database"]["status"] == "ok"  # type: ignore[index]
    assert health["migrations"]["unapplied"] == []  # type: ignore[index]
    assert health["worker"]["age_seconds"] < 90  # type: ignore[index]
    assert "every password is amends-demo" in first_log
    assert "Demo data loaded: user admin, provider v4voip, code v4voip," in first_log
    assert "Stopped." in first_log
    assert f"Email goes to the local mail catcher on 127.0.0.1:{catcher}" in first_log
    caught = [path.read_bytes() for path in mail.glob("*.eml")]
    assert any(b"we have received your complaint" in raw for raw in caught), len(caught)
    # The demo's addresses only (reserved names), and nothing was delivered anywhere else.
    recipients = {
        line.split(b":", 1)[1].strip()
        for raw in caught
        for line in raw.splitlines()
        if line.startswith(b"X-Original-To:")
    }
    assert recipients and all(
        r.rstrip(b">").endswith((b"example.invalid", b"@amends.localhost")) for r in recipients
    ), recipients

    status, _, second_log = start_and_stop(env, port, tmp_path / "second.log")
    assert status == 200
    assert "Demo data already present; nothing changed." in second_log
    assert "Traceback" not in first_log + second_log


def test_run_listens_on_amends_bind_and_says_so(tmp_path: Path, scratch_database_url: str) -> None:
    """``make run`` passes no --bind: AMENDS_BIND chooses the address, as for ``amends serve``."""
    port = free_port()
    env = amends_env(
        tmp_path,
        DATABASE_URL=scratch_database_url,
        AMENDS_BIND=f"127.0.0.1:{port}",
        EMAIL_PORT=str(free_port()),  # a real SMTP server named: no catcher is started
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            amends_command("run", "--no-demo"),
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            assert wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process) == 200
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
        finally:
            stop_run(process)
    output = log_path.read_text()
    assert f"Amends is running on http://127.0.0.1:{port}/ " in output
    assert "127.0.0.1:8000/" not in output
    assert "mail catcher" not in output
    assert "Stopped." in output
