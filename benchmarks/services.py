"""Typed services: SQL statements and time per call, SQLite and PostgreSQL, beside django-helpdesk.

Run from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth)::

    python -m benchmarks.services [--write] [--calls 300] [--warmup 30] [--counted 20]
        [--rounds 10] [--databases sqlite,postgresql]
        [--postgres postgres://root@127.0.0.1:5432/postgres] [--helpdesk-venv var/helpdesk-venv]

For each database it makes two scratch databases (temporary SQLite files, or two databases
created on the PostgreSQL server and dropped afterwards) and starts two processes, so that
neither shares the other's packages or Django settings:

* **django-helpdesk** (``benchmarks/helpdesk_bench``, with the python of its own virtualenv,
  made on first use from ``benchmarks/helpdesk_bench/requirements.txt``): migrate, create a
  public Queue, and per call ``PublicTicketForm(data=..., files=...)`` + ``is_valid()`` +
  ``save(user=None)``, as its public create-ticket view does (outgoing mail to Django's locmem
  backend).
* **Amends** (``DJANGO_SETTINGS_MODULE=config.settings``, ``DATABASE_URL`` the scratch
  database, ``AMENDS_VAR_DIR`` a temporary directory, ``LOG_LEVEL=WARNING``): migrate, make a
  provider on the shipped ISS code (``amends/codes/iss.toml``) with a manager and a handler as
  ``tests/cases/conftest.py`` does, then call each typed service of ``amends.cases.actions`` as
  the manager, intake first (``case_intake``: a new customer and their web-form complaint in
  one transaction, as the public form, the API and the console open one).
  Every state-changing call gets a case of its own, brought to the state the action needs
  before the timed section. ``now`` is an aware Europe/London instant, one second later per
  call. Last, a baseline: one ``INSERT`` committed on its own, what a commit costs on that
  database.

The two intakes are timed in ``--rounds`` batches alternating between the two processes
(helpdesk, Amends, Amends, helpdesk, ...: the one waiting is idle), so that what else the
machine does falls on both alike; then Amends measures its other services.

Per service: ``--warmup`` calls (not recorded), then ``--counted`` calls inside
``django.test.utils.CaptureQueriesContext`` (statements per call: every captured line except
SAVEPOINT / RELEASE SAVEPOINT; the BEGIN / COMMIT lines Django also captures are counted and
shown apart), then ``--calls`` timed calls without the capture (its debug cursor costs time per
statement), each timed with ``time.perf_counter_ns``. calls/s is the timed calls divided by
their summed time (one connection, one call after another).

Prints one JSON document on stdout (progress goes to stderr); ``--write`` also rewrites the
"Typed services" section of ``benchmarks/RESULTS.md`` between its markers.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._results import machine, write_block

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
HELPDESK_DIR = REPO / "benchmarks" / "helpdesk_bench"
HEADING = "## Typed services: statements and time per call (issue 8)"
BEGIN, END = "<!-- services:begin -->", "<!-- services:end -->"

#: What the customer writes, the same on both sides of the intake comparison.
TITLE = "Broadband drops every evening"
BODY = (
    "Since the 3rd my broadband connection drops several times every evening between 7pm and "
    "11pm. I have restarted the router and tried a cable instead of wifi. Please fix it and "
    "tell me what compensation I am owed for the days it has not worked."
)
#: Targets stated by issue 8.
TARGET_TRANSITION_STATEMENTS = 6
TARGET_INTAKE_RATIO = 2.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- measuring
# Used by both sides (benchmarks/helpdesk_bench/run.py imports it): stdlib and Django only.


def _is_savepoint(sql: str) -> bool:
    head = sql.lstrip().upper()
    return head.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))


def _is_transaction_control(sql: str) -> bool:
    return sql.lstrip().upper().split(None, 1)[0] in ("BEGIN", "COMMIT", "ROLLBACK")


def _spread(values: list[int]) -> dict[str, float | int | None]:
    return {
        "median": statistics.median(values) if values else None,
        "min": min(values, default=None),
        "max": max(values, default=None),
    }


class Subject:
    """One thing measured. ``prepare(n)`` makes n arguments, one per call, outside the timed
    section (a case in the state the action needs, a form's data); ``call(argument)`` is the
    call measured."""

    def __init__(
        self, prepare: Callable[[int], Sequence[Any]], call: Callable[[Any], object]
    ) -> None:
        self.prepare = prepare
        self.call = call

    def warm(self, n: int) -> None:
        for argument in list(self.prepare(n)):
            self.call(argument)

    def count(self, n: int) -> dict[str, Any]:
        """Statements per call, as ``CaptureQueriesContext`` sees them: every captured line
        less SAVEPOINT / RELEASE SAVEPOINT; of them, ``transaction_lines`` are the BEGIN /
        COMMIT / ROLLBACK lines Django also captures, ``data_statements`` the rest."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        statements: list[int] = []
        data: list[int] = []
        transaction_lines: list[int] = []
        savepoints: list[int] = []
        sample: list[str] = []
        for argument in list(self.prepare(n)):
            with CaptureQueriesContext(connection) as captured:
                self.call(argument)
            sql = [q["sql"] for q in captured.captured_queries if not _is_savepoint(q["sql"])]
            control = sum(1 for s in sql if _is_transaction_control(s))
            statements.append(len(sql))
            transaction_lines.append(control)
            data.append(len(sql) - control)
            savepoints.append(len(captured.captured_queries) - len(sql))
            sample = sql
        kinds = Counter(s.lstrip().split(None, 1)[0].upper() for s in sample)
        return {
            "statements": _spread(statements),
            "transaction_lines": _spread(transaction_lines),
            "data_statements": _spread(data),
            "savepoint_lines": _spread(savepoints),
            "statements_by_kind": dict(kinds),
            "sample_sql": [s if len(s) <= 240 else s[:237] + "..." for s in sample],
        }

    def time(self, n: int) -> list[int]:
        """Nanoseconds of each of n calls (no capture: its debug cursor costs time)."""
        arguments = list(self.prepare(n))
        gc.collect()
        times: list[int] = []
        clock = time.perf_counter_ns
        for argument in arguments:
            began = clock()
            self.call(argument)
            times.append(clock() - began)
        return times


def summary(counts: dict[str, Any], times: list[int]) -> dict[str, Any]:
    ordered = sorted(times)
    return {
        **counts,
        "calls": len(times),
        "median_ms": statistics.median(times) / 1e6,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] / 1e6,
        "mean_ms": statistics.fmean(times) / 1e6,
        "min_ms": ordered[0] / 1e6,
        "max_ms": ordered[-1] / 1e6,
        "calls_per_s": len(times) / (sum(times) / 1e9),
        "load_average_1min_after": os.getloadavg()[0],
    }


