"""Fixtures for the communications tests: the case worlds of tests/cases, and a real SMTP
server (aiosmtpd) started on a free port for each test and stopped whatever happened."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.cases.conftest import iss, v4voip  # noqa: F401  (fixtures, re-exported)
from tests.conftest import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


class ScriptedHandler:
    """Answers each mail transaction by the next step of ``plan`` (then "ok" for ever):

    ``ok`` accept; ``451-rcpt`` / ``550-rcpt`` refuse the recipient; ``451-data`` /
    ``550-data`` refuse the message; ``drop`` close the connection once the message is in,
    without an answer (the message is lost); ``hold`` keep the message, then wait for
    ``release`` before answering (so that a test can kill the sender in between).
    """

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.received: list[Received] = []
        self.transactions = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def _step(self, envelope: Any) -> str:
        step = getattr(envelope, "amends_step", None)
        if step is None:
            with self._lock:
                self.transactions += 1
                step = self.plan.pop(0) if self.plan else "ok"
            envelope.amends_step = step
        return str(step)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        step = self._step(envelope)
        if step == "451-rcpt":
            return f"451 4.7.1 <{address}>: greylisted, try again later"
        if step == "550-rcpt":
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        step = self._step(envelope)
        if step == "451-data":
            return "451 4.3.0 temporary failure, try again later"
        if step == "550-data":
            return "550 5.7.1 message refused"
        if step == "drop":
            server.transport.close()
            return "421 closing"
        received = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            content=bytes(envelope.original_content or envelope.content),
        )
        with self._lock:
            self.received.append(received)
        if step == "hold":
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 OK: queued"

    def message_ids(self) -> list[str]:
        return [str(r.message["Message-ID"]) for r in self.received]


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: ScriptedHandler


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SmtpServer]:
    """An SMTP server on a free port, and Django's mail settings pointing at it."""
    # aiosmtpd logs every command (with the addresses in it) at INFO: not in the test output.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        handler.release.set()
        controller.stop()
