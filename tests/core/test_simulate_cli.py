"""``amends simulate --postgres URL``: an unreachable server is one line, not a traceback."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, amends_command, amends_env

pytestmark = pytest.mark.subprocess


def closed_port() -> int:
    """A local port nothing listens on (bound, then released without listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgres_server_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    port = closed_port()
    env = amends_env(tmp_path)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        amends_command(
            "simulate",
            "--code",
            str(REPO / "amends" / "codes" / "v4voip.toml"),
            "--complaints",
            "1",
            "--days",
            "1",
            "--postgres",
            f"postgres://root@127.0.0.1:{port}/x",
        ),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    # libpq's reason ("Connection refused") follows, without its multi-line preamble and hint.
    assert line.startswith(f"cannot reach the PostgreSQL server at 127.0.0.1:{port}: "), line
    assert len(line) > len(f"cannot reach the PostgreSQL server at 127.0.0.1:{port}: ")
    assert result.stdout == ""
