"""Simulator throughput: complaints simulated per second, SQLite and PostgreSQL side by side.

    python -m benchmarks.simulate [--complaints 10000] [--days 120] [--handlers 25]

Each run is ``amends simulate --json`` (a scratch database each time: a temporary SQLite
file, then a temporary database on the PostgreSQL server); the figures come from its JSON
report, whose invariants must all hold.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def simulate(args: argparse.Namespace, *extra: str) -> dict[str, object]:
    command = [
        sys.executable,
        "-m",
        "amends.cli",
        "simulate",
        "--code",
        args.code,
        "--complaints",
        str(args.complaints),
        "--days",
        str(args.days),
        "--handlers",
        str(args.handlers),
        "--seed",
        "1",
        "--json",
        *extra,
    ]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(result.stderr[-3000:])
    figures: dict[str, object] = json.loads(result.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default="amends/codes/template.toml")
    parser.add_argument("--complaints", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--handlers", type=int, default=25)
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(
        f"date {datetime.now(UTC):%Y-%m-%d}; {platform.machine()}, {os.cpu_count()} cores;"
        f" Python {platform.python_version()}; code {args.code}; {args.complaints} complaints"
        f" over {args.days} days, {args.handlers} handlers"
    )
    print(
        "| database | seconds | complaints/s | events | ADR letters (time/deadlock/request) |"
        " invariants |"
    )
    print("|---|---:|---:|---:|---|---|")
    for label, extra in (("SQLite", ()), ("PostgreSQL", ("--postgres", args.postgres))):
        figures = simulate(args, *extra)
        run = figures["run"]
        letters = figures["adr_letters"]["by_trigger"]  # type: ignore[index]
        events = figures["invariants"]["audit_chain_verifies"]["events"]  # type: ignore[index]
        print(
            f"| {label} | {run['seconds']} | {run['complaints_per_second']} | {events:,} |"  # type: ignore[index]
            f" {letters.get('time', 0)}/{letters.get('deadlock', 0)}/"
            f"{letters.get('customer_request', 0)} | {'all hold' if figures['ok'] else 'FAIL'} |"
        )


if __name__ == "__main__":
    main()