def measure(
    prepare: Callable[[int], Sequence[Any]],
    call: Callable[[Any], object],
    *,
    calls: int,
    warmup: int,
    counted: int,
) -> dict[str, Any]:
    """Warm up, count statements, then time ``calls`` calls, in that order."""
    subject = Subject(prepare, call)
    subject.warm(warmup)
    counts = subject.count(counted)
    return summary(counts, subject.time(calls))


def serve(subject: Subject) -> dict[str, Any]:
    """Measure ``subject`` as the orchestrator says on stdin, one command a line (``warm N``,
    ``count N``, ``time N``, then ``done``), answering each with a JSON line on stdout; at
    ``done``, the summary of every timed call. This is how two processes are timed in
    alternating batches."""
    counts: dict[str, Any] = {}
    times: list[int] = []
    for line in sys.stdin:
        command, _, number = line.strip().partition(" ")
        if command == "done":
            break
        n = int(number)
        if command == "warm":
            subject.warm(n)
        elif command == "count":
            counts = subject.count(n)
        elif command == "time":
            times += subject.time(n)
        else:
            raise SystemExit(f"unknown command {line!r}")
        print(json.dumps({"done": command, "n": n}), flush=True)
    return summary(counts, times)


# --------------------------------------------------------------------------- the Amends side


