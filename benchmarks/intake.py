"""Inbound mail throughput: messages per second through ``amends mail ingest`` and the poller.

Run from the repository root (PostgreSQL at 127.0.0.1:5432 with trust auth; Debian's dovecot
for the poller: ``apt-get install dovecot-imapd``):

    python -m benchmarks.intake [--pipe 40] [--loop 400] [--poll 400] [--write]

For SQLite (a scratch file) and PostgreSQL (a scratch database, dropped afterwards), each in a
child process of its own, after ``migrate`` and one provider running the template code:

* **pipe**: ``amends mail ingest --provider bench < message.eml``, one process per message, as
  an MTA pipe runs it (Python and Django start each time: that is the cost measured);
* **loop**: the same ``amends.comms.intake.ingest`` called in one process, one message after
  another (store and commit, then read and place: what the pipe does once started);
* **poll**: ``amends mail poll``'s ``poll_all`` against a dovecot started for the run (a
  throwaway configuration, password login over loopback), the messages put in the INBOX by IMAP
  APPEND beforehand (not timed); each is fetched, stored and committed, moved to the processed
  folder and placed.

Every message is distinct (its own Message-ID and sender), drawn in turn from the real-world
shapes of ``tests/comms/eml`` (new complaints, support requests, Outlook/Gmail/Apple replies
arriving unthreaded, a multipart with attachments, ISO-8859-1, Windows-1252 and Shift-JIS
bodies), so nearly every one opens a case (customer created, case opened with its clocks, its
acknowledgement written to the outbox, the message put on the case). ``--write`` appends the
table to ``benchmarks/RESULTS.md`` (replacing this benchmark's previous block).
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import platform
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
EML = REPO / "tests" / "comms" / "eml"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
BEGIN = "<!-- intake:begin -->"
END = "<!-- intake:end -->"
SHAPES = [
    "new_complaint.eml",
    "support_request.eml",
    "rfc2047_headers.eml",
    "outlook_reply.eml",
    "gmail_reply.eml",
    "apple_mail_reply.eml",
    "multipart_attachments.eml",
    "iso_8859_1.eml",
    "windows_1252.eml",
    "shift_jis.eml",
    "support_dissatisfied.eml",
    "html_only.eml",
]


def messages(count: int, run: str) -> list[bytes]:
    """``count`` distinct messages: each shape in turn with its own Message-ID and sender."""
    out = []
    for i in range(count):
        raw = (EML / SHAPES[i % len(SHAPES)]).read_bytes()
        raw = (
            raw.replace(b"%%REFERENCE%%", b"your complaint")
            .replace(b"%%OUR_MESSAGE_ID%%", f"<none-{run}-{i}@bench>".encode())
            .replace(b"%%MESSAGE_ID_LOCAL%%", f"bench-{run}-{i}".encode())
        )
        lines = raw.split(b"\n")
        kept = [
            line
            for line in lines
            if not line.lower().startswith((b"message-id:", b"from:", b"in-reply-to:"))
        ]
        header_end = kept.index(b"")
        kept[header_end:header_end] = [
            f"Message-ID: <bench-{run}-{i}@sender.example>".encode(),
            f"From: Customer {i} <customer-{run}-{i}@sender.example>".encode(),
        ]
        out.append(b"\n".join(kept))
    return out


# --------------------------------------------------------------------------- dovecot


def start_dovecot(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        raise SystemExit("dovecot is not installed: apt-get install dovecot-imapd")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    user = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.getuid())
    extra = ""
    if os.geteuid() != 0:
        group = grp.getgrgid(os.getgid()).gr_name
        extra = (
            f"default_login_user = {user.pw_name}\ndefault_internal_user = {user.pw_name}\n"
            f"default_internal_group = {group}\n"
        )
    (root / "mail").mkdir()
    if os.geteuid() == 0:
        os.chown(root / "mail", user.pw_uid, user.pw_gid)
    (root / "passwd").write_text("bench@bench.example:{PLAIN}bench\n")
    (root / "dovecot.conf").write_text(
        f"base_dir = {root}/run\nstate_dir = {root}/state\nlog_path = {root}/dovecot.log\n"
        f"{extra}protocols = imap\nlisten = 127.0.0.1\nssl = no\n"
        "disable_plaintext_auth = no\nfirst_valid_uid = 1\n"
        f"mail_location = maildir:{root}/mail/%u\n"
        "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
        f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {root}/passwd\n}}\n"
        f"userdb {{\n  driver = static\n  args = uid={user.pw_uid} gid={user.pw_gid} "
        f"home={root}/mail/%u\n}}\n"
        f"service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n"
        f"    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
        "service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}\n"
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("dovecot did not start")


# --------------------------------------------------------------------------- one database


def measure(url: str, pipe: int, loop: int, poll: int, work: Path) -> dict[str, Any]:
    """Run in a child process whose DATABASE_URL is ``url`` (migrated)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from datetime import date

    from django.utils import timezone

    from amends.comms.intake import ingest, poll_all
    from amends.comms.models import InboundMessage, Mailbox
    from amends.domain.codes import Nation
    from amends.providers.services import code_version_activate, provider_create

    provider = provider_create(
        slug="bench",
        name="Bench",
        nation=Nation.ENGLAND_AND_WALES,
        reference_prefix="BN",
        adr_scheme="communications-ombudsman",
        alerts_email="team@bench.example",
    )
    code_version_activate(
        provider=provider,
        content=(REPO / "amends" / "codes" / "template.toml").read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=timezone.now(),
    )
    out: dict[str, Any] = {}

    # pipe: one process per message
    env = dict(os.environ)
    latencies = []
    began = time.perf_counter()
    for raw in messages(pipe, "pipe"):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "amends.cli", "mail", "ingest", "--provider", "bench"],
            input=raw,
            env=env,
            cwd=REPO,
            capture_output=True,
            check=False,
        )
        latencies.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"mail ingest exited {done.returncode}: {done.stderr.decode()}")
    total = time.perf_counter() - began
    out["pipe"] = {
        "messages": pipe,
        "seconds": total,
        "per_second": pipe / total,
        "median_ms": statistics.median(latencies) * 1000,
    }

    # loop: in one process
    batch = messages(loop, "loop")
    latencies = []
    began = time.perf_counter()
    for raw in batch:
        start = time.perf_counter()
        ingest(raw=raw, provider_slug="bench")
        latencies.append(time.perf_counter() - start)
    total = time.perf_counter() - began
    out["loop"] = {
        "messages": loop,
        "seconds": total,
        "per_second": loop / total,
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000,
    }

    # poll: dovecot on loopback
    if poll:
        from imap_tools import MailBoxUnencrypted

        root = Path(tempfile.mkdtemp(prefix="amends-bench-dovecot-"))
        root.chmod(0o755)
        process, port = start_dovecot(root)
        try:
            with MailBoxUnencrypted("127.0.0.1", port).login("bench@bench.example", "bench") as box:
                for raw in messages(poll, "poll"):
                    box.append(raw.replace(b"\n", b"\r\n"), "INBOX")
            os.environ["AMENDS_BENCH_IMAP_PASSWORD"] = "bench"
            Mailbox.objects.create(
                provider=provider,
                kind="complaints",
                address="bench@bench.example",
                imap_host="127.0.0.1",
                imap_port=port,
                imap_security="plain",
                password_env="AMENDS_BENCH_IMAP_PASSWORD",
            )
            began = time.perf_counter()
            (result,) = poll_all().values()
            total = time.perf_counter() - began
            if result.errors or result.stored != poll:
                raise SystemExit(f"poll: {result}")
            out["poll"] = {
                "messages": poll,
                "seconds": total,
                "per_second": poll / total,
                "placed": result.placed,
            }
        finally:
            process.terminate()
            process.wait(timeout=15)
            shutil.rmtree(root, ignore_errors=True)
    statuses = {
        s: InboundMessage.objects.filter(status=s).count()
        for s in InboundMessage.objects.values_list("status", flat=True).distinct()
    }
    out["statuses"] = statuses
    from django.db import connection

    out["vendor"] = connection.vendor
    out["version"] = (
        __import__("sqlite3").sqlite_version
        if connection.vendor == "sqlite"
        else connection.cursor().connection.info.parameter_status("server_version")
    )
    return out


