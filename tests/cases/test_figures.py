"""The dashboard's figures (amends.cases.figures): given a known set of cases made through the
typed services, the figures equal what the test counts itself, row by row; another provider's
cases and cases received outside the dates are never counted; the number of queries does not
grow with the number of cases."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amends.cases.figures import Figures, Period, dashboard_figures
from amends.cases.models import Case, Obligation
from amends.cases.worker import obligation_sweep
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import OPEN_STATES
from amends.domain.lifecycle import Action as A
from tests.cases.conftest import World, london

JUNE = Period(date(2026, 6, 1), date(2026, 6, 30))
NOW = london(2026, 6, 25, 10)
RISK_UNTIL = london(2026, 6, 26, 10)


def expected(provider_id: int, period: Period, now: datetime, risk_until: datetime) -> Any:
    """The figures counted in Python from the rows, without the module's queries."""
    start = datetime.combine(period.start, datetime.min.time(), tzinfo=london(2026, 1, 1).tzinfo)
    end = datetime.combine(
        period.end + timedelta(days=1), datetime.min.time(), tzinfo=london(2026, 1, 1).tzinfo
    )
    cases = [
        c
        for c in Case.objects.filter(provider_id=provider_id)
        if start <= c.first_received_at < end
    ]
    ids = {c.pk for c in cases}
    clocks = [o for o in Obligation.objects.filter(provider_id=provider_id) if o.case_id in ids]
    opened = [c for c in cases if c.state in {s.value for s in OPEN_STATES}]
    complaints = [c for c in cases if c.kind == "complaint"]
    taken = [c.resolved_at - c.first_received_at for c in complaints if c.resolved_at]
    acks = [c.acknowledged_at - c.first_received_at for c in complaints if c.acknowledged_at]
    letters = [c for c in complaints if c.adr_letter_issued_at]
    return {
        "open_by_state": Counter(c.state for c in opened),
        "open_by_kind": Counter(c.kind for c in opened),
        "at_risk": sum(1 for o in clocks if o.state == "pending" and now < o.due_at <= risk_until),
        "breached": sum(1 for o in clocks if o.state == "breached"),
        "complaints": len(complaints),
        "within": {w: sum(1 for t in taken if t <= timedelta(days=7 * w)) for w in (1, 6, 8)},
        "resolved": len(taken),
        "unresolved": sum(1 for c in complaints if not c.resolved_at and c.state != "withdrawn"),
        "withdrawn": sum(1 for c in complaints if not c.resolved_at and c.state == "withdrawn"),
        "letters": Counter(c.adr_letter_trigger for c in letters),
        "referred": sum(1 for c in letters if c.referred_at),
        "median_ack": statistics.median(acks) if acks else None,
        "median_resolve": statistics.median(taken) if taken else None,
        "breaches": Counter((o.rule_id, o.kind) for o in clocks if o.state == "breached"),
    }


def assert_figures_match(figures: Figures, want: Any) -> None:
    assert {t.key: t.count for t in figures.open_by_state if t.count} == dict(want["open_by_state"])
    assert {t.key: t.count for t in figures.open_by_kind if t.count} == dict(want["open_by_kind"])
    assert figures.open_total == sum(want["open_by_state"].values())
    assert figures.at_risk == want["at_risk"]
    assert figures.breached == want["breached"]
    assert figures.complaints == want["complaints"]
    assert {s.weeks: s.resolved for s in figures.shares} == want["within"]
    assert all(s.of == want["complaints"] for s in figures.shares)
    assert figures.resolved == want["resolved"]
    assert figures.unresolved == want["unresolved"]
    assert figures.withdrawn == want["withdrawn"]
    assert {t.key: t.count for t in figures.letters_by_trigger if t.count} == dict(want["letters"])
    assert figures.letters == sum(want["letters"].values())
    assert figures.referred == want["referred"]
    assert figures.median_acknowledge == want["median_ack"]
    assert figures.median_resolve == want["median_resolve"]
    assert {(b.rule_id, b.kind): b.count for b in figures.breaches_by_rule} == dict(
        want["breaches"]
    )


