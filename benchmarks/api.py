"""Case creation and case reads per second through the API, Amends beside django-helpdesk
(issue 13).

Run from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth)::

    python -m benchmarks.api [--write] [--clients 4] [--seconds 12] [--rounds 4] [--seed 100]
        [--warmup 5] [--probe-gets 30] [--databases sqlite,postgresql]
        [--postgres postgres://root@127.0.0.1:5432/postgres] [--helpdesk-venv var/helpdesk-venv]

The servers are those of ``benchmarks/public.py`` (its ``servers``: scratch databases from
``benchmarks.services.scratch_databases``; ``amends migrate`` and ``amends demo``, then ``amends
serve`` with 2 workers x 4 threads; django-helpdesk 2.6.1 in its own virtualenv under gunicorn
with the same workers and threads and Amends' ``CONN_MAX_AGE``), with two differences: Amends
runs with ``AMENDS_API_RATE_PER_MINUTE`` at 10**9 (the per-token rate limit would otherwise
refuse the load with 429), and helpdesk's settings (``benchmarks/helpdesk_bench/settings.py``)
have DRF's token authentication beside its defaults. Then, on each side, an API client:

* **Amends**: an API token of the demo provider ``v4voip`` with the scopes read and write, made
  by its administrator (``api_token_create``), sent as ``Authorization: Bearer amends_...``.
* **helpdesk**: a staff superuser and its DRF token (``rest_framework.authtoken``), sent as
  ``Authorization: Token ...``: one indexed read per request, as Amends' token is (HTTP Basic
  would hash the password with PBKDF2 on every request, a cost no API client pays twice).

The requests, all JSON (``Accept: application/json``):

* create: Amends ``POST /api/v1/cases`` (a complaint by e-mail received a minute ago, with a
  new customer: name, business, e-mail; 201 with ``Location`` and the case with its clocks
  and timeline); helpdesk ``POST /helpdesk/api/tickets/`` (``TicketViewSet.create``: queue,
  title, description, submitter e-mail, priority; 201 with the ticket and its follow-ups).
  The same title and description on both sides; a new e-mail address per request.
* read: Amends ``GET /api/v1/cases/{reference}`` (200: the case, its customer, clocks,
  timeline, ETag); helpdesk ``GET /helpdesk/api/tickets/{id}/`` (200: the ticket and its
  follow-ups). Each read is of one of the ``--seed`` cases / tickets made first, in turn.

Any other status, or a body without the expected reference / id, fails the run.

Order, per database: ``--seed`` creates on each side through the API, one after another
(timed: the median of all but the first 10 is a create's cost with no other request
competing); statements per request counted in a separate process on each side (Django's test
client in the server's settings on the same database, ``CaptureQueriesContext``: five creates
and five reads, the median; savepoint lines left out, as ``benchmarks/services.py`` counts;
on Amends five more creates with an ``Idempotency-Key``, which helpdesk's API has no match for);
``--warmup`` reads per client, not recorded; then the read rounds, then ``--warmup`` creates
per client and the create rounds. Each measure is a bounded closed loop (``benchmarks.public``'s
``load``): ``--clients`` threads, one keep-alive connection each per round, one request after
another for ``--seconds`` per server in all, in ``--rounds`` rounds alternating between the two
servers (helpdesk, Amends, Amends, helpdesk, ...). Per server and request: requests/s
(completed requests over the rounds' wall time), median and p95 milliseconds.

Last, with the cases / tickets the create rounds added: ``--probe-gets`` reads of the seeded
rows one after another (after 5 not recorded) and the statements per read counted again,
because helpdesk's ``TicketViewSet.get_queryset`` loads every ticket the user can see (and
runs ``set_custom_field_values`` on each) before it picks the one asked for: its read costs
grow with the number of tickets. The rows in each database at both points are reported.

Prints one JSON document on stdout (progress on stderr); ``--write`` also rewrites the block of
``benchmarks/RESULTS.md`` between its markers. ``--setup SIDE`` and ``--count`` are the helper
processes it starts itself (in the Amends and the helpdesk environment).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._results import machine, write_block
from benchmarks.public import (
    SLUG,
    Browser,
    HTTPFailure,
    Server,
    Tally,
    _f,
    _pct,
    amends_environment,
    database_server,
    load,
    server_versions,
    servers,
    source,
    warm,
)
from benchmarks.services import (
    BODY,
    TITLE,
    _is_savepoint,
    base_env,
    helpdesk_python,
    log,
    scratch_databases,
)

REPO = Path(__file__).resolve().parent.parent
HEADING = "## Case creation and reads through the API (issue 13)"
BEGIN, END = "<!-- api:begin -->", "<!-- api:end -->"
INTRO = (
    "`python -m benchmarks.api --write` (`make bench-api`): a closed-loop load of case "
    "creations, then of case reads, through the REST API of `amends serve` over loopback, "
    "beside django-helpdesk's DRF ticket API under gunicorn, on the same machine in the same "
    "run. How it is measured: the module's docstring."
)
#: The per-token rate limit, out of the way (config.settings reads it from the environment).
RATE = str(10**9)
AMENDS_CASES, HELPDESK_TICKETS = "/api/v1/cases", "/helpdesk/api/tickets/"
COUNTED = 5


# --------------------------------------------------------------------------- helper processes


def setup_side(side: str) -> dict[str, Any]:
    """In the side's own environment (Django set up): its API client's credentials."""
    import django

    django.setup()
    from django.utils import timezone

    if side == "amends":
        from amends.cases.actors import staff_actor
        from amends.providers.models import StaffMember
        from amends.providers.tokens import api_token_create

        admin = StaffMember.objects.get(provider__slug=SLUG, role="admin")
        _, raw = api_token_create(
            actor=staff_actor(admin), name="benchmark", scopes=["read", "write"], now=timezone.now()
        )
        return {"authorization": f"Bearer {raw}"}
    from django.contrib.auth import get_user_model
    from helpdesk.models import Queue
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user(
        "bench", "bench@example.invalid", "bench-only-not-secret", is_staff=True, is_superuser=True
    )
    queue = Queue.objects.get(slug="complaints")
    return {"authorization": f"Token {Token.objects.create(user=user).key}", "queue": queue.pk}


def count_statements(spec: dict[str, Any]) -> dict[str, Any]:
    """In the side's own environment: statements per create and per read through Django's test
    client (the same middleware, views and database as the server), and the rows there are."""
    import django

    django.setup()
    from django.apps import apps
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT="application/json")
    headers = {"Authorization": spec["authorization"]}

    def counted(
        method: str, path: str, body: Any, status: int, key: str | None = None
    ) -> tuple[int, int, Any]:
        sent = headers if key is None else {**headers, "Idempotency-Key": key}
        with CaptureQueriesContext(connection) as captured:
            if method == "POST":
                answer = client.post(path, data=body, content_type="application/json", headers=sent)
            else:
                answer = client.get(path, headers=headers)
        if answer.status_code != status:
            raise SystemExit(f"{method} {path}: {answer.status_code} {answer.content[:500]!r}")
        sql = [q["sql"] for q in captured.captured_queries]
        kept = [s for s in sql if not _is_savepoint(s)]
        return len(kept), len(sql) - len(kept), answer.json()

    result: dict[str, Any] = {}
    creates = spec.get("creates", [])
    keyed = spec.get("keyed_creates", [])
    for name, method, items, status in (
        ("create", "POST", creates, 201),
        ("create_with_idempotency_key", "POST", keyed, 201),
        ("read", "GET", spec["reads"], 200),
    ):
        statements: list[int] = []
        savepoints: list[int] = []
        for number, item in enumerate(items):
            path, body = (spec["create_path"], item) if method == "POST" else (item, None)
            key = f"bench-{number}" if name == "create_with_idempotency_key" else None
            kept, points, _ = counted(method, path, body, status, key)
            statements.append(kept)
            savepoints.append(points)
        if statements:
            result[name] = {
                "statements": statistics.median(statements),
                "statements_min": min(statements),
                "statements_max": max(statements),
                "savepoint_lines": statistics.median(savepoints),
            }
    result["rows"] = apps.get_model(spec["model"]).objects.count()
    return result


# --------------------------------------------------------------------------- the client


def call(
    browser: Browser, method: str, path: str, authorization: str, body: Any, status: int
) -> tuple[dict[str, Any], http.client.HTTPResponse]:
    """One JSON request on the browser's keep-alive connection; any other status raises."""
    headers = {
        "Host": browser.host,
        "User-Agent": "amends-bench",
        "Accept": "application/json",
        "Authorization": authorization,
    }
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    for attempt in (1, 2):
        try:
            browser.conn.request(method, path, body=payload, headers=headers)
            response = browser.conn.getresponse()
            raw = response.read()
            break
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # The server closed the kept-alive connection before this request: once more
            # on a new one (the request was not received).
            browser.conn.close()
            browser.conn = http.client.HTTPConnection(browser.host, timeout=60)
            if attempt == 2:
                raise
    browser.requests += 1
    if response.status != status:
        raise HTTPFailure(f"{method} {path}: {response.status} {raw[:1000]!r}")
    answer = json.loads(raw)
    if not isinstance(answer, dict):
        raise HTTPFailure(f"{method} {path}: not a JSON object")
    return answer, response


