"""The local mail catcher: every message kept as an .eml file, one line printed per message;
the sender's mail lands there; it stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from amends.comms.catcher import serve_catcher, summary
from amends.comms.models import OutboxMessage
from amends.comms.sender import outbox_email_sweep
from tests.cases.conftest import World
from tests.comms.test_sender import ADDRESS, T0, acknowledgement
from tests.conftest import REPO, free_port, stop_process


class Lines:
    """A text stream the catcher's thread writes and the test reads."""

    def __init__(self) -> None:
        self.text = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def lines(self) -> list[str]:
        with self._lock:
            return self.text.splitlines()


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[tuple[int, Path, Lines]]:
    directory = tmp_path / "mail"
    out = Lines()
    stop = threading.Event()
    ports: list[int] = []
    ready = threading.Event()

    def on_ready(port: int) -> None:
        ports.append(port)
        ready.set()

    thread = threading.Thread(
        target=serve_catcher,
        kwargs={
            "host": "127.0.0.1",
            "port": 0,
            "directory": directory,
            "out": out,
            "stop": stop,
            "ready": on_ready,
        },
        daemon=True,
    )
    thread.start()
    try:
        assert ready.wait(15), out.text
        yield ports[0], directory, out
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert out.lines()[-1] == "Mail catcher stopped."


def wait_for_files(directory: Path, count: int) -> list[Path]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*.eml"))
        if len(files) >= count:
            return files
        time.sleep(0.05)
    raise AssertionError(f"expected {count} .eml files in {directory}")


def parse(path: Path) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def test_every_message_is_kept_as_an_eml_file_with_one_line_each(
    catcher: tuple[int, Path, Lines],
) -> None:
    port, directory, out = catcher
    first = EmailMessage()
    first["From"] = "complaints@amends.localhost"
    first["To"] = "pat@example.invalid"
    first["Subject"] = "ISS-26-000001-6: Acknowledgement — reçu"
    first["Message-ID"] = "<abc123@amends.localhost>"
    first.set_content("We have your complaint.\n")
    first.add_alternative("<p>We have your complaint.</p>", subtype="html")
    second = EmailMessage()
    second["From"] = "complaints@amends.localhost"
    second["To"] = "a@example.invalid, b@example.invalid"
    second["Subject"] = "Two recipients"
    second.set_content("Hello\n")  # no Message-ID
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(first)
        client.send_message(second)

    files = wait_for_files(directory, 2)
    assert len(files) == 2 and not list(directory.glob(".*.part"))
    kept = parse(files[0])
    assert kept["Message-ID"] == "<abc123@amends.localhost>"
    assert kept["Subject"] == "ISS-26-000001-6: Acknowledgement — reçu"
    assert kept["X-Original-To"] == "pat@example.invalid"
    assert kept["Return-Path"] == "<complaints@amends.localhost>"
    html = kept.get_body(("html",))
    assert html is not None and "We have your complaint." in html.get_content()
    assert parse(files[1])["X-Original-To"] == "a@example.invalid, b@example.invalid"

    lines = [line for line in out.lines() if "recipient(s)" in line]
    assert lines[0].startswith(
        "<abc123@amends.localhost> to 1 recipient(s): ISS-26-000001-6: Acknowledgement — reçu"
    )
    assert lines[1].startswith("(no Message-ID) to 2 recipient(s): Two recipients")
    assert out.lines()[0].startswith("Mail catcher listening on 127.0.0.1:")


def test_a_malformed_message_is_kept_and_summarised_without_an_error() -> None:
    assert summary(b"\xff\xfe not a header\r\n\r\nbody") == ("(no Message-ID)", "(no subject)")
    assert summary(b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nx")[1] == "café"


@pytest.mark.django_db
def test_the_senders_mail_lands_in_the_catcher(
    iss: World, catcher: tuple[int, Path, Lines], settings: Any
) -> None:
    port, directory, out = catcher
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    case, row = acknowledgement(iss)
    assert outbox_email_sweep(T0 + timedelta(seconds=1)) >= 1
    kept = {parse(p)["Message-ID"]: parse(p) for p in wait_for_files(directory, 1)}
    assert kept[row.message_id]["X-Original-To"] == ADDRESS
    assert case.reference in str(kept[row.message_id]["Subject"])
    assert OutboxMessage.objects.get(pk=row.pk).status == "sent"
    assert any(line.startswith(row.message_id) for line in out.lines())


def test_the_catcher_process_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    directory = tmp_path / "mail"
    code = (
        "from pathlib import Path; from amends.comms.catcher import serve_catcher; "
        f"serve_catcher(port={port}, directory=Path({str(directory)!r}))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        assert first.startswith(f"Mail catcher listening on 127.0.0.1:{port}"), first
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail(
                "a@example.invalid",
                ["b@example.invalid"],
                b"Subject: hello\r\nMessage-ID: <m1@x>\r\n\r\nhi\r\n",
            )
        assert process.stdout.readline().decode().startswith("<m1@x> to 1 recipient(s): hello")
        assert len(wait_for_files(directory, 1)) == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        assert process.stdout.read().decode().strip() == "Mail catcher stopped."
    finally:
        stop_process(process)
