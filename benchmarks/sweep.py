"""A worker sweep with nothing due, over 1,000,000 open complaints on PostgreSQL.

Run from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth):

    python -m benchmarks.sweep [--cases 1000000] [--server postgres://root@127.0.0.1:5432/postgres]

It creates a scratch database, migrates it, fills it server-side (generate_series) with open
complaints, each with its three clocks (acknowledgement met, resolution target and ADR letter
pending and due in the future), ANALYZEs, then times, side by side in one run:

* the worker's real sweep (``obligation_sweep(now)``: the claim query on the partial index
  ``obligation_pending_due_idx``), and
* the same claim query with index scans disabled (what a sweep costs without the index:
  a scan of every obligation row),

and prints EXPLAIN (ANALYZE) of both. The scratch database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--server", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    import psycopg

    name = f"amends_bench_{uuid.uuid4().hex[:8]}"
    base = args.server.rsplit("/", 1)[0]
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        env = dict(os.environ, DATABASE_URL=url)
        subprocess.run(
            [sys.executable, "-m", "amends.cli", "migrate", "-v0"], env=env, cwd=REPO, check=True
        )
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        run(args.cases, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(cases: int) -> float:
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO providers_provider (slug, name, legal_name, nation, reference_prefix,"
            " adr_scheme, created_at) VALUES ('bench', 'Bench', '', 'england-and-wales', 'BN',"
            " 'communications-ombudsman', now()) RETURNING id"
        )
        provider = cursor.fetchone()[0]
        code = (REPO / "amends" / "codes" / "template.toml").read_text()
        cursor.execute(
            "INSERT INTO providers_codeversion (provider_id, version, content, sha256,"
            " effective_from, activated_at) VALUES (%s, '1', %s, 'x', '2020-01-01', now())"
            " RETURNING id",
            [provider, code],
        )
        version = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO cases_customer (provider_id, customer_type, business_name,"
            " account_number, contact_name, phone, email, postal_address, preferred_contact,"
            " access_needs, other_language, vulnerability_note, representative_name,"
            " representative_contact, support_contract, created_at) VALUES (%s, 'small_business',"
            " '', '', 'Bench', '', '', '', 'email', '[]', '', '', '', '', false, now())"
            " RETURNING id",
            [provider],
        )
        customer = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO cases_case (provider_id, customer_id, code_version_id, reference, kind,"
            " state, channel, first_received_at, first_received_note, entered_at, summary,"
            " description, category, escalation_level, support_contract, acceptance_by,"
            " acceptance_how, adr_letter_trigger, scheme_reference, decision_outcome,"
            " decision_remedies, update_interval)"
            " SELECT %s, %s, %s, 'BN-26-' || lpad(g::text, 7, '0'), 'complaint',"
            " 'investigating', 'phone', t, '', t, 'bench', '', '', 0, false,"
            " '', '', '', '', '', '', ''"
            " FROM generate_series(1, %s) g,"
            " LATERAL (SELECT now() - (g %% 40) * interval '1 day' AS t) times",
            [provider, customer, version, cases],
        )
        cursor.execute(
            "INSERT INTO cases_obligation (provider_id, case_id, key, kind, due_at, state,"
            " met_at, origin, rule_id, source, action)"
            " SELECT provider_id, id, k.key, k.key, first_received_at + k.after,"
            " CASE WHEN k.key = 'acknowledge' THEN 'met' ELSE 'pending' END,"
            " CASE WHEN k.key = 'acknowledge' THEN first_received_at END,"
            " 'code', '', '', CASE WHEN k.key = 'adr_letter' THEN 'issue_adr_letter'"
            " ELSE 'breach' END"
            " FROM cases_case, (VALUES ('acknowledge', interval '1 day'),"
            " ('resolve', interval '60 days'), ('adr_letter', interval '42 days'))"
            " AS k(key, after)",
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - began


def run(cases: int, repeat: int) -> None:
    from django.db import connection

    from amends.cases.worker import obligation_sweep

    seconds = fill(cases)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_case WHERE state <> 'closed'")
        open_cases = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM cases_obligation WHERE state = 'pending'")
        pending = cursor.fetchone()[0]
        cursor.execute("SELECT min(due_at) FROM cases_obligation WHERE state = 'pending'")
        earliest = cursor.fetchone()[0]
    # "now" is just before the earliest pending clock: nothing is due.
    now = earliest - timedelta(seconds=1)

    indexed: list[float] = []
    for _ in range(repeat):
        began = time.perf_counter()
        assert obligation_sweep(now) == 0
        indexed.append((time.perf_counter() - began) * 1000)

    claim = (
        "SELECT id FROM cases_obligation WHERE state = 'pending' AND due_at <= %s"
        " ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + claim, [now])
        plan_indexed = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_indexscan = off")
        cursor.execute("SET enable_bitmapscan = off")
        cursor.execute("SET enable_indexonlyscan = off")
        scan: list[float] = []
        for _ in range(max(3, repeat // 10)):
            began = time.perf_counter()
            cursor.execute("BEGIN")
            cursor.execute(claim, [now])
            assert cursor.fetchone() is None
            cursor.execute("COMMIT")
            scan.append((time.perf_counter() - began) * 1000)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + claim, [now])
        plan_scan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET ALL")
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]

    print(
        f"date {datetime.now(UTC):%Y-%m-%d}; {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores; PostgreSQL {version}; Python {platform.python_version()}"
    )
    print(
        f"filled {open_cases:,} open complaints and {pending:,} pending obligations"
        f" in {seconds:.1f} s"
    )
    p95 = sorted(indexed)[int(0.95 * (len(indexed) - 1))]
    print(
        f"obligation_sweep, nothing due (partial index): median"
        f" {statistics.median(indexed):.2f} ms, p95 {p95:.2f} ms over {len(indexed)} runs"
    )
    print(
        f"same claim, index scans disabled (sequential scan): median"
        f" {statistics.median(scan):.1f} ms over {len(scan)} runs"
    )
    print("\nEXPLAIN ANALYZE, the worker's claim:\n" + plan_indexed)
    print("\nEXPLAIN ANALYZE, index scans disabled:\n" + plan_scan)


if __name__ == "__main__":
    main()
