"""The dashboard's figures: aggregate queries over one provider's cases and clocks.

Every figure is about the cases **first received** in a range of UK (Europe/London) dates, both
days included, and only ever the given provider's. Counting is done by the database: the
figures are a fixed number of queries (six) whatever the number of cases, and the exports are
one query each, read as a stream. No HTTP here: the console shows and downloads what these
return.

Definitions (the dashboard says the same in plain words under each chart):

* **Open cases**: a case in one of :data:`~amends.domain.lifecycle.OPEN_STATES`, by state and
  by kind.
* **Clocks at risk**: a pending clock due after ``now`` and no later than ``risk_until`` (one
  working day from now on the provider's calendar: :func:`amends.cases.queues.risk_horizon`,
  the "At risk" queue's horizon). **Breached**: a clock in the state ``breached``.
* **Resolved within 1, 6 and 8 weeks**: complaints whose customer's acceptance was recorded
  (``resolved_at``) no later than 7, 42 and 56 days (of 24 hours) after first receipt, as a
  share of every complaint received in the range. Still unresolved: no acceptance recorded
  and not withdrawn (a complaint re-opened after acceptance counts as unresolved again).
* **ADR letters by trigger**: complaints with an ADR letter issued, by what issued the first
  one; the **referral rate** is how many of them were referred to the scheme.
* **Median times**: from first receipt to acknowledgement, and to the customer's acceptance,
  over the complaints that have one (with an even count, the mean of the two middle values).
* **Breaches by rule**: breached clocks by the rule they cite (``rule_id``) and their kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet

from amends.cases.models import Case, Obligation
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import OPEN_STATES, State
from amends.domain.obligations import LONDON

_OPEN: Final = [s.value for s in OPEN_STATES]
#: The weeks the resolution shares are counted at (1 week; the ADR point from 8 April 2026;
#: the ADR point before it).
RESOLUTION_WEEKS: Final = (1, 6, 8)
ADR_TRIGGERS: Final = (
    ("time", "Time (the ADR point)"),
    ("deadlock", "Deadlock"),
    ("customer_request", "The customer asked"),
    ("staff", "Issued by staff"),
)
CLOCK_LABELS: Final = {
    "acknowledge": "Acknowledge",
    "introduce_handler": "Introduce the handler",
    "first_response": "First response",
    "agree_updates": "Agree updates",
    "update": "Update",
    "resolve": "Resolve",
    "escalation_review": "Escalation review",
    "adr_letter": "ADR letter",
    "adr_remedy": "ADR remedy",
}


@dataclass(frozen=True)
class Period:
    """UK dates of first receipt, both included."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=LONDON)

    @property
    def end_before(self) -> datetime:
        """Midnight (London) at the start of the day after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=LONDON)

    @classmethod
    def last_12_months(cls, today: date) -> Period:
        try:
            start = today.replace(year=today.year - 1)
        except ValueError:  # 29 February
            start = today.replace(year=today.year - 1, day=28)
        return cls(start + timedelta(days=1), today)


@dataclass(frozen=True)
class Tally:
    """A labelled count (a row of a chart and of its table)."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class ClockCount:
    kind: str
    label: str
    at_risk: int
    breached: int


@dataclass(frozen=True)
class RuleBreaches:
    rule_id: str
    kind: str
    label: str
    count: int


@dataclass(frozen=True)
class Share:
    weeks: int
    resolved: int
    of: int

    @property
    def percent(self) -> float | None:
        return None if not self.of else round(100 * self.resolved / self.of, 1)


@dataclass(frozen=True)
class Figures:
    period: Period
    open_by_state: list[Tally]
    open_by_kind: list[Tally]
    open_total: int
    clocks: list[ClockCount]
    at_risk: int
    breached: int
    complaints: int
    resolved: int
    unresolved: int
    withdrawn: int
    shares: list[Share]
    letters_by_trigger: list[Tally]
    letters: int
    referred: int
    acknowledged: int
    median_acknowledge: timedelta | None
    median_resolve: timedelta | None
    breaches_by_rule: list[RuleBreaches]

    @property
    def referral_percent(self) -> float | None:
        return None if not self.letters else round(100 * self.referred / self.letters, 1)