class Clock:
    """``now`` for each call: aware Europe/London, one second later every time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def amends_measure(calls: int, warmup: int, counted: int, *, serve_intake: bool) -> dict[str, Any]:
    """Run inside the process whose DATABASE_URL is the scratch database (see run). With
    ``serve_intake`` the intake row is measured as the orchestrator says on stdin (alternating
    with django-helpdesk's), the other rows after it."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    log(f"  amends: migrate ({connection.vendor})")
    call_command("migrate", verbosity=0)

    from zoneinfo import ZoneInfo

    from amends.cases import actions
    from amends.cases.actors import staff_actor
    from amends.domain.access import Role
    from amends.domain.codes import CaseKind, ChannelType, CustomerType, Nation
    from amends.providers.services import code_version_activate, provider_create, staff_create

    code = source()  # what this process imported (others may be editing amends/)
    london = ZoneInfo("Europe/London")
    clock = Clock(datetime(2026, 6, 1, 9, 0, tzinfo=london))  # a Monday, in working hours
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
        effective_from=datetime(2020, 1, 1, tzinfo=london).date(),
        activated_by=None,
        now=clock(),
    )
    manager = staff_create(
        provider=provider, username="iss-manager", role=Role.MANAGER, email="m@iss.invalid"
    )
    handler = staff_create(
        provider=provider, username="iss-handler", role=Role.CASE_HANDLER, manager=manager
    )
    actor = staff_actor(manager)
    serial = iter(range(1, 10**9))

    def new_customer() -> Any:
        n = next(serial)
        return actions.customer_create(
            provider=provider,
            now=clock(),
            contact_name=f"Pat Example {n}",
            customer_type=CustomerType.DOMESTIC,
            email=f"customer{n}@example.invalid",
        )

    def open_case(customer: Any, service: Callable[..., Any] = actions.case_open) -> Any:
        now = clock()
        return service(
            provider=provider,
            customer=customer,
            kind=CaseKind.COMPLAINT,
            channel=ChannelType.WEB_FORM,
            first_received_at=now,
            summary=TITLE,
            description=BODY,
            now=now,
            actor=actor,
        )

    def intake(_: None) -> object:
        n = next(serial)
        return open_case(
            actions.NewCustomer(
                contact_name=f"Pat Example {n}",
                customer_type=CustomerType.DOMESTIC,
                email=f"customer{n}@example.invalid",
            ),
            service=actions.case_intake,
        )

    # Each step takes a case id and does one action at the next instant.
    def step(service: Callable[..., Any], **arguments: Any) -> Callable[[int], object]:
        def run(case_id: int) -> object:
            return service(case_id=case_id, actor=actor, now=clock(), **arguments)

        return run

    acknowledge = step(actions.case_acknowledge)
    assign = step(actions.case_assign, handler_id=handler.user_id)
    record_update = step(actions.case_record_update, channel="phone")
    escalate = step(actions.case_escalate, reason="the customer asked")
    propose = step(actions.case_propose_resolution, proposal="A credit of £20 and a line test")
    accept = step(actions.case_accept_resolution, by="Pat Example", how="phone")
    close = step(actions.case_close)
    deadlock = step(actions.case_declare_deadlock, final_position="No fault found on the line")
    note = step(actions.case_add_note, text="Called the customer back; no answer")

    def cases_after(*steps: Callable[[int], object]) -> Callable[[int], list[int]]:
        def prepare(n: int) -> list[int]:
            ids = [open_case(new_customer()).pk for _ in range(n)]
            for do in steps:
                for case_id in ids:
                    do(case_id)
            return ids

        return prepare

    def customers(n: int) -> list[Any]:
        return [new_customer() for _ in range(n)]

    assigned = (acknowledge, assign)
    # name, what it is (for the 6-statement target), prepare, call
    plan: list[tuple[str, str, Callable[[int], Sequence[Any]], Callable[[Any], object]]] = [
        ("intake: case_intake (new customer + case)", "create", lambda n: [None] * n, intake),
        ("case_open", "create", customers, open_case),
        ("case_acknowledge", "transition", cases_after(), acknowledge),
        ("case_assign", "transition", cases_after(acknowledge), assign),
        ("case_record_update", "record", cases_after(*assigned), record_update),
        ("case_escalate", "transition", cases_after(*assigned), escalate),
        ("case_propose_resolution", "transition", cases_after(*assigned), propose),
        ("case_accept_resolution", "transition", cases_after(*assigned, propose), accept),
        ("case_close", "transition", cases_after(*assigned, propose, accept), close),
        ("case_declare_deadlock", "transition", cases_after(*assigned), deadlock),
        ("case_add_note", "record", cases_after(*assigned), note),
    ]
    rows = []
    for name, kind, prepare, call in plan:
        log(f"  amends: {name}")
        if serve_intake and not rows:
            figures = serve(Subject(prepare, call))
        else:
            figures = measure(prepare, call, calls=calls, warmup=warmup, counted=counted)
        rows.append({"service": name, "kind": kind, **figures})

    log("  amends: baseline (one INSERT committed on its own)")
    baseline = commit_probe(calls=calls, warmup=warmup, counted=counted)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            server = f"SQLite {cursor.fetchone()[0]}"
    import django as dj

    return {
        "side": "amends",
        "database": server,
        "versions": {"python": platform.python_version(), "django": dj.get_version()},
        "code": "amends/codes/iss.toml",
        "source": code,
        "services": rows,
        "baseline": baseline,
    }