def figures_for(world: World, period: Period = JUNE) -> Figures:
    return dashboard_figures(
        provider_id=world.provider.pk, period=period, now=NOW, risk_until=RISK_UNTIL
    )


@pytest.fixture
def known(v4voip: World, iss: World) -> dict[str, Case]:
    """Complaints with known outcomes, in time order (every service call moves forward)."""
    w = v4voip

    c: dict[str, Case] = {}
    c["before"] = w.open(london(2026, 5, 31, 23, 30))  # the day before the dates: not counted
    c["a"] = w.open(london(2026, 6, 1, 9))
    w.act(c["a"], A.ACKNOWLEDGE, london(2026, 6, 1, 10))  # 1 hour
    c["b"] = w.open(london(2026, 6, 2, 9))
    w.act(c["a"], A.INVESTIGATE, london(2026, 6, 2, 9, 30))
    w.act(c["a"], A.PROPOSE_RESOLUTION, london(2026, 6, 2, 10))
    w.act(c["b"], A.ACKNOWLEDGE, london(2026, 6, 2, 12))  # 3 hours
    c["c"] = w.open(london(2026, 6, 3, 9))
    w.act(c["a"], A.ACCEPT_RESOLUTION, london(2026, 6, 3, 9))  # resolved after 2 days
    c["d"] = w.open(london(2026, 6, 3, 10))  # never acknowledged: its clock breaches
    w.act(c["c"], A.ACKNOWLEDGE, london(2026, 6, 4, 9))  # 24 hours
    c["e"] = w.open(london(2026, 6, 5, 9))
    w.act(c["e"], A.ACKNOWLEDGE, london(2026, 6, 5, 10))  # 1 hour
    c["f"] = w.open(london(2026, 6, 6, 9))
    c["g"] = w.open(london(2026, 6, 7, 9))
    c["q"] = w.open(london(2026, 6, 8, 9), kind=CaseKind.ACCOUNT_QUERY)
    w.act(c["f"], A.REQUEST_ADR_LETTER, london(2026, 6, 8, 10))
    w.act(c["g"], A.WITHDRAW, london(2026, 6, 8, 11))
    w.act(c["e"], A.INVESTIGATE, london(2026, 6, 9, 9))
    w.act(c["e"], A.DECLARE_DEADLOCK, london(2026, 6, 10, 9))
    w.act(c["f"], A.REFER_TO_SCHEME, london(2026, 6, 12, 9))
    # The worker: the resolution targets of b, c and d ran out (breached, escalated).
    obligation_sweep(london(2026, 6, 18, 12))
    w.act(c["b"], A.PROPOSE_RESOLUTION, london(2026, 6, 20, 9))
    w.act(c["b"], A.ACCEPT_RESOLUTION, london(2026, 6, 22, 9))  # 20 days
    c["last"] = w.open(london(2026, 6, 30, 23, 30))  # the last day: counted
    c["after"] = w.open(london(2026, 7, 1, 0, 0))  # the day after: not counted
    w.act(c["c"], A.PROPOSE_RESOLUTION, london(2026, 7, 18, 9))
    w.act(c["c"], A.ACCEPT_RESOLUTION, london(2026, 7, 20, 9))  # 47 days
    # Another provider's complaint in the same dates, acknowledged, resolved, with a letter.
    other = iss.open(london(2026, 6, 2, 9))
    iss.act(other, A.REQUEST_ADR_LETTER, london(2026, 6, 3, 9))
    return {k: Case.objects.get(pk=v.pk) for k, v in c.items()}


def test_figures_equal_what_the_rows_say_for_a_known_set(
    known: dict[str, Case], v4voip: World
) -> None:
    figures = figures_for(v4voip)
    assert_figures_match(figures, expected(v4voip.provider.pk, JUNE, NOW, RISK_UNTIL))