def cases_received(provider_id: int, period: Period) -> QuerySet[Case]:
    """The provider's cases first received in ``period`` (the base of every figure)."""
    return Case.objects.filter(
        provider_id=provider_id,
        first_received_at__gte=period.start_at,
        first_received_at__lt=period.end_before,
    )


def clocks_received(provider_id: int, period: Period) -> QuerySet[Obligation]:
    """The clocks of the provider's cases first received in ``period``."""
    return Obligation.objects.filter(
        provider_id=provider_id,
        case__first_received_at__gte=period.start_at,
        case__first_received_at__lt=period.end_before,
    )


def _median(rows: QuerySet[Case], start: str, finish: str, count: int) -> timedelta | None:
    """The median of ``finish - start`` over ``count`` rows: one query for the middle one or
    two (ordered by the database), whatever the number of rows."""
    if count == 0:
        return None
    taken = ExpressionWrapper(F(finish) - F(start), output_field=DurationField())
    low = (count - 1) // 2
    middle = list(
        rows.filter(**{f"{finish}__isnull": False})
        .annotate(taken=taken)
        .order_by("taken", "pk")
        .values_list("taken", flat=True)[low : low + 2 - count % 2]
    )
    if not middle:
        return None
    return sum(middle, timedelta()) / len(middle)


def _labelled(counts: dict[str, int], order: Iterable[tuple[str, str]]) -> list[Tally]:
    return [Tally(key, label, counts.get(key, 0)) for key, label in order]