def commit_probe(*, calls: int, warmup: int, counted: int) -> dict[str, Any]:
    """What one commit costs on this database: a one-row INSERT in autocommit, measured like
    the services (helpdesk's writes each commit on their own; a service commits once)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_commit_probe (id integer PRIMARY KEY, note text)")

    ids = iter(range(1, 10**9))

    def call(n: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_commit_probe (id, note) VALUES (%s, %s)", [n, "x"])

    def prepare(n: int) -> list[int]:
        return [next(ids) for _ in range(n)]

    return measure(prepare, call, calls=calls, warmup=warmup, counted=counted)


# --------------------------------------------------------------------------- orchestration


def source() -> dict[str, Any]:
    """Which Amends code was measured: HEAD, the files under amends/ and config/ that differ
    from it (work in progress is measured as it stands), and a digest of those sources."""
    import hashlib

    def git(*arguments: str) -> str:
        result = subprocess.run(
            ["git", "--no-optional-locks", *arguments],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout.strip()

    digest = hashlib.sha256()
    for path in sorted([*REPO.glob("amends/**/*.py"), *REPO.glob("amends/**/*.toml")]):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    changed = git("status", "--porcelain", "--", "amends", "config").splitlines()
    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "uncommitted_files": len(changed),
        "sources_sha256": digest.hexdigest(),
    }


def helpdesk_python(venv: Path) -> Path:
    """The helpdesk virtualenv's python, made (once) from requirements.txt if missing."""
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"making {venv} (django-helpdesk and its Django; never committed)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
        )
    requirements = HELPDESK_DIR / "requirements.txt"
    stamp = venv / ".bench-requirements"
    if not stamp.exists() or stamp.read_text() != requirements.read_text():
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)], check=True
        )
        stamp.write_text(requirements.read_text())
    return python


