"""A local mail catcher: an SMTP server that keeps every message it is given, for ``make run``.

``serve_catcher()`` (``amends mail catcher``) listens on 127.0.0.1:1025 and writes each
message it accepts to ``var/mail/`` as an ``.eml`` file (open it with any mail program, or read
it as text), printing one line per message: its Message-ID, how many recipients, its subject.
Point Amends at it with ``EMAIL_PORT=1025`` (``EMAIL_HOST`` is 127.0.0.1 by default) and the
worker's acknowledgements, ADR letters and staff notices land there instead of anyone's inbox.
Nothing is relayed anywhere. Local use only: it accepts mail from anyone who can reach it.

Each file is the message exactly as the sender wrote it, after a ``Return-Path`` and an
``X-Original-To`` line naming the envelope (as a mail server's local delivery adds them), so
a staff notice's recipient can be checked too. Files are written under a temporary name and
renamed, so a reader never sees half a message. Needs ``aiosmtpd``; never imports Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any, TextIO


class CatcherHandler:
    """aiosmtpd handler: store each message as an .eml file and print a line about it."""

    def __init__(self, directory: Path, out: TextIO | None = None) -> None:
        self.directory = Path(directory)
        self.out = out if out is not None else sys.stdout
        self._serial = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        recipients = list(envelope.rcpt_tos or [])
        message_id, subject = summary(content)
        path = self.store(content, mail_from=envelope.mail_from or "", recipients=recipients)
        line = f"{message_id} to {len(recipients)} recipient(s): {subject}  [{path.name}]"
        with self._lock:
            print(line, file=self.out, flush=True)
        return "250 Message accepted for delivery"

    def store(self, content: bytes, *, mail_from: str, recipients: list[str]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            serial = next(self._serial)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{serial:05d}-{secrets.token_hex(3)}.eml"
        envelope = (
            f"Return-Path: <{_header_safe(mail_from)}>\r\n"
            f"X-Original-To: {_header_safe(', '.join(recipients))}\r\n"
        ).encode()
        final = self.directory / name
        partial = self.directory / f".{name}.part"
        with open(partial, "wb") as handle:
            handle.write(envelope)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(final)
        return final


def _header_safe(text: str) -> str:
    return " ".join(str(text).split())


def summary(content: bytes) -> tuple[str, str]:
    """(Message-ID, subject) of a raw message; never raises on a malformed one."""
    try:
        headers = BytesParser(policy=policy.default).parsebytes(content, headersonly=True)
        message_id = _header_safe(str(headers.get("Message-ID") or "")) or "(no Message-ID)"
        subject = _header_safe(str(headers.get("Subject") or "")) or "(no subject)"
    except Exception:
        return "(unreadable headers)", "(unreadable headers)"
    return message_id, subject


def serve_catcher(
    host: str = "127.0.0.1",
    port: int = 1025,
    directory: Path = Path("var/mail"),
    *,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run the catcher until Ctrl-C or SIGTERM (or ``stop`` is set); blocks.

    ``port=0`` takes a free port; ``ready`` is called with the port once it listens.
    """
    asyncio.run(_serve(host, port, Path(directory), out or sys.stdout, stop, ready))


async def _serve(
    host: str,
    port: int,
    directory: Path,
    out: TextIO,
    stop: threading.Event | None,
    ready: Callable[[int], None] | None,
) -> None:
    from aiosmtpd.smtp import SMTP

    directory.mkdir(parents=True, exist_ok=True)
    handler = CatcherHandler(directory, out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="amends-mail-catcher"),
        host=host,
        port=port,
    )
    bound = int(server.sockets[0].getsockname()[1])
    stopped = asyncio.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stopped.set)
    print(
        f"Mail catcher listening on {host}:{bound}, keeping messages in {directory} "
        "(Ctrl-C stops it). Run Amends with EMAIL_PORT="
        f"{bound} to send here.",
        file=out,
        flush=True,
    )
    if ready is not None:
        ready(bound)
    try:
        while not stopped.is_set():
            if stop is not None and stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), timeout=0.2)
    finally:
        server.close()
        await server.wait_closed()
        print("Mail catcher stopped.", file=out, flush=True)