@dataclass
class Side:
    """One server's API: how to create, how to read, what it made."""

    name: str
    server: Server
    authorization: str
    queue: int | None = None
    ids: list[str] = field(default_factory=list)

    @property
    def amends(self) -> bool:
        return self.name == "amends"

    def create_body(self, serial: int) -> dict[str, Any]:
        email = f"customer{serial}@example.invalid"
        if self.amends:
            received = datetime.now(UTC) - timedelta(minutes=1)
            return {
                "kind": "complaint",
                "channel": "email",
                "first_received_at": received.isoformat(),
                "summary": TITLE,
                "description": BODY,
                "customer": {
                    "contact_name": "Priya Shah",
                    "business_name": "Shah Dental",
                    "email": email,
                },
            }
        return {
            "queue": self.queue,
            "title": TITLE,
            "description": BODY,
            "submitter_email": email,
            "priority": 3,
        }

    @property
    def create_path(self) -> str:
        return AMENDS_CASES if self.amends else HELPDESK_TICKETS

    def read_path(self, key: str) -> str:
        return f"{AMENDS_CASES}/{key}" if self.amends else f"{HELPDESK_TICKETS}{key}/"

    def create_one(self, browser: Browser, serial: int) -> str:
        answer, response = call(
            browser, "POST", self.create_path, self.authorization, self.create_body(serial), 201
        )
        if self.amends:
            key = str(answer.get("reference", ""))
            if not key or response.getheader("Location") != f"{AMENDS_CASES}/{key}":
                raise HTTPFailure("the new case has no reference or no Location")
            if not answer.get("clocks") or not answer.get("timeline"):
                raise HTTPFailure("the new case has no clocks or no timeline")
        else:
            key = str(answer.get("id", ""))
            if not key.isdigit() or answer.get("title") != TITLE:
                raise HTTPFailure("the new ticket has no id")
        return key

    def create(self, browser: Browser, serial: int) -> float:
        began = time.perf_counter()
        self.create_one(browser, serial)
        return time.perf_counter() - began

    def read(self, browser: Browser, serial: int) -> float:
        key = self.ids[serial % len(self.ids)]
        began = time.perf_counter()
        answer, _ = call(browser, "GET", self.read_path(key), self.authorization, None, 200)
        took = time.perf_counter() - began
        if self.amends:
            if answer.get("reference") != key or not answer.get("timeline"):
                raise HTTPFailure(f"read {key}: another case, or no timeline")
        elif str(answer.get("id")) != key:
            raise HTTPFailure(f"read {key}: another ticket")
        return took


