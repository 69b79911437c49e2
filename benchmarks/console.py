"""The staff console's queue, search, case and dashboard pages with 100,000 cases (PostgreSQL).

Run from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth):

    python -m benchmarks.console [--write] [--cases 100000] [--other 10000] [--timed 30]

It creates a scratch database, migrates it, and makes two providers from the shipped codes
(V4VoIP and ISS, through ``provider_create``, ``code_version_activate`` and ``staff_create``),
then, for V4VoIP, one case with a long history through the real services (about 200 events and
outgoing messages). It then fills, server-side (``INSERT ... SELECT`` over ``unnest`` and
``generate_series``), ``--cases`` cases for V4VoIP and ``--other`` for ISS (which must never
appear on V4VoIP's pages), one customer each, with their clocks:

* 6% open, spread over every open state (received and acknowledged ones unassigned, the rest
  shared by ten case handlers), first received in the last 45 days; 3% withdrawn, 1% resolved,
  1% remedy done, the rest closed, first received in the last two years; 1 in 12 an account
  query, the rest complaints;
* clocks: acknowledge (met, or pending while received), resolve (40 days; pending while open,
  breached once past), the ADR letter for complaints (42 days; met once issued, cancelled once
  resolved, breached once past) and, for investigating, escalated and re-opened cases, an
  update clock due between 12 hours ago and 3.5 days ahead (breached once past);

and ANALYZEs. Then, with Django's test client signed in as the provider's case handler and as
its manager, each page gets ``--warmup`` untimed requests and ``--timed`` timed ones (server
time: ``time.perf_counter`` around ``client.get``), then one more request with its SQL captured
(``CaptureQueriesContext``): every queue, a search by a common surname, by a unique name and by
reference, the long case's page and the dashboard (the last 12 months). A second case handler
with exactly 10 open cases shows whether a queue's SQL count grows with its rows. EXPLAIN
(ANALYZE, BUFFERS) of the slowest queue's row query is printed and written. Prints one JSON
document on stdout (progress on stderr); ``--write`` rewrites the block in RESULTS.md. The
scratch database is dropped afterwards, also on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._results import RESULTS, write_block
from benchmarks._results import machine as shared_machine

REPO = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- console:begin -->", "<!-- console:end -->"
HEADING = "## Staff console: queue and case pages with 100,000 cases (issue 11)"
QUEUE_NAMES = (
    "mine",
    "unassigned",
    "due_today",
    "at_risk",
    "breached",
    "adr_due",
    "escalated",
    "awaiting_customer",
    "open",
)
OPEN_STATES = (
    "received",
    "acknowledged",
    "assigned",
    "investigating",
    "escalated",
    "resolution_proposed",
    "reopened",
    "deadlock",
    "adr_letter_issued",
    "referred",
    "scheme_decision",
)
OPEN_PERCENT = 6
HANDLERS = 10
FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Ewan",
    "Fatima",
    "George",
    "Hana",
    "Isla",
    "Jack",
    "Kiran",
    "Leah",
    "Mohammed",
    "Niamh",
    "Oliver",
    "Priya",
    "Rhys",
    "Sophie",
    "Tom",
    "Zara",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Okafor",
]
LONG_NAME = "Imogen Fairweather-Beck"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the data


def _age_seconds(g: int) -> int:
    """How long ago case ``g`` was first received (the SQL fill uses the same rule)."""
    if g % 100 < OPEN_PERCENT:
        return (g * 7919) % (45 * 86400)
    return (g * 7919) % (730 * 86400)


def _references(prefix: str, count: int, first_serial: int, now: datetime) -> list[str]:
    from amends.domain.reference import make_reference

    return [
        make_reference(prefix, (now - timedelta(seconds=_age_seconds(g))).year, first_serial + g)
        for g in range(1, count + 1)
    ]


def fill(
    *, provider: Any, version: Any, count: int, handlers: Sequence[int], now: datetime
) -> None:
    """``count`` customers and cases for ``provider`` with their clocks, server-side."""
    from django.db import connection

    prefix = provider.reference_prefix
    references = _references(prefix, count, 1000, now)
    ages = [_age_seconds(g) for g in range(1, count + 1)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_customer (provider_id, customer_type, business_name,"
            " account_number, contact_name, phone, email, postal_address, preferred_contact,"
            " access_needs, other_language, vulnerability_note, representative_name,"
            " representative_contact, support_contract, created_at)"
            " SELECT %(p)s, CASE WHEN g %% 3 = 0 THEN 'small_business' ELSE 'residential' END,"
            " CASE WHEN g %% 3 = 0 THEN s || ' Trading ' || g || ' Ltd' ELSE '' END,"
            " %(prefix)s || 'A' || lpad(g::text, 7, '0'), f || ' ' || s,"
            " '07700 9' || lpad((g %% 100000)::text, 5, '0'),"
            " 'customer' || g || '@example.invalid',"
            " g || ' High Street' || E'\\n' || 'Ebbw Vale' || E'\\n' || 'NP23 '"
            " || (g %% 10) || 'HA',"
            " CASE WHEN g %% 7 = 0 THEN 'letter' ELSE 'email' END,"
            " CASE WHEN g %% 50 = 0 THEN '[\"large_print\"]'::jsonb ELSE '[]'::jsonb END,"
            " '', '', '', '', false, now() - interval '2 years'"
            " FROM generate_series(1, %(n)s) g,"
            " LATERAL (SELECT (%(first)s::text[])[1 + g %% 20] AS f,"
            " (%(last)s::text[])[1 + (g / 20) %% 50] AS s) names",
            {
                "p": provider.pk,
                "prefix": prefix,
                "n": count,
                "first": FIRST_NAMES,
                "last": SURNAMES,
            },
        )
        cursor.execute("SELECT coalesce(max(id), 0) FROM cases_case")
        before = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO cases_case (provider_id, customer_id, code_version_id, reference, kind,"
            " state, channel, first_received_at, first_received_note, entered_at, summary,"
            " description, category, handler_id, escalation_level, support_contract, adr_scheme,"
            " version, acknowledged_at, update_interval, update_history, escalation_history,"
            " clocks, resolution_proposed_at, resolution_proposal, resolved_at, acceptance_by,"
            " acceptance_how, adr_letter_issued_at, adr_letter_trigger, deadlock_at,"
            " final_position, final_offer, scheme_reference, referred_at, decision_outcome,"
            " decision_remedies, closed_at, withdrawn_at, withdrawal_by, withdrawal_how)"
            " WITH src AS ("
            "  SELECT r.g, r.reference, now() - r.age * interval '1 second' AS t,"
            "   CASE WHEN r.g %% 100 < %(open)s"
            "     THEN (%(states)s::text[])[1 + (r.g / 100) %% 11]"
            "     WHEN r.g %% 100 < %(open)s + 3 THEN 'withdrawn'"
            "     WHEN r.g %% 100 = %(open)s + 3 THEN 'resolved'"
            "     WHEN r.g %% 100 = %(open)s + 4 THEN 'remedy_done'"
            "     ELSE 'closed' END AS state,"
            "   CASE WHEN r.g %% 12 = 0 THEN 'account_query' ELSE 'complaint' END AS kind"
            "  FROM unnest(%(refs)s::text[], %(ages)s::int[]) WITH ORDINALITY"
            "   AS r(reference, age, g)),"
            " facts AS ("
            "  SELECT src.*,"
            "   state IN ('adr_letter_issued', 'referred', 'scheme_decision', 'remedy_done')"
            "    AND kind = 'complaint' AS adr,"
            "   state IN ('closed', 'resolved', 'remedy_done') AS resolved,"
            "   least(t + ((g * 37) %% (30 * 86400)) * interval '1 second' + interval '1 day',"
            "    now()) AS resolved_at"
            "  FROM src)"
            " SELECT %(p)s, c.id, %(v)s, f.reference, f.kind, f.state,"
            "  (ARRAY['phone', 'email', 'web_form', 'post'])[1 + f.g %% 4], f.t, '', f.t,"
            "  'Complaint ' || f.g || ': broadband drops every evening', '', '',"
            "  CASE WHEN f.state IN ('received', 'acknowledged') THEN NULL"
            "   ELSE (%(handlers)s::bigint[])[1 + (f.g / 7) %% %(h)s] END,"
            "  CASE WHEN f.state = 'escalated' THEN 1 ELSE 0 END, false,"
            "  'communications-ombudsman', 1,"
            "  CASE WHEN f.state = 'received' THEN NULL"
            "   ELSE least(f.t + interval '2 hours', now()) END,"
            "  '', '[]', '[]', '{}',"
            "  CASE WHEN f.state = 'resolution_proposed' OR f.resolved THEN f.resolved_at END,"
            "  CASE WHEN f.state = 'resolution_proposed' OR f.resolved"
            "   THEN 'We will fix the fault and credit 25 pounds.' ELSE '' END,"
            "  CASE WHEN f.resolved THEN f.resolved_at END,"
            "  CASE WHEN f.resolved THEN 'the customer' ELSE '' END,"
            "  CASE WHEN f.resolved THEN 'phone' ELSE '' END,"
            "  CASE WHEN f.adr THEN least(f.t + interval '42 days', now()) END,"
            "  CASE WHEN f.adr THEN 'time' ELSE '' END, NULL, '', '',"
            "  CASE WHEN f.state IN ('referred', 'scheme_decision', 'remedy_done')"
            "   THEN 'CO-' || f.g ELSE '' END,"
            "  CASE WHEN f.state IN ('referred', 'scheme_decision', 'remedy_done')"
            "   THEN least(f.t + interval '50 days', now()) END,"
            "  CASE WHEN f.state IN ('scheme_decision', 'remedy_done') THEN 'upheld' ELSE '' END,"
            "  '',"
            "  CASE WHEN f.state = 'closed' THEN least(f.resolved_at + interval '2 days', now())"
            "   END,"
            "  CASE WHEN f.state = 'withdrawn' THEN least(f.t + interval '3 days', now()) END,"
            "  CASE WHEN f.state = 'withdrawn' THEN 'the customer' ELSE '' END,"
            "  CASE WHEN f.state = 'withdrawn' THEN 'phone' ELSE '' END"
            " FROM facts f JOIN cases_customer c ON c.provider_id = %(p)s"
            "  AND c.account_number = %(prefix)s || 'A' || lpad(f.g::text, 7, '0')",
            {
                "p": provider.pk,
                "v": version.pk,
                "prefix": prefix,
                "open": OPEN_PERCENT,
                "states": list(OPEN_STATES),
                "refs": references,
                "ages": ages,
                "handlers": list(handlers),
                "h": len(handlers),
            },
        )
        cursor.execute(
            "INSERT INTO cases_obligation (provider_id, case_id, key, kind, due_at, state,"
            " met_at, origin, rule_id, source, action, acted_at, attempts, last_error)"
            " SELECT c.provider_id, c.id, k.key, k.key, k.due,"
            "  CASE WHEN k.met IS NOT NULL THEN 'met'"
            "   WHEN k.cancelled THEN 'cancelled'"
            "   WHEN k.due < now() THEN 'breached' ELSE 'pending' END,"
            "  k.met, CASE WHEN k.key = 'adr_letter' THEN 'law' ELSE 'code' END,"
            "  CASE WHEN k.key = 'adr_letter' THEN 'GC C4.2' ELSE '' END, '',"
            "  CASE WHEN k.key = 'adr_letter' THEN 'issue_adr_letter' ELSE 'breach' END,"
            "  CASE WHEN k.met IS NULL AND NOT k.cancelled AND k.due < now() THEN k.due END,"
            "  0, ''"
            " FROM cases_case c"
            " CROSS JOIN LATERAL (VALUES"
            "  ('acknowledge', c.first_received_at + interval '2 days', c.acknowledged_at,"
            "   false, true),"
            "  ('resolve', c.first_received_at + interval '40 days', c.resolved_at,"
            "   c.state = 'withdrawn', true),"
            "  ('adr_letter', c.first_received_at + interval '42 days', c.adr_letter_issued_at,"
            "   c.resolved_at IS NOT NULL OR c.state = 'withdrawn', c.kind = 'complaint'),"
            "  ('update', now() - interval '12 hours'"
            "   + ((c.id * 13) %% (84 * 3600)) * interval '1 second', NULL::timestamptz, false,"
            "   c.state IN ('investigating', 'escalated', 'reopened'))"
            " ) AS k(key, due, met, cancelled, owed)"
            " WHERE c.id > %s AND c.provider_id = %s AND k.owed",
            [before, provider.pk],
        )


def long_case(provider: Any, manager: Any, handler: Any, now: datetime, events: int) -> Any:
    """An open complaint with about ``events`` events, made through the typed services."""
    from amends.cases import actions
    from amends.cases.actors import staff_actor
    from amends.cases.models import Event
    from amends.comms.models import OutboxMessage
    from amends.domain.codes import CaseKind, ChannelType

    boss = staff_actor(manager)
    me = staff_actor(handler)
    received = now - timedelta(days=21)
    customer = actions.customer_create(
        provider=provider,
        now=received,
        contact_name=LONG_NAME,
        business_name="Fairweather Joinery Ltd",
        account_number="V4V-LONG-1",
        email="imogen@example.invalid",
        phone="07700 900123",
    )
    case = actions.case_open(
        provider=provider,
        customer=customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.PHONE,
        first_received_at=received,
        summary="Line drops every evening; engineer visits missed",
        description="The customer's line has dropped every evening since March.",
        now=received,
        actor=boss,
    )
    at = received + timedelta(hours=1)
    step = timedelta(minutes=140)
    actions.case_acknowledge(case_id=case.pk, actor=boss, now=at)
    at += step
    actions.case_assign(case_id=case.pk, actor=boss, handler_id=handler.user_id, now=at)
    at += step
    actions.case_investigate(case_id=case.pk, actor=me, now=at)
    n = 0
    while Event.objects.filter(case=case).count() < events:
        at += step
        n += 1
        if n % 3 == 0:
            actions.case_send_message(
                case_id=case.pk,
                actor=me,
                kind="progress_update",
                text=f"Update {n}: the engineer checked the exchange; we are still testing.",
                now=at,
            )
        elif n % 3 == 1:
            actions.case_log_call(
                case_id=case.pk,
                actor=me,
                direction="outbound" if n % 2 else "inbound",
                summary=f"Call {n}: the customer says the line dropped again at 19:40.",
                now=at,
            )
        else:
            actions.case_add_note(
                case_id=case.pk,
                actor=me,
                text=f"Note {n}: line test passed; asked the network team to watch it.",
                now=at,
            )
    assert at < now, "the long case's history must end before now"
    case.refresh_from_db()
    case.bench_events = Event.objects.filter(case=case).count()  # type: ignore[attr-defined]
    case.bench_messages = OutboxMessage.objects.filter(case=case).count()  # type: ignore[attr-defined]
    return case


# --------------------------------------------------------------------------- measuring


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_page(client: Any, url: str, *, warmup: int, timed: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times: list[float] = []
    for _ in range(timed):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    queries = [
        {"ms": float(q["time"]) * 1000, "sql": q["sql"]}
        for q in captured.captured_queries
        if q["sql"].split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")
    ]
    slowest = max(queries, key=lambda q: q["ms"]) if queries else {"ms": 0.0, "sql": ""}
    counts = next((q["sql"] for q in queries if 'AS "mine"' in q["sql"]), "")
    return {
        "url": url,
        "median_ms": statistics.median(times),
        "p95_ms": _pct(times, 0.95),
        "min_ms": min(times),
        "queries": len(queries),
        "sql_ms": sum(q["ms"] for q in queries),
        "slowest_query_ms": slowest["ms"],
        "slowest_query": slowest["sql"][:4000],
        "counts_query": counts,
        "counts_query_ms": next((q["ms"] for q in queries if q["sql"] == counts), 0.0),
        "bytes": len(response.content),
        "query_heads": [" ".join(q["sql"].split())[:90] for q in queries],
        "_html": response.content.decode(),
    }


def _rows_shown(html: str, page: str) -> int | None:
    """Rows of a queue or search table; entries of a case's timeline; none for the dashboard."""
    if page.startswith("case page"):
        return html.count('<li><p class="meta">')
    if page.startswith("dashboard"):
        return None
    return html.count("<tr>") - 1 if "<tbody>" in html else 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    from amends.cases.actors import actor_for_staff
    from amends.cases.models import Case, Obligation
    from amends.cases.queues import queue_cases, queue_counts
    from amends.core.demo import CODES, DEMO_PROVIDERS
    from amends.providers.models import Role
    from amends.providers.services import code_version_activate, provider_create, staff_create

    now = timezone.now()
    made: dict[str, dict[str, Any]] = {}
    for fields in DEMO_PROVIDERS:
        provider = provider_create(
            slug=fields["slug"],
            name=fields["name"],
            legal_name=fields["legal_name"],
            nation=fields["nation"],
            reference_prefix=fields["reference_prefix"],
            adr_scheme=fields["adr_scheme"],
        )
        version = code_version_activate(
            provider=provider,
            content=(CODES / fields["code"]).read_text(),
            effective_from=date(2024, 1, 1),
            activated_by=None,
            now=now - timedelta(days=800),
        )
        slug = provider.slug
        manager = staff_create(provider=provider, username=f"{slug}-manager", role=Role.MANAGER)
        handlers = [
            staff_create(
                provider=provider,
                username=f"{slug}-case-handler" if i == 0 else f"{slug}-handler-{i}",
                role=Role.CASE_HANDLER,
                manager=manager,
            )
            for i in range(HANDLERS)
        ]
        light = staff_create(
            provider=provider,
            username=f"{slug}-new-handler",
            role=Role.CASE_HANDLER,
            manager=manager,
        )
        made[slug] = {
            "provider": provider,
            "version": version,
            "manager": manager,
            "handlers": handlers,
            "light": light,
        }
    ours, theirs = made["v4voip"], made["iss"]

    log("the long case, through the services ...")
    began = time.perf_counter()
    long = long_case(ours["provider"], ours["manager"], ours["handlers"][0], now, args.events)
    long_seconds = time.perf_counter() - began
    log(f"  {long.reference}: {long.bench_events} events, {long.bench_messages} messages")

    log(f"filling {args.cases:,} + {args.other:,} cases server-side ...")
    began = time.perf_counter()
    for who, count in ((ours, args.cases), (theirs, args.other)):
        fill(
            provider=who["provider"],
            version=who["version"],
            count=count,
            handlers=[m.user_id for m in who["handlers"]],
            now=now,
        )
    # The second case handler: exactly ten open cases (a queue of 10 rows).
    light_cases = list(
        Case.objects.filter(provider=ours["provider"], state="investigating")
        .exclude(pk=long.pk)
        .order_by("pk")
        .values_list("pk", flat=True)[:10]
    )
    Case.objects.filter(pk__in=light_cases).update(handler_id=ours["light"].user_id)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    fill_seconds = time.perf_counter() - began

    provider = ours["provider"]
    cases = Case.objects.filter(provider=provider)
    data = {
        "cases": cases.count(),
        "other_provider_cases": Case.objects.filter(provider=theirs["provider"]).count(),
        "open": cases.exclude(state__in=["closed", "resolved", "remedy_done", "withdrawn"]).count(),
        "by_state": {
            row["state"]: row["n"]
            for row in cases.order_by("state").values("state").annotate(n=Count("pk"))
        },
        "obligations": Obligation.objects.filter(provider=provider).count(),
        "pending_obligations": Obligation.objects.filter(
            provider=provider, state="pending"
        ).count(),
        "breached_obligations": Obligation.objects.filter(
            provider=provider, state="breached"
        ).count(),
        "long_case": {
            "reference": long.reference,
            "events": long.bench_events,
            "messages": long.bench_messages,
            "seconds": round(long_seconds, 1),
        },
        "fill_seconds": round(fill_seconds, 1),
    }
    log(f"  filled in {fill_seconds:.1f} s: {data['open']:,} open of {data['cases']:,}")

    handler_user = User.objects.get(pk=ours["handlers"][0].user_id)
    manager_user = User.objects.get(pk=ours["manager"].user_id)
    light_user = User.objects.get(pk=ours["light"].user_id)
    clients = {}
    for label, user in (
        ("case handler", handler_user),
        ("manager", manager_user),
        ("new case handler (10 cases)", light_user),
    ):
        client = Client()
        client.force_login(user)
        clients[label] = client

    open_case = (
        cases.filter(state="investigating", handler_id=handler_user.pk)
        .exclude(pk=long.pk)
        .order_by("pk")
        .first()
    )
    assert open_case is not None
    pages: list[tuple[str, str, str]] = []
    for who in ("case handler", "manager"):
        pages += [(who, f"queue {name}", f"/staff/?queue={name}") for name in QUEUE_NAMES]
    pages += [
        ("new case handler (10 cases)", "queue mine", "/staff/?queue=mine"),
        ("case handler", "search: a common surname", "/staff/?q=Okafor"),
        ("case handler", "search: a unique name", f"/staff/?q={LONG_NAME.replace(' ', '+')}"),
        ("case handler", "search: a reference", f"/staff/?q={open_case.reference}"),
        ("case handler", f"case page ({data['long_case']['events']} events)", ""),
        ("manager", "dashboard, last 12 months", "/staff/dashboard/"),
    ]
    actors = {
        "case handler": actor_for_staff(handler_user),
        "manager": actor_for_staff(manager_user),
        "new case handler (10 cases)": actor_for_staff(light_user),
    }
    counts = {
        who: queue_counts(a, now=timezone.now(), provider=provider) for who, a in actors.items()
    }
    results: list[dict[str, Any]] = []
    leaked: list[str] = []
    iss_prefix = theirs["provider"].reference_prefix + "-"
    for who, what, url in pages:
        if what.startswith("case page"):
            url = f"/staff/cases/{long.reference}/"
        if url == "/staff/dashboard/":
            status = clients[who].get(url).status_code
            if status == 404:
                log("  no dashboard page: skipped")
                continue
        log(f"  {who}: {what} ...")
        figures = measure_page(clients[who], url, warmup=args.warmup, timed=args.timed)
        html = figures.pop("_html")
        if iss_prefix in html:
            leaked.append(f"{who}: {what}")
        queue = what.removeprefix("queue ") if what.startswith("queue ") else ""
        results.append(
            {
                "who": who,
                "page": what,
                "rows_shown": _rows_shown(html, what),
                "queue_holds": counts[who][queue] if queue else None,
                **figures,
            }
        )

    queue_pages = [r for r in results if r["page"].startswith("queue ")]
    slowest = max(queue_pages, key=lambda r: r["median_ms"])
    name = slowest["page"].removeprefix("queue ")
    rows_qs = queue_cases(actors[slowest["who"]], name, now=timezone.now(), provider=provider)
    plan = rows_qs[:200].explain(analyze=True, buffers=True)
    slowest_sql = max(results, key=lambda r: r["slowest_query_ms"])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["slowest_query"])
        plan_page_slowest = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["counts_query"])
        plan_counts = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    small = [r for r in queue_pages if 0 < r["rows_shown"] <= 15]
    large = [r for r in queue_pages if r["rows_shown"] >= 200]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "command": "python -m benchmarks.console" + (" --write" if args.write else ""),
        "machine": machine(),
        "postgresql": pg,
        "python": platform.python_version(),
        "django": __import__("django").get_version(),
        "git_head": git_head(),
        "settings": {"warmup": args.warmup, "timed": args.timed},
        "data": data,
        "pages": results,
        "constant_queries": {
            "small_queues": {f"{r['who']}: {r['page']}": r["queries"] for r in small},
            "large_queues": {f"{r['who']}: {r['page']}": r["queries"] for r in large},
            "same": len({r["queries"] for r in small + large}) == 1 if small and large else None,
        },
        "other_provider_leaked_into": leaked,
        "slowest_queue": {
            "who": slowest["who"],
            "queue": name,
            "median_ms": slowest["median_ms"],
            "rows_query_plan": plan,
            "slowest_query_sql": slowest["slowest_query"],
            "slowest_query_plan": plan_page_slowest,
            "counts_query_plan": plan_counts,
        },
        "slowest_query_anywhere": {
            "who": slowest_sql["who"],
            "page": slowest_sql["page"],
            "ms": slowest_sql["slowest_query_ms"],
            "sql": slowest_sql["slowest_query"][:1500],
        },
    }