@contextlib.contextmanager
def scratch_databases(vendor: str, server: str, folder: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases (Amends', helpdesk's) of ``vendor``, dropped afterwards."""
    if vendor == "sqlite":
        yield f"sqlite:///{folder / 'amends.sqlite3'}", f"sqlite:///{folder / 'helpdesk.sqlite3'}"
        return
    import psycopg

    tag = uuid.uuid4().hex[:8]
    names = [f"amends_bench_{tag}", f"helpdesk_bench_{tag}"]
    base = server.rsplit("/", 1)[0]
    with psycopg.connect(server, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Worker:
    """A measuring process (Amends' or helpdesk's) driven line by line (see ``serve``)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        if not self.process.stdout.readline():
            raise SystemExit(f"{self.name} stopped (exit {self.process.wait()}) at {command!r}")

    def finish(self) -> dict[str, Any]:
        """Say ``done``; the process measures whatever else it measures and prints its report."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("done\n")
        self.process.stdin.close()
        out = self.process.stdout.read()
        if self.process.wait() != 0:
            raise SystemExit(f"{self.name} failed with exit {self.process.returncode}")
        figures: dict[str, Any] = json.loads(out)
        return figures

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def base_env() -> dict[str, str]:
    drop = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "HELPDESK_NEW_TICKET_WEBHOOK_URLS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONHASHSEED"] = "0"
    return env


def batches(total: int, rounds: int) -> list[int]:
    """``total`` calls in ``rounds`` batches as even as can be."""
    rounds = max(1, min(rounds, total))
    return [total // rounds + (1 if i < total % rounds else 0) for i in range(rounds)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = helpdesk_python(Path(args.helpdesk_venv).resolve())
    sizes = [f"--calls={args.calls}", f"--warmup={args.warmup}", f"--counted={args.counted}"]
    report: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "calls": args.calls,
        "warmup": args.warmup,
        "counted": args.counted,
        "intake_rounds": len(batches(args.calls, args.rounds)),
        "databases": {},
    }
    for vendor in args.databases.split(","):
        with (
            tempfile.TemporaryDirectory(prefix="amends-bench-") as tmp,
            scratch_databases(vendor, args.postgres, Path(tmp)) as (amends_url, helpdesk_url),
        ):
            env = base_env()
            env.update(
                DJANGO_SETTINGS_MODULE="benchmarks.helpdesk_bench.settings",
                HELPDESK_BENCH_DATABASE_URL=helpdesk_url,
                HELPDESK_BENCH_DIR=str(Path(tmp) / "helpdesk"),
            )
            command = [str(python), "-m", "benchmarks.helpdesk_bench.run", "--serve", *sizes]
            helpdesk = Worker("django-helpdesk", command, env)
            env = base_env()
            env.update(
                DJANGO_SETTINGS_MODULE="config.settings",
                DATABASE_URL=amends_url,
                AMENDS_VAR_DIR=str(Path(tmp) / "var"),
                AMENDS_ENV="local",
                LOG_LEVEL="WARNING",
                EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            )
            command = [sys.executable, "-m", "benchmarks.services", "--measure", "--serve", *sizes]
            amends = Worker("Amends", command, env)
            try:
                # The two intakes, timed in alternating batches (helpdesk, Amends, Amends,
                # helpdesk, ...) so that what else the machine does falls on both alike.
                log(f"{vendor}: intake, Amends and django-helpdesk in alternating batches")
                for worker in (helpdesk, amends):
                    worker.ask(f"warm {args.warmup}")
                    worker.ask(f"count {args.counted}")
                for index, n in enumerate(batches(args.calls, args.rounds)):
                    pair = (helpdesk, amends) if index % 2 == 0 else (amends, helpdesk)
                    for worker in pair:
                        worker.ask(f"time {n}")
                helpdesk_report = helpdesk.finish()
                log(f"{vendor}: Amends, the other services")
                amends_report = amends.finish()
            finally:
                helpdesk.stop()
                amends.stop()
        intake = amends_report["services"][0]
        report["databases"][vendor] = {
            "amends": amends_report,
            "helpdesk": helpdesk_report,
            "intake_ratio": intake["calls_per_s"] / helpdesk_report["form"]["calls_per_s"],
        }
    return report


# --------------------------------------------------------------------------- RESULTS.md


def _ms(value: float) -> str:
    return f"{value:.2f}"


def _range(spread: dict[str, Any]) -> str:
    if spread["min"] == spread["max"]:
        return f"{spread['min']}"
    return f"{spread['min']}-{spread['max']}"


def _statements(row: dict[str, Any]) -> str:
    """``7 = 5 + 2 tx``: captured statements (no savepoints) = data + BEGIN/COMMIT lines."""
    text = _range(row["statements"])
    if row["transaction_lines"]["max"]:
        text += f" = {_range(row['data_statements'])} + {_range(row['transaction_lines'])} tx"
    return text


def _label(vendor: str) -> str:
    return "SQLite" if vendor == "sqlite" else "PostgreSQL"


def section(report: dict[str, Any]) -> str:
    m = report["machine"]
    databases = report["databases"]
    src = next(iter(databases.values()))["amends"]["source"]
    digests = {v: d["amends"]["source"]["sources_sha256"][:12] for v, d in databases.items()}
    vendors = list(databases)
    first = databases[vendors[0]]
    hd = first["helpdesk"]
    engines = ", ".join(
        dict.fromkeys(
            d[side]["database"] for d in databases.values() for side in ("amends", "helpdesk")
        )
    )
    loads = [
        row["load_average_1min_after"]
        for d in databases.values()
        for row in [*d["amends"]["services"], d["amends"]["baseline"], d["helpdesk"]["form"]]
    ]
    lines = [
        f"Run {report['date']} with `python -m benchmarks.services --write`"
        " (`make bench-services`).",
        f"Machine: {m['cpu']}, nproc {m['nproc']}, {m['ram']} RAM. Python "
        f"{first['amends']['versions']['python']}; Amends on Django "
        f"{first['amends']['versions']['django']} with `amends/codes/iss.toml`; django-helpdesk "
        f"{hd['versions']['helpdesk']} on Django {hd['versions']['django']} in its own "
        f"virtualenv. Databases: {engines} (local), scratch databases made and dropped by the run.",
        f"Amends code measured: HEAD {src['head']} with {src['uncommitted_files']} files under "
        "`amends/` and `config/` differing from it (others' work in progress, measured as it "
        "stood); sha256 of the `amends/` sources each Amends process loaded: "
        + ", ".join(f"{_label(v)} {d}" for v, d in digests.items())
        + (" (the same code)." if len(set(digests.values())) == 1 else " (**the code changed**)."),
        "",
        f"Per row: {report['warmup']} warm-up calls, then {report['counted']} calls counted with "
        "`CaptureQueriesContext`, then "
        f"{report['calls']} timed calls (`perf_counter_ns`, without the capture). "
        "**statements** = captured lines per call less SAVEPOINT / RELEASE SAVEPOINT lines, "
        "written `total = data + tx` where Django also captured BEGIN / COMMIT lines "
        "(a range when calls differed). calls/s = timed calls / their summed time, one "
        "connection, one call after another. The two intakes (the first row and the "
        f"django-helpdesk row) are timed in {report['intake_rounds']} alternating batches, so "
        "that whatever else the machine does falls on both alike. 1-minute load average "
        "after each row: "
        f"{min(loads):.1f} to {max(loads):.1f} on {m['nproc']} cores.",
        "",
    ]
    header = "| service | kind |"
    rule = "|---|---|"
    for vendor in vendors:
        header += f" {_label(vendor)}: statements | median ms | p95 ms | calls/s |"
        rule += "---:|---:|---:|---:|"
    lines += [header, rule]

    def cells(row: dict[str, Any]) -> str:
        return (
            f" {_statements(row)} | {_ms(row['median_ms'])} | {_ms(row['p95_ms'])} |"
            f" {row['calls_per_s']:,.0f} |"
        )

    for index, row0 in enumerate(first["amends"]["services"]):
        line = f"| `{row0['service']}` | {row0['kind']} |"
        for vendor in vendors:
            line += cells(databases[vendor]["amends"]["services"][index])
        lines.append(line)
    line = f"| django-helpdesk {hd['versions']['helpdesk']} `PublicTicketForm` + save | intake |"
    for vendor in vendors:
        line += cells(databases[vendor]["helpdesk"]["form"])
    lines.append(line)
    line = "| baseline: one `INSERT`, committed on its own | - |"
    for vendor in vendors:
        line += cells(databases[vendor]["amends"]["baseline"])
    lines.append(line)

    def verdict(ok: bool) -> str:
        return "met" if ok else "**NOT met**"

    limit = TARGET_TRANSITION_STATEMENTS
    lines += ["", "| target | database | measured | |", "|---|---|---|---|"]
    for vendor in vendors:
        transitions = [
            r for r in databases[vendor]["amends"]["services"] if r["kind"] == "transition"
        ]
        for key, what in (("data_statements", "data statements"), ("statements", "with tx")):
            over = [r for r in transitions if r[key]["max"] > limit]
            detail = (
                f"{what}: {len(transitions) - len(over)} of {len(transitions)} transitions "
                f"at {limit} or fewer, most {max(r[key]['max'] for r in transitions)}"
            )
            if over and key == "data_statements":
                names = ", ".join(f"`{r['service']}` {_range(r[key])}" for r in over)
                detail += f" ({names})"
            lines.append(
                f"| a transition in {limit} statements or fewer | {_label(vendor)} | {detail} |"
                f" {verdict(not over)} |"
            )
    for vendor in vendors:
        d = databases[vendor]
        amends = d["amends"]["services"][0]["calls_per_s"]
        helpdesk = d["helpdesk"]["form"]["calls_per_s"]
        lines.append(
            f"| intake >= {TARGET_INTAKE_RATIO:g}x django-helpdesk's calls/s | {_label(vendor)} |"
            f" {amends:,.0f} / {helpdesk:,.0f} calls/s = **{d['intake_ratio']:.2f}x** |"
            f" {verdict(d['intake_ratio'] >= TARGET_INTAKE_RATIO)} |"
        )
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    """Rewrite this benchmark's block in RESULTS.md (append the section if missing)."""
    write_block(
        begin=BEGIN,
        end=END,
        heading=HEADING,
        intro=(
            "`python -m benchmarks.services --write` (or `make bench-services`): SQL statements "
            "and time per call of each typed service of `amends.cases.actions`, on SQLite and "
            "PostgreSQL scratch databases, beside django-helpdesk's public ticket form run the "
            "same way in its own virtualenv and scratch databases. The block between the markers "
            "is rewritten by each run, the notes after it are kept."
        ),
        text=text,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per service")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls first")
    parser.add_argument("--counted", type=int, default=20, help="calls whose SQL is counted")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--helpdesk-venv", default=str(REPO / "var" / "helpdesk-venv"))
    parser.add_argument(
        "--rounds", type=int, default=10, help="alternating batches of the two intakes"
    )
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    # The Amends process started by run(); --serve: intake driven through stdin.
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for value in (args.calls, args.warmup, args.counted, args.rounds):
        if not 1 <= value <= 100_000:
            parser.error("--calls, --warmup, --counted and --rounds are 1 to 100000")
    if args.measure:
        figures = amends_measure(args.calls, args.warmup, args.counted, serve_intake=args.serve)
        print(json.dumps(figures), flush=True)
        return 0
    report = run(args)
    print(json.dumps(report, indent=2))
    if args.write:
        write(section(report))
        log(f"updated {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