def figures(tally: Tally) -> dict[str, Any]:
    done = len(tally.seconds)
    return {
        "requests": done,
        "wall_s": round(tally.wall, 3),
        "requests_per_s": done / tally.wall if tally.wall else None,
        "median_ms": statistics.median(tally.seconds) * 1000 if done else None,
        "p95_ms": (_pct(tally.seconds, 0.95) or 0) * 1000 if done else None,
        "errors": len(tally.errors),
        "first_errors": tally.errors[:3],
    }


def probe(side: Side, gets: int) -> dict[str, Any]:
    """``gets`` reads one after another (after 5 not recorded): milliseconds each."""
    browser = Browser(side.server.base)
    try:
        for serial in range(5):
            side.read(browser, serial)
        times = [side.read(browser, serial) * 1000 for serial in range(gets)]
    finally:
        browser.close()
    return {
        "gets": gets,
        "median_ms": statistics.median(times),
        "p95_ms": _pct(times, 0.95),
    }


# --------------------------------------------------------------------------- one database


def helpdesk_environment(tmp: Path, vendor: str, url: str) -> dict[str, str]:
    """The environment ``benchmarks.public.servers`` gives helpdesk's gunicorn."""
    env = base_env()
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.helpdesk_bench.settings",
        HELPDESK_BENCH_DATABASE_URL=url,
        HELPDESK_BENCH_DIR=str(tmp / "helpdesk"),
        HELPDESK_BENCH_CONN_MAX_AGE="0" if vendor == "sqlite" else "60",
        PYTHONUNBUFFERED="1",
    )
    return env


