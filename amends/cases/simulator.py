"""Synthetic customers and handlers, run through the real services and the real worker.

Time is virtual: the simulator passes ``now`` to every service and to the worker's sweep, and
it wakes the worker at every obligation's due time (a worker polling every few seconds, as
``amends worker`` does), so the figures say what a provider's real team would see. The report
is computed afterwards **from the database**, never from the simulator's own counters.

The behaviour model (every number below is a planning assumption; change them here):

* Arrivals: ``complaints`` spread over ``days``; 75 % in working hours, the rest evenings and
  weekends; channels phone 45 %, email 30 %, web form 12 %, post 8 %, account manager 3 %,
  fax 1 %, textphone 1 %. 5 % first arrive as account queries and become complaints later.
* Outcomes: 45 % resolved quickly, 15 % escalated then resolved, 10 % deadlock, 18 % slow
  (still unresolved at the ADR point), 5 % withdrawn, 7 % slow with a customer asking for the
  ADR letter. 10 % of proposed resolutions are rejected once.
* Handlers: each does one thing at a time, only in the provider's working hours; work waits
  for a free handler. Effort per action is a few minutes to an hour (``EFFORT``).
"""

from __future__ import annotations

import heapq
import itertools
import random
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count

from amends.cases.actions import case_open, customer_create
from amends.cases.actors import Actor, customer_actor, staff_actor
from amends.cases.errors import CaseError
from amends.cases.events import audit_verify
from amends.cases.models import Case, Customer, Event, Obligation
from amends.cases.scripted import perform
from amends.cases.worker import obligation_sweep
from amends.comms.models import OutboxMessage
from amends.domain.access import Role
from amends.domain.calendar import BusinessCalendar
from amends.domain.codes import CaseKind, ChannelType, Nation
from amends.domain.lifecycle import Action
from amends.providers.models import Provider
from amends.providers.services import code_of, code_version_activate, provider_create, staff_create

CHANNELS = [
    (ChannelType.PHONE, 45),
    (ChannelType.EMAIL, 30),
    (ChannelType.WEB_FORM, 12),
    (ChannelType.POST, 8),
    (ChannelType.ACCOUNT_MANAGER, 3),
    (ChannelType.FAX, 1),
    (ChannelType.TEXTPHONE, 1),
]
OUTCOMES = [
    ("quick", 45),
    ("escalated", 15),
    ("deadlock", 10),
    ("slow", 18),
    ("withdrawn", 5),
    ("requests_letter", 7),
]
#: Handler minutes per action.
EFFORT = {
    Action.ACKNOWLEDGE: 5,
    Action.ASSIGN: 2,
    Action.INTRODUCE_HANDLER: 10,
    Action.INVESTIGATE: 45,
    Action.RECORD_UPDATE: 10,
    Action.ESCALATE: 20,
    Action.PROPOSE_RESOLUTION: 30,
    Action.DECLARE_DEADLOCK: 30,
    Action.CLOSE: 5,
    Action.CONVERT_TO_COMPLAINT: 5,
    Action.AGREE_UPDATES: 5,
}
#: A worker wakes this long after a clock's due instant (due means "on or before", so the
#: worker acts once the instant has passed). The invariants allow exactly this lag.
SWEEP_LAG = timedelta(seconds=1)


@dataclass(frozen=True)
class SimulationConfig:
    code_text: str
    code_name: str
    complaints: int
    days: int
    handlers: int = 3
    seed: int = 1
    start: datetime = datetime.fromisoformat("2026-05-04T00:00:00+01:00")
    #: Give every customer an email address (reserved .invalid domain), so the messages of
    #: the story go to the outbox as emails (without one they are call tasks for staff).
    emails: bool = False


@dataclass(order=True)
class _Step:
    at: datetime
    order: int
    run: Callable[[datetime], None] = field(compare=False)