def dashboard_figures(
    *, provider_id: int, period: Period, now: datetime, risk_until: datetime
) -> Figures:
    """The figures for one provider's cases first received in ``period`` (six queries)."""
    cases = cases_received(provider_id, period)

    # 1. Open cases, by state and kind at once.
    by_state: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    for state, kind, n in (
        cases.filter(state__in=_OPEN)
        .values_list("state", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        by_state[state] = by_state.get(state, 0) + n
        by_kind[kind] = by_kind.get(kind, 0) + n
    states = [(s.value, s.label) for s in State if s in OPEN_STATES]
    kinds = [(k.value, k.label) for k in CaseKind]

    # 2. Clocks at risk and breached, by kind.
    clocks = []
    for kind, at_risk, breached in (
        clocks_received(provider_id, period)
        .values_list("kind")
        .annotate(
            at_risk=Count("pk", filter=Q(state="pending", due_at__gt=now, due_at__lte=risk_until)),
            breached=Count("pk", filter=Q(state="breached")),
        )
        .order_by("kind")
    ):
        if at_risk or breached:
            clocks.append(ClockCount(kind, CLOCK_LABELS.get(kind, kind), at_risk, breached))

    # 3. Complaints: resolution shares, ADR letters, referrals, what the medians count.
    complaints = cases.filter(kind=CaseKind.COMPLAINT.value)
    within = {
        f"within_{weeks}": Count(
            "pk",
            filter=Q(
                resolved_at__isnull=False,
                resolved_at__lte=F("first_received_at") + timedelta(days=7 * weeks),
            ),
        )
        for weeks in RESOLUTION_WEEKS
    }
    triggers = {
        f"trigger_{key}": Count(
            "pk", filter=Q(adr_letter_issued_at__isnull=False, adr_letter_trigger=key)
        )
        for key, _ in ADR_TRIGGERS
    }
    totals = complaints.aggregate(
        total=Count("pk"),
        resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
        unresolved=Count("pk", filter=Q(resolved_at__isnull=True) & ~Q(state="withdrawn")),
        withdrawn=Count("pk", filter=Q(resolved_at__isnull=True, state="withdrawn")),
        letters=Count("pk", filter=Q(adr_letter_issued_at__isnull=False)),
        referred=Count(
            "pk", filter=Q(adr_letter_issued_at__isnull=False, referred_at__isnull=False)
        ),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        **within,
        **triggers,
    )
    total = int(totals["total"])

    # 4, 5. Medians (one query each).
    median_ack = _median(
        complaints, "first_received_at", "acknowledged_at", int(totals["acknowledged"])
    )
    median_resolve = _median(
        complaints, "first_received_at", "resolved_at", int(totals["resolved"])
    )

    # 6. Breaches by rule.
    rules = [
        RuleBreaches(
            rule_id,
            kind,
            f"{rule_id or 'no rule'}: {CLOCK_LABELS.get(kind, kind)}",
            n,
        )
        for rule_id, kind, n in (
            clocks_received(provider_id, period)
            .filter(state="breached")
            .values_list("rule_id", "kind")
            .annotate(n=Count("pk"))
            .order_by("-n", "rule_id", "kind")
        )
    ]

    return Figures(
        period=period,
        open_by_state=_labelled(by_state, states),
        open_by_kind=_labelled(by_kind, kinds),
        open_total=sum(by_state.values()),
        clocks=clocks,
        at_risk=sum(c.at_risk for c in clocks),
        breached=sum(c.breached for c in clocks),
        complaints=total,
        resolved=int(totals["resolved"]),
        unresolved=int(totals["unresolved"]),
        withdrawn=int(totals["withdrawn"]),
        shares=[Share(w, int(totals[f"within_{w}"]), total) for w in RESOLUTION_WEEKS],
        letters_by_trigger=[
            Tally(key, label, int(totals[f"trigger_{key}"])) for key, label in ADR_TRIGGERS
        ],
        letters=int(totals["letters"]),
        referred=int(totals["referred"]),
        acknowledged=int(totals["acknowledged"]),
        median_acknowledge=median_ack,
        median_resolve=median_resolve,
        breaches_by_rule=rules,
    )


#: The cases export: (heading, field) in order. Customer names are the provider's own data,
#: for its own staff; nothing else about the customer is exported.
CASE_COLUMNS: Final = (
    ("Case id", "pk"),
    ("Reference", "reference"),
    ("Kind", "kind"),
    ("State", "state"),
    ("Channel", "channel"),
    ("First received (UTC)", "first_received_at"),
    ("Acknowledged (UTC)", "acknowledged_at"),
    ("Resolved (UTC)", "resolved_at"),
    ("Closed (UTC)", "closed_at"),
    ("Withdrawn (UTC)", "withdrawn_at"),
    ("ADR letter issued (UTC)", "adr_letter_issued_at"),
    ("ADR letter trigger", "adr_letter_trigger"),
    ("Referred to the scheme (UTC)", "referred_at"),
    ("Escalation level", "escalation_level"),
    ("Handler id", "handler_id"),
    ("Customer id", "customer_id"),
    ("Customer name", "customer__contact_name"),
    ("Business name", "customer__business_name"),
)
CLOCK_COLUMNS: Final = (
    ("Clock id", "pk"),
    ("Case id", "case_id"),
    ("Case reference", "case__reference"),
    ("Kind", "kind"),
    ("Rule", "rule_id"),
    ("Origin", "origin"),
    ("State", "state"),
    ("Due (UTC)", "due_at"),
    ("Met (UTC)", "met_at"),
    ("Acted on (UTC)", "acted_at"),
)


def cases_for_export(provider_id: int, period: Period) -> QuerySet[Case, tuple[Any, ...]]:
    """One row per case first received in ``period``, oldest first (columns: CASE_COLUMNS)."""
    return (
        cases_received(provider_id, period)
        .order_by("first_received_at", "pk")
        .values_list(*(name for _, name in CASE_COLUMNS))
    )


def clocks_for_export(provider_id: int, period: Period) -> QuerySet[Obligation, tuple[Any, ...]]:
    """One row per clock of those cases, by case then due time (columns: CLOCK_COLUMNS)."""
    return (
        clocks_received(provider_id, period)
        .order_by("case__first_received_at", "case_id", "due_at", "pk")
        .values_list(*(name for _, name in CLOCK_COLUMNS))
    )


__all__ = [
    "ADR_TRIGGERS",
    "CASE_COLUMNS",
    "CLOCK_COLUMNS",
    "CLOCK_LABELS",
    "Figures",
    "Period",
    "cases_for_export",
    "cases_received",
    "clocks_for_export",
    "clocks_received",
    "dashboard_figures",
]