# --------------------------------------------------------------------------- reporting


def machine() -> dict[str, Any]:
    load = ""
    with contextlib.suppress(OSError):
        load = Path("/proc/loadavg").read_text().split()[0]
    return {**shared_machine(), "load_1min_at_end": load}


def git_head() -> str:
    result = subprocess.run(
        ["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


def section(report: dict[str, Any]) -> str:
    m = report["machine"]
    d = report["data"]
    lines = [
        f"Run {report['date']} with `{report['command']}` on commit {report['git_head']}.",
        f"Machine: {m['cpu']}, nproc {m['nproc']}, {m['ram']} RAM (1-minute load average at the"
        f" end: {m['load_1min_at_end']}). PostgreSQL {report['postgresql']} (local, scratch"
        f" database); Python {report['python']}, Django {report['django']}.",
        "",
        f"Data: {d['cases']:,} V4VoIP cases ({d['open']:,} open), {d['other_provider_cases']:,}"
        f" ISS cases; V4VoIP's {d['obligations']:,} clocks: {d['pending_obligations']:,} pending,"
        f" {d['breached_obligations']:,} breached. Open by state: "
        + ", ".join(
            f"{k} {v:,}"
            for k, v in d["by_state"].items()
            if k not in ("closed", "withdrawn", "resolved", "remedy_done")
        )
        + f". Filled in {d['fill_seconds']} s; the long case {d['long_case']['reference']}"
        f" ({d['long_case']['events']} events, {d['long_case']['messages']} messages) made"
        f" through the services in {d['long_case']['seconds']} s.",
        "",
        f"Per page: {report['settings']['warmup']} untimed requests, then"
        f" {report['settings']['timed']} timed (`client.get`, server time in the process), then"
        " one with its SQL captured.",
        "",
        "| signed in as | page | rows shown | queue holds | median ms | p95 ms | SQL queries |"
        " SQL ms | slowest query ms | counts query ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["pages"]:
        holds = f"{r['queue_holds']:,}" if r["queue_holds"] is not None else "-"
        shown = "-" if r["rows_shown"] is None else r["rows_shown"]
        lines.append(
            f"| {r['who']} | {r['page']} | {shown} | {holds} | {r['median_ms']:.1f} |"
            f" {r['p95_ms']:.1f} | {r['queries']} | {r['sql_ms']:.1f} |"
            f" {r['slowest_query_ms']:.1f} |"
            + (f" {r['counts_query_ms']:.1f} |" if r["counts_query"] else " - |")
        )
    c = report["constant_queries"]
    same = {True: "yes", False: "**no**", None: "not measured"}[c["same"]]
    lines += [
        "",
        "SQL queries per queue page the same for a queue of 10 rows and one of 200: "
        + same
        + " ("
        + "; ".join(f"{k}: {v}" for k, v in {**c["small_queues"], **c["large_queues"]}.items())
        + ").",
        "ISS's references on any V4VoIP page: "
        + (", ".join(report["other_provider_leaked_into"]) or "none")
        + ".",
        "",
        f"EXPLAIN (ANALYZE, BUFFERS) of the slowest queue's row query"
        f" ({report['slowest_queue']['who']}, `{report['slowest_queue']['queue']}`,"
        " first 200 rows):",
        "",
        "```",
        report["slowest_queue"]["rows_query_plan"],
        "```",
        "",
        "EXPLAIN (ANALYZE, BUFFERS) of the same page's queue counts (`queue_counts`, one"
        " aggregate over the open cases, run on every queue and search page):",
        "",
        "```",
        report["slowest_queue"]["counts_query_plan"],
        "```",
        "",
    ]
    return "\n".join(lines) + "\n"


def write(text: str) -> None:
    write_block(
        begin=BEGIN,
        end=END,
        heading=HEADING,
        intro=(
            "`python -m benchmarks.console --write` (or `make bench-console`): the console's "
            "queue, search, case and dashboard pages over 100,000 cases of one provider "
            "(and 10,000 of another) in a scratch PostgreSQL database; see the module's "
            "docstring for the data. The block between the markers is rewritten by each run, "
            "the notes after it are kept."
        ),
        text=text,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--other", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=200, help="events of the long case")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--timed", type=int, default=30)
    parser.add_argument("--server", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.cases < 1000 or args.other < 100 or args.timed < 1 or args.warmup < 0:
        parser.error("--cases >= 1000, --other >= 100, --timed >= 1, --warmup >= 0")

    import psycopg

    name = f"amends_bench_console_{uuid.uuid4().hex[:8]}"
    base = args.server.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="amends-bench-console-") as tmp:
            env = {
                "DATABASE_URL": url,
                "AMENDS_VAR_DIR": str(Path(tmp) / "var"),
                "AMENDS_ENV": "local",
                "AMENDS_DEBUG": "0",
                "ALLOWED_HOSTS": "testserver,localhost",
                "LOG_LEVEL": "WARNING",
                "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "DJANGO_SETTINGS_MODULE": "config.settings",
            }
            os.environ.update(env)
            log(f"scratch database {name}: migrating ...")
            subprocess.run(
                [sys.executable, "-m", "amends.cli", "migrate", "-v0"],
                env=dict(os.environ),
                cwd=REPO,
                check=True,
            )
            import django

            django.setup()
            report = run(args)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"scratch database {name} dropped")
    print(json.dumps(report, indent=2, default=str))
    if args.write:
        write(section(report))
        log(f"updated {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