class Simulation:
    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.queue: list[_Step] = []
        self.counter = itertools.count()
        self.refused = Counter[str]()
        #: Bumped by every write, so the loop re-reads the next due clock only after one.
        self.changes = 0
        self.end = config.start + timedelta(days=config.days)

    # -- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        start = self.config.start
        self.provider = provider_create(
            slug="sim",
            name="Simulated provider",
            nation=Nation.ENGLAND_AND_WALES,
            reference_prefix="SIM",
            adr_scheme="communications-ombudsman",
            alerts_email="team@sim.example.invalid",
        )
        version = code_version_activate(
            provider=self.provider,
            content=self.config.code_text,
            effective_from=start.date() - timedelta(days=3650),
            activated_by=None,
            now=start,
        )
        _, self.calendar = code_of(version, self.provider)
        manager_member = staff_create(
            provider=self.provider, username="sim-manager", role=Role.MANAGER
        )
        self.handlers: list[User] = []
        self.actors: dict[int, Actor] = {}
        self.free_at: dict[int, datetime] = {}
        for n in range(self.config.handlers):
            member = staff_create(
                provider=self.provider,
                username=f"sim-handler-{n + 1}",
                role=Role.CASE_HANDLER,
                manager=manager_member,
            )
            self.handlers.append(member.user)
            self.actors[member.user_id] = staff_actor(member)
            self.free_at[member.user_id] = start

    # -- scheduling ------------------------------------------------------------------------

    def at(self, when: datetime, run: Callable[[datetime], None]) -> None:
        # In UTC: Python orders two Europe/London datetimes by wall time, ignoring fold, so
        # steps in the repeated autumn hour would run out of order.
        heapq.heappush(self.queue, _Step(when.astimezone(UTC), next(self.counter), run))

    def working_hours_later(self, when: datetime, low: float, high: float) -> datetime:
        hours = self.rng.uniform(low, high)
        return self.calendar.add_working_time(when, timedelta(hours=hours))

    def handler_does(
        self,
        case_id: int,
        handler: User,
        action: Action,
        when: datetime,
        then: Callable[[datetime], None] | None = None,
        **details: Any,
    ) -> None:
        """Queue ``action`` for ``handler`` at ``when`` or when they are next free."""

        def run(now: datetime) -> None:
            start = max(now, self.free_at[handler.pk])
            if not self.calendar.is_working_time(start):
                start = self.calendar.add_working_time(start, timedelta(0))
            if start > now:
                self.at(start, run)
                return
            done = self.calendar.add_working_time(now, timedelta(minutes=EFFORT.get(action, 10)))
            self.free_at[handler.pk] = done
            if self.transition(case_id, action, done, self.actors[handler.pk], details) and then:
                then(done)

        self.at(when, run)

    def customer_does(
        self,
        case_id: int,
        action: Action,
        when: datetime,
        then: Callable[[datetime], None] | None = None,
        **details: Any,
    ) -> None:
        def run(now: datetime) -> None:
            actor = customer_actor(provider_id=self.provider.pk, case_id=case_id, channel="phone")
            if self.transition(case_id, action, now, actor, details) and then:
                then(now)

        self.at(when, run)

    def transition(
        self, case_id: int, action: Action, now: datetime, actor: Actor, details: dict[str, Any]
    ) -> bool:
        self.changes += 1
        try:
            perform(action, case_id=case_id, actor=actor, now=now, **details)
        except CaseError:
            # The case moved on meanwhile (the worker escalated it or issued the letter).
            self.refused[action.value] += 1
            return False
        return True

    # -- the behaviour model -----------------------------------------------------------------

    def arrival_times(self) -> list[datetime]:
        times: list[datetime] = []
        span = self.end - self.config.start
        while len(times) < self.config.complaints:
            t = self.config.start + span * self.rng.random()
            t = t.replace(second=0, microsecond=0)
            in_hours = self.calendar.is_working_time(t)
            if in_hours or self.rng.random() < 0.12:  # about 3 in 4 arrive in working hours
                times.append(t)
        return sorted(times)

    def arrive(self, first_received: datetime, number: int) -> None:
        rng = self.rng
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        handler = self.handlers[number % len(self.handlers)]
        as_query = rng.random() < 0.05
        if channel in (ChannelType.PHONE, ChannelType.TEXTPHONE):
            entered = first_received
        else:  # post, email, forms: read when someone is next at work
            entered = self.working_hours_later(first_received, 0.1, 4)

        def open_case(now: datetime) -> None:
            self.changes += 1
            customer = customer_create(
                provider=self.provider,
                now=now,
                contact_name=f"Customer {number}",
                business_name=f"Business {number} Ltd",
                email=f"customer{number}@sim.example.invalid" if self.config.emails else "",
            )
            case = case_open(
                provider=self.provider,
                customer=customer,
                kind=CaseKind.ACCOUNT_QUERY if as_query else CaseKind.COMPLAINT,
                channel=channel,
                first_received_at=first_received,
                now=now,
                summary=f"Synthetic case {number}",
                actor=self.actors[handler.pk],
                first_received_note="" if now == first_received else f"arrived by {channel}",
            )
            self.plan(case.pk, handler, outcome, now, as_query)

        self.at(entered, open_case)

    def plan(self, case_id: int, handler: User, outcome: str, now: datetime, query: bool) -> None:
        later = self.working_hours_later
        step = self.handler_does

        def after_intro(t: datetime) -> None:
            step(case_id, handler, Action.INVESTIGATE, t, then=after_investigation)
            if outcome not in ("quick", "withdrawn"):
                # Not resolved in the first days: agree when the customer hears from us.
                step(
                    case_id,
                    handler,
                    Action.AGREE_UPDATES,
                    later(t, 4, 20),
                    interval="5 working days",
                )

        def after_investigation(t: datetime) -> None:
            if outcome == "quick":
                propose(later(t, 1, 30))
            elif outcome == "escalated":
                step(
                    case_id,
                    handler,
                    Action.ESCALATE,
                    later(t, 8, 40),
                    then=lambda t2: propose(later(t2, 16, 80)),
                    reason="customer asked",
                )
            elif outcome == "deadlock":
                step(
                    case_id,
                    handler,
                    Action.DECLARE_DEADLOCK,
                    later(t, 40, 150),
                    final_position="No fault found on our network",
                )
            elif outcome == "withdrawn":
                self.customer_does(
                    case_id, Action.WITHDRAW, t + timedelta(hours=self.rng.uniform(10, 60))
                )
            else:  # slow, requests_letter
                updates(t, 6)
                if outcome == "requests_letter":
                    self.customer_does(
                        case_id,
                        Action.REQUEST_ADR_LETTER,
                        t + timedelta(hours=self.rng.uniform(50, 400)),
                    )
                propose(later(t, 250, 450))

        def updates(t: datetime, left: int) -> None:
            if left:
                step(
                    case_id,
                    handler,
                    Action.RECORD_UPDATE,
                    later(t, 25, 45),
                    then=lambda t2: updates(t2, left - 1),
                    channel="phone",
                )

        def propose(t: datetime) -> None:
            step(
                case_id,
                handler,
                Action.PROPOSE_RESOLUTION,
                t,
                then=customer_answers,
                proposal="We will put it right and credit your invoice.",
            )

        def customer_answers(t: datetime) -> None:
            reply = t + timedelta(hours=self.rng.uniform(2, 48))
            if self.rng.random() < 0.1:
                self.customer_does(
                    case_id,
                    Action.REJECT_RESOLUTION,
                    reply,
                    then=lambda t2: propose(later(t2, 8, 40)),
                )
            else:
                self.customer_does(
                    case_id,
                    Action.ACCEPT_RESOLUTION,
                    reply,
                    then=lambda t2: step(case_id, handler, Action.CLOSE, later(t2, 0.5, 8)),
                )

        first = later(now, 0, 6)
        if query:
            step(
                case_id,
                handler,
                Action.CONVERT_TO_COMPLAINT,
                later(now, 1, 16),
                reason="the customer is unhappy with the answer",
            )
        step(case_id, handler, Action.ACKNOWLEDGE, first)
        step(case_id, handler, Action.ASSIGN, first, handler_id=handler.pk)
        step(case_id, handler, Action.INTRODUCE_HANDLER, later(first, 1, 14), then=after_intro)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        self.setup()
        for number, t in enumerate(self.arrival_times(), start=1):
            self.arrive(t, number)
        pending = Obligation.objects.filter(state="pending").order_by("due_at")
        changes = self.changes
        next_due = None
        while True:
            if changes != self.changes or next_due is None:
                # ORDER BY due_at LIMIT 1 reads one entry of the partial index (SQLite scans
                # the whole index for MIN() with a WHERE clause).
                next_due = pending.values_list("due_at", flat=True).first()
                changes = self.changes
            wake = next_due + SWEEP_LAG if next_due is not None else None
            next_step = self.queue[0].at if self.queue else None
            candidates = [t for t in (next_step, wake) if t is not None]
            if not candidates or min(candidates) > self.end:
                break
            now = min(candidates)
            if wake is not None and wake <= now:
                while obligation_sweep(now) > 0:
                    pass
                self.changes += 1
                continue
            heapq.heappop(self.queue).run(now)