# --------------------------------------------------------------------------- orchestration


def child(url: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    env = dict(
        os.environ,
        DATABASE_URL=url,
        AMENDS_VAR_DIR=str(work / "var"),
        AMENDS_FILES_DIR=str(work / "files"),
        LOG_LEVEL="WARNING",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "-m", "amends.cli", "migrate", "-v0"], env=env, cwd=REPO, check=True
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.intake",
            "--child",
            url,
            "--pipe",
            str(args.pipe),
            "--loop",
            str(args.loop),
            "--poll",
            str(args.poll),
            "--work",
            str(work),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode()[-3000:])
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    lines = [
        BEGIN,
        f"Run {datetime.now(UTC).date().isoformat()} with `python -m benchmarks.intake "
        f"--pipe {args.pipe} --loop {args.loop} --poll {args.poll}`.",
        f"Machine: {cpu}, nproc {os.cpu_count()}. Python {platform.python_version()}; "
        + "; ".join(f"{name} {r['version']}" for name, r in results.items())
        + " (local, scratch databases); dovecot "
        + subprocess.run(["dovecot", "--version"], capture_output=True, text=True).stdout.split()[0]
        + " on loopback; files on the local disk (FileSystemStorage).",
        "",
        "| path | database | messages | seconds | messages/s | median ms per message |",
        "|---|---|---:|---:|---:|---:|",
    ]
    labels = {
        "pipe": "`amends mail ingest`, a process per message",
        "loop": "`ingest()` in one process",
        "poll": "`amends mail poll` (IMAP fetch, store, move, place)",
    }
    for key, label in labels.items():
        for name, result in results.items():
            row = result.get(key)
            if row is None:
                continue
            median = f"{row['median_ms']:.1f}" if "median_ms" in row else "-"
            lines.append(
                f"| {label} | {name} | {row['messages']} | {row['seconds']:.2f} | "
                f"{row['per_second']:.1f} | {median} |"
            )
    lines += [
        "",
        "Outcomes per database: "
        + "; ".join(
            f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items()))
            for name, r in results.items()
        )
        + ".",
        END,
    ]
    return "\n".join(lines)