def test_known_set_by_hand(known: dict[str, Case], v4voip: World) -> None:
    figures = figures_for(v4voip)
    # a, b, c, d, e, f, g, last (not "before", "after" or the query)
    assert figures.complaints == 8
    assert {s.weeks: s.resolved for s in figures.shares} == {1: 1, 6: 2, 8: 3}
    assert figures.resolved == 3
    assert figures.withdrawn == 1  # g
    assert figures.unresolved == 4  # d, e, f, last
    letters = {t.key: t.count for t in figures.letters_by_trigger}
    assert letters == {"time": 0, "deadlock": 1, "customer_request": 1, "staff": 0}
    assert figures.referred == 1 and figures.referral_percent == 50.0
    # Acknowledged after 1 h (a), 3 h (b), 24 h (c), 1 h (e); the deadlock case's letter and
    # the request do not acknowledge. Median of 1, 1, 3, 24 hours: 2 hours.
    assert figures.acknowledged == 4
    assert figures.median_acknowledge == timedelta(hours=2)
    # Resolved after 2, 20 and 47 days: the median is 20 days.
    assert figures.median_resolve == timedelta(days=20)
    breaches = {b.kind: b.count for b in figures.breaches_by_rule}
    assert breaches.get("resolve") == 3  # b, c and d missed the code's resolution target
    assert figures.breached == sum(breaches.values())
    by_kind = {t.key: t.count for t in figures.open_by_kind if t.count}
    assert by_kind.get("account_query") == 1


def test_another_providers_cases_are_never_counted(known: dict[str, Case], iss: World) -> None:
    figures = figures_for(iss)
    assert figures.complaints == 1
    assert figures.letters == 1
    assert_figures_match(figures, expected(iss.provider.pk, JUNE, NOW, RISK_UNTIL))


def test_the_dates_choose_the_cases(known: dict[str, Case], v4voip: World) -> None:
    one_day = Period(date(2026, 7, 1), date(2026, 7, 1))
    figures = figures_for(v4voip, one_day)
    assert figures.complaints == 1  # "after", received at midnight London time
    may = figures_for(v4voip, Period(date(2026, 5, 31), date(2026, 5, 31)))
    assert may.complaints == 1  # "before", 23:30 London time (22:30 UTC)
    nothing = figures_for(v4voip, Period(date(2025, 1, 1), date(2025, 12, 31)))
    assert nothing.complaints == 0 and nothing.median_resolve is None
    assert all(s.percent is None for s in nothing.shares)


def test_at_risk_counts_pending_clocks_due_within_the_horizon(v4voip: World) -> None:
    case = v4voip.open(london(2026, 6, 1, 9))
    pending = Obligation.objects.filter(case=case, state="pending").order_by("due_at")
    first = pending.first()
    assert first is not None
    figures = dashboard_figures(
        provider_id=v4voip.provider.pk,
        period=JUNE,
        now=first.due_at - timedelta(minutes=1),
        risk_until=first.due_at,
    )
    assert figures.at_risk == pending.filter(due_at=first.due_at).count()
    later = dashboard_figures(
        provider_id=v4voip.provider.pk, period=JUNE, now=first.due_at, risk_until=first.due_at
    )
    assert later.at_risk == 0  # due "on or before": at the instant itself it is not ahead


def test_the_number_of_queries_does_not_grow_with_the_cases(v4voip: World) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            figures_for(v4voip)
        return len(captured.captured_queries)

    def resolved_case(day: int) -> None:
        case = v4voip.open(london(2026, 6, day, 9))
        v4voip.act(case, A.ACKNOWLEDGE, london(2026, 6, day, 10))
        v4voip.act(case, A.INVESTIGATE, london(2026, 6, day, 11))
        v4voip.act(case, A.PROPOSE_RESOLUTION, london(2026, 6, day, 12))
        v4voip.act(case, A.ACCEPT_RESOLUTION, london(2026, 6, day, 13))

    resolved_case(1)
    few = queries()
    for day in range(2, 16):
        resolved_case(day)
    assert queries() == few == 6
