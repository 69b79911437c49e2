"""``amends mail ingest`` as Postfix or Exim runs it: a process per message, the message on
standard input, and an exit status the mail server understands (0 stored, 75 try again)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from amends.comms.models import InboundMessage
from tests.cases.conftest import make_world
from tests.conftest import REPO, amends_command, amends_env

pytestmark = pytest.mark.subprocess

EML = Path(__file__).parent / "eml"


def pipe(
    raw: bytes, *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        amends_command("mail", "ingest", *args),
        input=raw,
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def env(test_database_url: str, tmp_path: Path) -> dict[str, str]:
    make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")
    return amends_env(
        tmp_path, DATABASE_URL=test_database_url, AMENDS_FILES_DIR=str(tmp_path / "files")
    )


def test_a_piped_message_is_stored_and_lands_on_a_new_case(
    env: dict[str, str], tmp_path: Path
) -> None:
    raw = (EML / "new_complaint.eml").read_bytes()
    done = pipe(raw, "--provider", "v4voip", env=env)
    assert done.returncode == 0, done.stderr.decode()
    row = InboundMessage.objects.get()
    assert row.status == "opened" and row.case is not None
    assert f"opened a case ({row.case.reference})" in done.stdout.decode()
    assert (tmp_path / "files" / row.raw.name).read_bytes() == raw
    again = pipe(raw, "--provider", "v4voip", env=env)
    assert again.returncode == 0 and b"already stored" in again.stdout
    assert InboundMessage.objects.count() == 1


def test_a_message_that_cannot_be_read_is_quarantined_and_exits_0(env: dict[str, str]) -> None:
    done = pipe((EML / "broken_mime.eml").read_bytes(), "--provider", "v4voip", env=env)
    assert done.returncode == 0, done.stderr.decode()
    assert b"quarantined: broken MIME" in done.stdout
    empty = pipe(b"", "--provider", "v4voip", env=env)
    assert empty.returncode == 0 and b"quarantined: the message is empty" in empty.stdout
    unknown = pipe(b"From: a@b.example\n\nhi", "--provider", "nobody", env=env)
    assert unknown.returncode == 0 and b"no provider 'nobody'" in unknown.stdout


def test_an_unreachable_database_exits_75_so_the_mail_server_retries(tmp_path: Path) -> None:
    raw = (EML / "new_complaint.eml").read_bytes()
    for url in (
        "postgres://root@127.0.0.1:1/amends",  # nothing listens on port 1
        f"sqlite:///{tmp_path}/no/such/dir/amends.sqlite3",
    ):
        env = amends_env(tmp_path, DATABASE_URL=url, AMENDS_FILES_DIR=str(tmp_path / "files"))
        done = pipe(raw, "--provider", "v4voip", env=env)
        assert done.returncode == 75, (url, done.stderr.decode())
        assert b"database unavailable, not stored" in done.stderr
        assert b"Traceback" not in done.stderr


def test_a_file_store_that_cannot_be_written_exits_75(
    test_database_url: str, tmp_path: Path
) -> None:
    make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the file store should be")
    env = amends_env(tmp_path, DATABASE_URL=test_database_url, AMENDS_FILES_DIR=str(blocked))
    done = pipe((EML / "new_complaint.eml").read_bytes(), "--provider", "v4voip", env=env)
    assert done.returncode == 75, done.stderr.decode()
    assert InboundMessage.objects.count() == 0


def test_the_catcher_subcommand_is_there(tmp_path: Path) -> None:
    done = subprocess.run(
        amends_command("mail", "catcher", "--help"),
        env=amends_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and b"--directory" in done.stdout