def write(block: str) -> None:
    text = RESULTS.read_text()
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + block + tail
    else:
        text = (
            text.rstrip("\n")
            + "\n\n## Inbound mail: messages per second (issue 10)\n\n"
            + "`python -m benchmarks.intake --write`: see the module's docstring for what each "
            + "path does. Each message is a different real-world shape from `tests/comms/eml`, "
            + "with its own Message-ID and sender, so nearly every one opens a case.\n\n"
            + block
            + "\n"
        )
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipe", type=int, default=40)
    parser.add_argument("--loop", type=int, default=400)
    parser.add_argument("--poll", type=int, default=400)
    parser.add_argument("--server", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.child, args.pipe, args.loop, args.poll, Path(args.work))
        print(json.dumps(result))
        return

    import psycopg

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="amends-bench-intake-") as tmp:
        work = Path(tmp) / "sqlite"
        work.mkdir()
        results["SQLite"] = child(f"sqlite:///{work / 'bench.sqlite3'}", args, work)
        name = f"amends_bench_{uuid.uuid4().hex[:8]}"
        base = args.server.rsplit("/", 1)[0]
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            work = Path(tmp) / "postgres"
            work.mkdir()
            results["PostgreSQL"] = child(f"{base}/{name}", args, work)
        finally:
            with psycopg.connect(args.server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    block = table(results, args)
    print(block)
    if args.write:
        write(block)


if __name__ == "__main__":
    main()