# ---------------------------------------------------------------------------- the report


def _hours(deltas: list[timedelta]) -> tuple[float | None, float | None]:
    values = sorted(d.total_seconds() / 3600 for d in deltas)
    if not values:
        return None, None
    median = statistics.median(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return round(median, 1), round(p95, 1)


def report(provider: Provider, *, end: datetime, calendar: BusinessCalendar) -> dict[str, Any]:
    """Figures and invariant checks, all read from the database."""
    complaints = Case.objects.filter(provider=provider, kind="complaint")
    obligations: dict[str, Any] = {}
    rows = Obligation.objects.filter(provider=provider).select_related("case")
    by_kind: dict[str, list[Obligation]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    for kind, items in sorted(by_kind.items()):
        states = Counter(row.state for row in items)
        taken = [row.met_at - row.case.first_received_at for row in items if row.met_at]
        median, p95 = _hours(taken)
        obligations[kind] = {
            "met": states["met"],
            "done": states["done"],
            "breached": states["breached"],
            "pending": states["pending"],
            "cancelled": states["cancelled"],
            "median_hours_from_first_receipt": median,
            "p95_hours_from_first_receipt": p95,
        }
    letters = OutboxMessage.objects.filter(provider=provider, kind="adr_letter")
    by_trigger = Counter(letters.values_list("payload__trigger", flat=True))

    invariants: dict[str, Any] = {}
    closed_badly = complaints.filter(
        state="closed", resolved_at__isnull=True, adr_letter_issued_at__isnull=True
    ).count()
    invariants["no_complaint_closed_without_acceptance_or_adr_letter"] = {
        "ok": closed_badly == 0,
        "violations": closed_badly,
    }

    # Each fact checked against the row that proves it: a case that says it had an ADR
    # letter has a letter in the outbox, written when the case says it was issued.
    letter_cases = set(letters.values_list("case_id", flat=True))
    claimed = complaints.filter(adr_letter_issued_at__isnull=False)
    unproven = [c.reference for c in claimed.only("reference", "pk") if c.pk not in letter_cases]
    invariants["every_issued_adr_letter_is_in_the_outbox"] = {
        "ok": not unproven,
        "checked": claimed.count(),
        "violations": unproven[:20],
    }

    # Every complaint still unresolved at its ADR point has exactly one letter written no
    # later than the worker's lag after its due *instant* (not its date), and none has a
    # second letter for the same trigger.
    wrong: list[str] = []
    due_rows = Obligation.objects.filter(provider=provider, kind="adr_letter", due_at__lte=end)
    first_letter: dict[int, list[datetime]] = {}
    for case_id, created in letters.values_list("case_id", "created_at"):
        first_letter.setdefault(case_id, []).append(created)
    for row in due_rows.select_related("case"):
        case = row.case
        unresolved_at_due = case.resolved_at is None or case.resolved_at > row.due_at
        withdrawn_before = case.withdrawn_at is not None and case.withdrawn_at <= row.due_at
        if not unresolved_at_due or withdrawn_before:
            continue
        on_time = [t for t in first_letter.get(case.pk, []) if t <= row.due_at + SWEEP_LAG]
        if len(on_time) != 1:
            wrong.append(case.reference)
    invariants["one_adr_letter_by_the_adr_point"] = {
        "ok": not wrong,
        "checked": due_rows.count(),
        "violations": wrong[:20],
    }

    # No clock is left pending once its due instant has passed (beyond the worker's lag).
    stale = Obligation.objects.filter(
        provider=provider, state="pending", due_at__lt=end - SWEEP_LAG
    ).count()
    invariants["no_clock_left_pending_past_due"] = {"ok": stale == 0, "violations": stale}

    # Every breach has its event and its notice to staff.
    breached = list(
        Obligation.objects.filter(provider=provider, state="breached").values_list(
            "pk", "key", "case_id"
        )
    )
    notices = set(
        OutboxMessage.objects.filter(provider=provider, kind="breach_notice").values_list(
            "key", flat=True
        )
    )
    breach_events = set(
        Event.objects.filter(provider=provider, kind="obligation_breached").values_list(
            "case_id", "data__obligation"
        )
    )
    unnoticed = [pk for pk, _, _ in breached if f"obligation:{pk}:breach_notice" not in notices]
    unrecorded = [pk for pk, key, case_id in breached if (case_id, key) not in breach_events]
    invariants["every_breach_has_its_event_and_notice"] = {
        "ok": not unnoticed and not unrecorded,
        "checked": len(breached),
        "without_notice": unnoticed[:20],
        "without_event": unrecorded[:20],
    }

    # Exactly once: at most one time letter per case, one outbox letter per issuing event,
    # and at most one breach event per obligation.
    doubled = (
        letters.filter(payload__trigger="time")
        .values("case")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    issued = Counter(
        Event.objects.filter(provider=provider, kind="issue_adr_letter").values_list(
            "case_id", flat=True
        )
    )
    written = Counter(letters.values_list("case_id", flat=True))
    unwritten = sum(1 for case_id, n in issued.items() if written.get(case_id, 0) != n)
    doubled_breaches = (
        Event.objects.filter(provider=provider, kind="obligation_breached")
        .values("case", "data__obligation")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    invariants["no_duplicate_effect"] = {
        "ok": doubled == 0 and doubled_breaches == 0 and unwritten == 0,
        "doubled_time_letters": doubled,
        "letters_not_matching_their_events": unwritten,
        "doubled_breaches": doubled_breaches,
    }
    chain = audit_verify(provider_id=provider.pk)
    invariants["audit_chain_verifies"] = {
        "ok": chain.broken is None,
        "events": chain.checked,
        "broken_at": chain.broken.sequence if chain.broken else None,
    }

    states = Counter(complaints.values_list("state", flat=True))
    return {
        "complaints": complaints.count(),
        "customers": Customer.objects.filter(provider=provider).count(),
        "states": dict(sorted(states.items())),
        "obligations": obligations,
        "adr_letters": {"total": letters.count(), "by_trigger": dict(sorted(by_trigger.items()))},
        "invariants": invariants,
        "ok": all(item["ok"] for item in invariants.values()),
    }