def helper(python: str, env: dict[str, str], *arguments: str, stdin: str = "") -> dict[str, Any]:
    """Run this module as one of its helper processes; its JSON answer."""
    command = [python, "-m", "benchmarks.api", *arguments]
    done = subprocess.run(command, cwd=REPO, env=env, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed ({done.returncode}):\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def measure(
    sides: dict[str, Side], action: str, args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Alternating rounds of ``action`` (``create`` or ``read``) on both servers."""
    tallies = {name: Tally() for name in sides}
    for name, side in sides.items():
        log(f"  {name}: warm-up, {args.warmup} {action}s per client")
        warm(side.server.base, getattr(side, action), args.clients, args.warmup)
    order = ["helpdesk", "amends", "amends", "helpdesk"]
    rounds = [order[i % 4] for i in range(2 * args.rounds)]
    per_round = args.seconds / args.rounds
    for number, name in enumerate(rounds, 1):
        side = sides[name]
        log(f"  {action} round {number}/{len(rounds)}: {name}, {per_round:g} s")
        load(
            side.server.base,
            getattr(side, action),
            tallies[name],
            clients=args.clients,
            seconds=per_round,
        )
        if tallies[name].errors:
            break
    return {name: figures(tally) for name, tally in tallies.items()}


def run_database(vendor: str, args: argparse.Namespace, python: Path) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="amends-bench-api-") as folder,
        scratch_databases(vendor, args.postgres, Path(folder)) as (amends_url, helpdesk_url),
    ):
        tmp = Path(folder)
        with servers(tmp, vendor, amends_url, helpdesk_url, python) as (amends, helpdesk):
            envs = {
                "amends": (sys.executable, amends_environment(tmp / "var", amends_url)),
                "helpdesk": (str(python), helpdesk_environment(tmp, vendor, helpdesk_url)),
            }
            sides: dict[str, Side] = {}
            for name, server in (("helpdesk", helpdesk), ("amends", amends)):
                made = helper(*envs[name], "--setup", name)
                sides[name] = Side(name, server, made["authorization"], made.get("queue"))

            result: dict[str, Any] = {"database": database_server(vendor, amends_url)}
            for name, side in sides.items():
                log(f"  {name}: {args.seed} cases / tickets through the API (seed)")
                browser = Browser(side.server.base)
                seconds: list[float] = []
                try:
                    for n in range(args.seed):
                        began = time.perf_counter()
                        side.ids.append(side.create_one(browser, 5 * 10**6 + n))
                        seconds.append(time.perf_counter() - began)
                finally:
                    browser.close()
                # One create at a time, nothing else on the server (the first 10 left out).
                result.setdefault("seed_create_median_ms", {})[name] = (
                    statistics.median(seconds[10:] or seconds) * 1000
                )

            def spec(side: Side, creates: bool) -> str:
                bodies = [side.create_body(2 * 10**6 + n) for n in range(2 * COUNTED)]
                return json.dumps(
                    {
                        "authorization": side.authorization,
                        "create_path": side.create_path,
                        "creates": bodies[:COUNTED] if creates else [],
                        # Amends' POSTs take an Idempotency-Key (helpdesk's do not).
                        "keyed_creates": bodies[COUNTED:] if creates and side.amends else [],
                        "reads": [side.read_path(k) for k in side.ids[:COUNTED]],
                        "model": "cases.Case" if side.amends else "helpdesk.Ticket",
                    }
                )

            log("  statements per request (test client, each side's own process)")
            result["statements"] = {
                name: helper(*envs[name], "--count", stdin=spec(side, True))
                for name, side in sides.items()
            }
            result["read"] = measure(sides, "read", args)
            if not any(r["errors"] for r in result["read"].values()):
                result["create"] = measure(sides, "create", args)
            errors = sum(
                r["errors"] for m in ("read", "create") for r in result.get(m, {}).values()
            )
            if not errors:
                log(f"  reads after the create rounds: {args.probe_gets} per side")
                result["after"] = {
                    name: {
                        **probe(side, args.probe_gets),
                        **helper(*envs[name], "--count", stdin=spec(side, False)),
                    }
                    for name, side in sides.items()
                }
            result["errors"] = errors
            for what in ("read", "create"):
                rows = result.get(what)
                if rows:
                    a, h = rows["amends"]["requests_per_s"], rows["helpdesk"]["requests_per_s"]
                    result[f"{what}_ratio"] = a / h if a and h else None
            return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    # benchmarks.public.servers gives Amends the environment of this process (base_env) with its
    # own additions: the rate limit is raised here, before it starts any server.
    os.environ["AMENDS_API_RATE_PER_MINUTE"] = RATE
    python = helpdesk_python(Path(args.helpdesk_venv).resolve())
    report: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "git": source(),
        "versions": server_versions(python),
        "clients": args.clients,
        "seconds_per_server": args.seconds,
        "rounds_per_server": args.rounds,
        "seed": args.seed,
        "warmup_per_client": args.warmup,
        "databases": {},
        # The machine's 1-minute load average before the run and after it: what else ran.
        "load_average": [round(os.getloadavg()[0], 2)],
    }
    for vendor in args.databases.split(","):
        log(f"{vendor}:")
        report["databases"][vendor] = run_database(vendor, args, python)
    report["load_average"].append(round(os.getloadavg()[0], 2))
    report["errors"] = sum(d["errors"] for d in report["databases"].values())
    return report


# --------------------------------------------------------------------------- RESULTS.md


def section(report: dict[str, Any]) -> str:
    m, v, g = report["machine"], report["versions"], report["git"]
    lines = [
        f"Run {report['date']} on {m['nproc']} cores ({m['cpu']}, {m['ram']}); git "
        f"{g['head']}{' with uncommitted changes in the tree' if g['dirty'] else ''}. "
        f"Amends: Python {v['amends_python']}, Django {v['amends_django']}, gunicorn "
        f"{v['amends_gunicorn']}; django-helpdesk {v['django_helpdesk']} (Python "
        f"{v['helpdesk_python']}, Django {v['helpdesk_django']}, gunicorn "
        f"{v['helpdesk_gunicorn']}). Each server: 2 worker processes x 4 threads on loopback. "
        f"Load: {report['clients']} clients, one keep-alive connection each per round, "
        f"{report['seconds_per_server']:g} s per server and request in "
        f"{report['rounds_per_server']} rounds alternating with the other server, after "
        f"{report['warmup_per_client']} unrecorded requests per client; reads of "
        f"{report['seed']} cases / tickets made through the API first. Statements: per request "
        "through Django's test client on the same database, savepoint lines left out. "
        "The machine's 1-minute load average: "
        f"{' before the run, '.join(str(x) for x in report['load_average'])} after it.",
        "",
        "| Database | Request | Server | Requests | Requests/s | Median ms | p95 ms "
        "| Statements per request | Errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    requests = (
        ("create", "create", "POST /api/v1/cases", "POST /helpdesk/api/tickets/"),
        ("read", "read", "GET /api/v1/cases/{reference}", "GET /helpdesk/api/tickets/{id}/"),
    )
    for db in report["databases"].values():
        for what, label, amends_path, helpdesk_path in requests:
            for name, server, path in (
                ("helpdesk", "django-helpdesk", helpdesk_path),
                ("amends", "Amends", amends_path),
            ):
                row = db.get(what, {}).get(name)
                if row is None:
                    continue
                counted = db["statements"][name].get(what, {}).get("statements")
                lines.append(
                    f"| {db['database']} | {label}: `{path}` | {server} | {row['requests']} | "
                    f"{_f(row['requests_per_s'])} | {_f(row['median_ms'])} | "
                    f"{_f(row['p95_ms'])} | {_f(counted, 0)} | {row['errors']} |"
                )
    keyed = [
        f"{_f(db['statements']['amends']['create_with_idempotency_key']['statements'], 0)} "
        f"on {db['database']}"
        for db in report["databases"].values()
        if "create_with_idempotency_key" in db["statements"]["amends"]
    ]
    if keyed:
        lines += [
            "",
            "Statements per Amends create sent with an `Idempotency-Key` (as its API "
            f"documentation asks; not in the load): {', '.join(keyed)}.",
        ]
    lines += [
        "",
        "| Database | Amends ÷ helpdesk, creates/s | Amends ÷ helpdesk, reads/s |",
        "|---|---:|---:|",
    ]
    for db in report["databases"].values():
        lines.append(
            f"| {db['database']} | {_f(db.get('create_ratio'), 2)} | "
            f"{_f(db.get('read_ratio'), 2)} |"
        )
    lines += [
        "",
        "One request at a time (no other load): the seed's creates (median, the first 10 "
        "left out); reads after the create rounds; rows in each database at the read rounds "
        "and after the create rounds:",
        "",
        "| Database | Server | Create median ms, seed | Rows at the read rounds "
        "| Rows after the creates | Read median ms after | Read p95 ms after "
        "| Statements per read after |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for db in report["databases"].values():
        for name, server in (("helpdesk", "django-helpdesk tickets"), ("amends", "Amends cases")):
            after = db.get("after", {}).get(name)
            if after is None:
                continue
            lines.append(
                f"| {db['database']} | {server} | {_f(db['seed_create_median_ms'][name])} | "
                f"{db['statements'][name]['rows']} | "
                f"{after['rows']} | {_f(after['median_ms'])} | {_f(after['p95_ms'])} | "
                f"{_f(after['read']['statements'], 0)} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/RESULTS.md")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=12.0, help="per server and request")
    parser.add_argument("--rounds", type=int, default=4, help="per server and request")
    parser.add_argument("--seed", type=int, default=100, help="cases / tickets read")
    parser.add_argument("--warmup", type=int, default=5, help="requests per client")
    parser.add_argument("--probe-gets", type=int, default=30)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--helpdesk-venv", default=str(REPO / "var" / "helpdesk-venv"))
    parser.add_argument("--setup", choices=("amends", "helpdesk"), help=argparse.SUPPRESS)
    parser.add_argument("--count", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        print(json.dumps(setup_side(args.setup)))
        return 0
    if args.count:
        print(json.dumps(count_statements(json.loads(sys.stdin.read()))))
        return 0
    report = run(args)
    print(json.dumps(report, indent=2))
    if report["errors"]:
        log(f"FAILED: {report['errors']} client(s) stopped on an error (see first_errors)")
        return 1
    if args.write:
        write_block(begin=BEGIN, end=END, heading=HEADING, intro=INTRO, text=section(report))
        log("benchmarks/RESULTS.md updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
