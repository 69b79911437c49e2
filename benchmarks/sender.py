"""The email sender's throughput: messages per second delivered to a local SMTP server.

Run from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth)::

    python -m benchmarks.sender [--messages 2000] [--databases sqlite,postgresql]
        [--postgres postgres://root@127.0.0.1:5432/postgres] [--write]

This process starts an SMTP server (aiosmtpd, on a free port of 127.0.0.1) that accepts every
message and notes its Message-ID; for each database it makes a scratch database (a temporary
SQLite file, or a database created on the PostgreSQL server and dropped afterwards) and starts
an Amends process on it (``DATABASE_URL``, ``AMENDS_VAR_DIR`` a temporary directory,
``LOG_LEVEL=WARNING``, ``EMAIL_PORT`` the server's). That process migrates, makes a provider on
the shipped ISS code with a manager and ``--messages`` complaints (one customer each, with an
email address), and writes two batches of outbox rows (not timed):

* **acknowledgements**: one per complaint, to the customer, with a text and an HTML part,
  meeting the acknowledgement promise. Each delivery is recorded through
  ``case_message_delivered`` (the case's transaction: the row marked sent, the case
  acknowledged, its clock met, an event sealed on the audit chain).
* **staff notices**: one per complaint, to the manager (channel ``staff``), marked sent by the
  sender itself.

Each batch is timed from the first ``outbox_email_sweep(now)`` to the pass that finds nothing
due (the worker's loop without its sleep): claim (its own transaction), send, record, per
message; one SMTP connection per pass of up to 200 messages. SQL statements are counted with
``connection.execute_wrapper`` during the timed run. Last, a baseline: the same number of
messages built by Django and sent over one SMTP connection, without a database: what the SMTP
leg alone costs from Python.

The server checks what arrived: every Message-ID exactly once (a duplicate fails the run).
Prints one JSON document; ``--write`` also rewrites the "Email sender" section of
``benchmarks/RESULTS.md`` between its markers (appended if missing; nothing else is touched).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._results import machine, write_block

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
HEADING = "## Email sender: messages per second to a local SMTP server (issue 10)"
BEGIN, END = "<!-- sender:begin -->", "<!-- sender:end -->"

TEXT = (
    "Dear Pat Example,\n\nThank you for telling us about your complaint. Your reference is "
    "{reference}. We will reply by {due}, and a named member of our team looks after it.\n\n"
) * 4
HTML = "<html><body>" + "<p>{reference}: we have your complaint.</p>" * 12 + "</body></html>"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the SMTP server (this process) -----------------------------------------------------------

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class CountingHandler:
    def __init__(self) -> None:
        self.ids: Counter[bytes] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = _MESSAGE_ID.search(envelope.original_content or envelope.content or b"")
        with self.lock:
            self.ids[found.group(1) if found else b"(none)"] += 1
        return "250 OK"

    def reset(self) -> None:
        """Forget what arrived (each database's run writes the same keys, so the same ids)."""
        with self.lock:
            self.ids.clear()

    def snapshot(self) -> tuple[int, int]:
        """(messages, duplicates) so far."""
        with self.lock:
            total = sum(self.ids.values())
            return total, total - len(self.ids)


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, CountingHandler]]:
    import logging
    import socket

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


# -- the Amends process -----------------------------------------------------------------------


