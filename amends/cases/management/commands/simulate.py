"""``amends simulate``: synthetic complaints through the real services, in a scratch database.

The command starts itself again in a child process whose ``DATABASE_URL`` names a scratch
database (a temporary SQLite file, or with ``--postgres URL`` a temporary database on that
server, dropped afterwards), so a simulation never touches the real data.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, NoReturn

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Simulate complaints and handlers against a code, on a virtual clock; print a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="the Code of Practice (TOML) to run")
        parser.add_argument("--complaints", type=int, required=True)
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--handlers", type=int, default=3)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--start", default="2026-05-04", help="first day (YYYY-MM-DD)")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--postgres", metavar="URL", help="run in a scratch database on this server"
        )
        parser.add_argument("--in-scratch", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["complaints"] < 1 or options["days"] < 1 or options["handlers"] < 1:
            raise CommandError("--complaints, --days and --handlers must be at least 1.")
        path = Path(options["code"])
        try:
            code_text = path.read_text()
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror}", returncode=2) from error
        if options["in_scratch"]:
            self._simulate(code_text, path.name, options)
            return
        self._spawn(options)

    def _spawn(self, options: dict[str, Any]) -> None:
        argv = [a for a in sys.argv[1:] if a != "--in-scratch"]
        with tempfile.TemporaryDirectory(prefix="amends-sim-") as scratch:
            env = dict(os.environ, AMENDS_VAR_DIR=scratch)
            drop = None
            if options["postgres"]:
                name = f"amends_sim_{uuid.uuid4().hex[:10]}"
                self._postgres(options["postgres"], f'CREATE DATABASE "{name}"')
                base = options["postgres"].rsplit("/", 1)[0]
                env["DATABASE_URL"] = f"{base}/{name}"
                drop = name
            else:
                env["DATABASE_URL"] = f"sqlite:///{scratch}/simulation.sqlite3"
            try:
                command = [sys.executable, "-m", "amends.cli", *argv, "--in-scratch"]
                result = subprocess.run(command, env=env, check=False)
            finally:
                if drop:
                    self._postgres(
                        options["postgres"], f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'
                    )
        if result.returncode:
            raise SystemExit(result.returncode)

    def _postgres(self, url: str, statement: str) -> None:
        """Run one statement on the ``--postgres`` server. A server that cannot be reached or
        refuses is one line on stderr and exit 2, never a traceback."""
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as error:
            self._fail(f"--postgres is not a PostgreSQL URL: {_one_line(error)}")
        server = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            reason = _reason(error)
            if reason.startswith("FATAL:"):  # it answered: a wrong role, password or database
                self._fail(f"the PostgreSQL server at {server} refused the connection: {reason}")
            self._fail(f"cannot reach the PostgreSQL server at {server}: {reason}")
        with conn:
            try:
                conn.execute(statement)
            except psycopg.Error as error:
                self._fail(
                    f"the PostgreSQL server at {server} refused {statement}: {_one_line(error)}"
                )

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(message)
        raise SystemExit(2)

    def _simulate(self, code_text: str, code_name: str, options: dict[str, Any]) -> None:
        import logging
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from amends.cases.errors import CaseError
        from amends.cases.simulator import Simulation, SimulationConfig, report
        from amends.domain.codes import CodeFileError

        # The report is the output; per-case log lines would drown it.
        logging.getLogger("amends").setLevel(logging.WARNING)
        call_command("migrate", verbosity=0, interactive=False)
        try:
            start = datetime.fromisoformat(options["start"]).replace(
                tzinfo=ZoneInfo("Europe/London")
            )
        except ValueError as error:
            raise CommandError(f"--start must be a date like 2026-05-04: {error}") from error
        config = SimulationConfig(
            code_text=code_text,
            code_name=code_name,
            complaints=options["complaints"],
            days=options["days"],
            handlers=options["handlers"],
            seed=options["seed"],
            start=start,
        )
        simulation = Simulation(config)
        began = time.perf_counter()
        try:
            simulation.run()
        except (CodeFileError, CaseError) as error:
            raise CommandError(f"{code_name}: {error}", returncode=2) from error
        elapsed = time.perf_counter() - began
        figures = report(simulation.provider, end=simulation.end, calendar=simulation.calendar)
        figures["run"] = {
            "code": code_name,
            "complaints": config.complaints,
            "days": config.days,
            "handlers": config.handlers,
            "seed": config.seed,
            "start": options["start"],
            "seconds": round(elapsed, 2),
            "complaints_per_second": round(config.complaints / elapsed, 1),
            "refused_actions": dict(simulation.refused),
        }
        if options["json"]:
            self.stdout.write(json.dumps(figures, indent=2, default=str))
        else:
            self.stdout.write(render_text(figures))
        if not figures["ok"]:
            raise SystemExit(1)


def render_text(figures: dict[str, Any]) -> str:
    run = figures["run"]
    lines = [
        f"Simulation of {run['code']}: {run['complaints']} complaints over {run['days']} days, "
        f"{run['handlers']} handlers, seed {run['seed']}",
        f"  ran in {run['seconds']} s ({run['complaints_per_second']} complaints/s)",
        "",
        "Complaints by state: "
        + ", ".join(f"{state} {n}" for state, n in figures["states"].items()),
        "",
        f"{'obligation':<20}{'met':>6}{'done':>6}{'breached':>9}{'pending':>8}{'cancelled':>10}"
        f"{'median h':>10}{'p95 h':>8}",
    ]
    for kind, row in figures["obligations"].items():
        lines.append(
            f"{kind:<20}{row['met']:>6}{row['done']:>6}{row['breached']:>9}{row['pending']:>8}"
            f"{row['cancelled']:>10}{_num(row['median_hours_from_first_receipt']):>10}"
            f"{_num(row['p95_hours_from_first_receipt']):>8}"
        )
    letters = figures["adr_letters"]
    lines += [
        "",
        f"ADR letters: {letters['total']} ("
        + ", ".join(f"{k} {v}" for k, v in letters["by_trigger"].items())
        + ")",
        "",
        "Invariants:",
    ]
    for name, result in figures["invariants"].items():
        detail = ", ".join(f"{k} {v}" for k, v in result.items() if k != "ok")
        lines.append(f"  [{'ok' if result['ok'] else 'FAIL'}] {name.replace('_', ' ')} ({detail})")
    return "\n".join(lines)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _reason(error: Exception) -> str:
    """libpq's reason without its preamble: 'connection failed: connection to server at "h",
    port 1 failed: Connection refused (hint)' -> 'Connection refused'."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reason = first.rsplit(" failed: ", 1)[-1]
    return " ".join(reason.split()) or type(error).__name__


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