def amends_measure(messages: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    world = _world(messages)
    figures: dict[str, Any] = {"vendor": connection.vendor, "version": _db_version()}
    for batch in ("acknowledgements", "staff notices"):
        _queue(world, batch)
        figures[batch] = _drain(messages)
    figures["baseline"] = _baseline(messages)
    return figures


def _db_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        else:
            cursor.execute("show server_version")
        return str(cursor.fetchone()[0])


def _world(messages: int) -> dict[str, Any]:
    from datetime import date

    from django.utils import timezone

    from amends.cases.actions import case_open, customer_create
    from amends.cases.actors import staff_actor
    from amends.domain.access import Role
    from amends.domain.codes import CaseKind, ChannelType, Nation
    from amends.providers.services import (
        code_version_activate,
        provider_create,
        staff_create,
    )

    now = timezone.now() - timedelta(hours=1)
    provider = provider_create(
        slug="iss",
        name="ISS",
        nation=Nation.ENGLAND_AND_WALES,
        reference_prefix="ISS",
        adr_scheme="communications-ombudsman",
        alerts_email="team@iss.example.invalid",
    )
    code_version_activate(
        provider=provider,
        content=(REPO / "amends" / "codes" / "iss.toml").read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=now,
    )
    manager = staff_create(
        provider=provider,
        username="iss-manager",
        role=Role.MANAGER,
        email="manager@iss.example.invalid",
    )
    actor = staff_actor(manager)
    log(f"  opening {messages:,} complaints (not timed)")
    cases = []
    for n in range(messages):
        customer = customer_create(
            provider=provider,
            now=now,
            contact_name=f"Customer {n}",
            email=f"customer{n}@example.invalid",
        )
        cases.append(
            case_open(
                provider=provider,
                customer=customer,
                kind=CaseKind.COMPLAINT,
                channel=ChannelType.EMAIL,
                first_received_at=now,
                summary="Broadband drops every evening",
                now=now,
                actor=actor,
            )
        )
    return {"provider": provider, "cases": cases, "manager": manager}


def _queue(world: dict[str, Any], batch: str) -> None:
    """The batch's outbox rows, written directly (what the documents say is not measured)."""
    import hashlib

    from django.utils import timezone

    from amends.comms.models import OutboxMessage
    from amends.comms.outbox import message_id_for

    # Whatever the case services queued themselves is not part of the measurement.
    OutboxMessage.objects.exclude(status="sent").update(status="sent", sent_at=timezone.now())
    staff = batch == "staff notices"
    now = timezone.now()
    rows = []
    for case in world["cases"]:
        key = f"bench:{'notice' if staff else 'ack'}:{case.pk}"
        text = TEXT.format(reference=case.reference, due="Friday 4 December 2026")
        rows.append(
            OutboxMessage(
                provider=world["provider"],
                case=case,
                key=key,
                kind="breach_notice" if staff else "acknowledgement",
                audience="staff" if staff else "customer",
                channel="staff" if staff else "email",
                recipient_name="Manager" if staff else case.customer.contact_name,
                recipient_address=(world["manager"].user.email if staff else case.customer.email),
                payload={"reference": case.reference},
                subject=f"{case.reference}: "
                + ("a promised deadline was missed" if staff else "we have your complaint"),
                body_text=text,
                body_sha256=hashlib.sha256(text.encode()).hexdigest(),
                body_html="" if staff else HTML.format(reference=case.reference),
                message_id=message_id_for(key),
                created_at=now,
                next_attempt_at=now,
                meets="" if staff else "acknowledge",
            )
        )
    OutboxMessage.objects.bulk_create(rows, batch_size=500)


def _drain(messages: int) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from amends.comms.models import OutboxMessage
    from amends.comms.sender import outbox_email_sweep

    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    passes = handled = 0
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        while True:
            done = outbox_email_sweep(timezone.now())
            passes += 1
            handled += done
            if done == 0:
                break
        seconds = time.perf_counter() - started
    sent = OutboxMessage.objects.filter(key__startswith="bench:", status="sent").count()
    return {
        "messages": handled,
        "seconds": round(seconds, 3),
        "per_second": round(handled / seconds, 1),
        "statements_per_message": round(statements / max(1, handled), 2),
        "passes": passes,
        "sent_rows_so_far": sent,
    }


def _baseline(messages: int) -> dict[str, Any]:
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives, get_connection

    connection = get_connection(fail_silently=False)
    built = []
    for n in range(messages):
        message = EmailMultiAlternatives(
            subject=f"ISS-26-{n:06d}-X: we have your complaint",
            body=TEXT.format(reference=n, due="Friday"),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[f"customer{n}@example.invalid"],
            headers={"Auto-Submitted": "auto-generated"},
            connection=connection,
        )
        message.attach_alternative(HTML.format(reference=n), "text/html")
        built.append(message)
    started = time.perf_counter()
    connection.open()
    try:
        sent = connection.send_messages(built)
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    return {"messages": sent, "seconds": round(seconds, 3), "per_second": round(sent / seconds, 1)}


# -- the driver -------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(vendor: str, server: str, folder: Path) -> Iterator[str]:
    if vendor == "sqlite":
        yield f"sqlite:///{folder / 'amends.sqlite3'}"
        return
    import psycopg

    name = f"amends_bench_sender_{uuid.uuid4().hex[:8]}"
    base = server.rsplit("/", 1)[0]
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(args: argparse.Namespace) -> dict[str, Any]:
    import django

    report: dict[str, Any] = {
        "date": f"{datetime.now(UTC):%Y-%m-%d}",
        "machine": machine(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "messages": args.messages,
        "databases": {},
    }
    with smtp_server() as (port, handler):
        for vendor in args.databases.split(","):
            with (
                tempfile.TemporaryDirectory(prefix="amends-bench-sender-") as folder,
                scratch_database(vendor, args.postgres, Path(folder)) as url,
            ):
                log(f"{vendor}: scratch database ready")
                env = {
                    k: v
                    for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
                }
                env.update(
                    DATABASE_URL=url,
                    DJANGO_SETTINGS_MODULE="config.settings",
                    AMENDS_VAR_DIR=str(Path(folder) / "var"),
                    AMENDS_ENV="local",
                    LOG_LEVEL="WARNING",
                    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                    EMAIL_HOST="127.0.0.1",
                    EMAIL_PORT=str(port),
                    EMAIL_USE_TLS="false",
                    EMAIL_USE_SSL="false",
                )
                handler.reset()
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.sender",
                        "--measure",
                        "--messages",
                        str(args.messages),
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.PIPE,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    raise SystemExit(f"the {vendor} run failed (exit {result.returncode})")
                figures: dict[str, Any] = json.loads(result.stdout)
                received, duplicates = handler.snapshot()
                expected = 3 * args.messages
                figures["server"] = {"received": received, "duplicates": duplicates}
                if received != expected or duplicates:
                    raise SystemExit(
                        f"{vendor}: the server received {received} messages "
                        f"({duplicates} duplicates), expected {expected} once each"
                    )
                figures["load_average"] = round(os.getloadavg()[0], 2)
                report["databases"][vendor] = figures
                log(f"{vendor}: {json.dumps(figures)}")
    return report


def section(report: dict[str, Any]) -> str:
    m = report["machine"]
    versions = ", ".join(
        f"{'SQLite' if v == 'sqlite' else 'PostgreSQL'} {d['version']}"
        for v, d in report["databases"].items()
    )
    lines = [
        f"Run {report['date']} with `python -m benchmarks.sender --write`, "
        f"{report['messages']:,} messages per batch.",
        f"Machine: {m['cpu']}, nproc {m['nproc']}, {m['ram']} RAM. Python {report['python']}, "
        f"Django {report['django']}; {versions} (local); aiosmtpd on 127.0.0.1 in the "
        "benchmark's own process, the sender in another.",
        "",
        "| database | batch | messages | seconds | messages/s | SQL statements per message |"
        " passes |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for vendor, d in report["databases"].items():
        label = "SQLite" if vendor == "sqlite" else "PostgreSQL"
        for batch in ("acknowledgements", "staff notices"):
            b = d[batch]
            lines.append(
                f"| {label} | {batch} | {b['messages']:,} | {b['seconds']:.2f} |"
                f" {b['per_second']:,.0f} | {b['statements_per_message']} | {b['passes']} |"
            )
        base = d["baseline"]
        lines.append(
            f"| {label} process | baseline: Django's SMTP backend, no database |"
            f" {base['messages']:,} | {base['seconds']:.2f} | {base['per_second']:,.0f} | - | - |"
        )
    lines.append("")
    lines.append(
        "Every Message-ID reached the server exactly once in every batch (checked by the "
        "benchmark's server; a duplicate fails the run). 1-minute load average after each "
        "database: "
        + ", ".join(
            f"{'SQLite' if v == 'sqlite' else 'PostgreSQL'} {d['load_average']}"
            for v, d in report["databases"].items()
        )
        + f" on {m['nproc']} cores."
    )
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    """Rewrite this benchmark's block in RESULTS.md (append the section if missing)."""
    write_block(
        begin=BEGIN,
        end=END,
        heading=HEADING,
        intro=(
            "`python -m benchmarks.sender --write`: the worker's email sweep "
            "(`amends.comms.sender.outbox_email_sweep`) delivering outbox rows to a local "
            "aiosmtpd server, on SQLite and PostgreSQL scratch databases; each message is "
            "claimed in its own transaction, sent, and recorded. The block between the "
            "markers is rewritten by each run, the notes after it are kept."
        ),
        text=text,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per batch")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100_000:
        parser.error("--messages is 1 to 100000")
    if args.measure:
        print(json.dumps(amends_measure(args.messages)), flush=True)
        return 0
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.write:
        write(section(report))
        log(f"updated {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
