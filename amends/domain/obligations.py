"""Facts + promises in force + calendar -> the clocks a case has, and when each is due.

:func:`derive` is pure and total: given what has happened on a case (:class:`ClockFacts`), the
promises in force for it (``regulation.promises_in_force``: the stricter of the code and the
law on the date of first receipt) and the provider's calendar, it returns every obligation the
case has ever had, each keyed so that the service can reconcile it with the stored rows:

* ``met``: the meeting event happened (``met_at``); when ``met_at`` is after ``due_at`` the
  service leaves the row to the worker, which records the breach (late is not on time);
* ``pending``: still owed; the worker acts on it when ``due_at`` passes (:data:`ACTIONS`);
* ``cancelled``: no longer owed (the customer accepted a resolution, withdrew, or the provider's
  final position made a target moot).

Clocks count from **first receipt** (never from entry, re-opening or conversion into a
complaint; regulatory.md, "impossible to get wrong" §4), from an escalation (review aims), or
from the customer's acceptance of an ADR scheme's decision (remedy deadlines, regulatory.md §16).

Units (see ``amends.domain.calendar``): working hours and working days on the provider's
nation's calendar; "hours" are elapsed hours (UTC arithmetic: "within 48 hours" is 48 real
hours across a clock change); "days" and "weeks" are calendar dates at the same local time
(6 weeks = first-receipt date + 42 days, regulatory.md §9).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from amends.domain.calendar import BusinessCalendar, WorkingHours, add_elapsed
from amends.domain.codes import CaseKind, Code, Duration, DurationUnit, ObligationKind
from amends.domain.lifecycle import UNRESOLVED_STATES, State
from amends.domain.regulation import PromiseInForce


class ObligationStatus(StrEnum):
    PENDING = "pending"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"
    DONE = "done"


class DueAction(StrEnum):
    """What the worker does when a pending obligation falls due."""

    ISSUE_ADR_LETTER = "issue_adr_letter"
    BREACH = "breach"


#: The ADR letter is something Amends does itself at the due time; every other clock that
#: runs out is a breach to record, escalate and tell the handler's manager about.
ACTIONS: Final = {ObligationKind.ADR_LETTER: DueAction.ISSUE_ADR_LETTER}


LONDON: Final = ZoneInfo("Europe/London")


def action_for(kind: ObligationKind) -> DueAction:
    return ACTIONS.get(kind, DueAction.BREACH)


@dataclass(frozen=True, slots=True)
class Escalation:
    level: int
    at: datetime
    reviewed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClockFacts:
    """What has happened on a case, as far as its clocks are concerned (aware instants)."""

    kind: CaseKind
    state: State
    first_received_at: datetime
    acknowledged_at: datetime | None = None
    handler_introduced_at: datetime | None = None
    first_contact_at: datetime | None = None
    updates_agreed_at: datetime | None = None
    update_interval: Duration | None = None
    updates: tuple[datetime, ...] = ()
    resolved_at: datetime | None = None
    adr_letter_issued_at: datetime | None = None
    escalations: tuple[Escalation, ...] = ()
    decision_accepted_at: datetime | None = None
    remedy_done_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DerivedObligation:
    key: str
    kind: ObligationKind
    due_at: datetime
    status: ObligationStatus
    met_at: datetime | None
    origin: str  # "code", "law" or "agreed"
    rule_id: str | None
    source: str
    action: DueAction


def calendar_for_code(code: Code, closed_dates: Iterable[date] = ()) -> BusinessCalendar:
    """The provider's working calendar: its working hours, on its nation's bank holidays,
    less the provider's own closure days."""
    hours = code.working_hours
    span = (hours.opens.strftime("%H:%M"), hours.closes.strftime("%H:%M"))
    return BusinessCalendar(
        nation=code.nation.value,
        hours=WorkingHours.per_day({day.value: span for day in hours.days}),
        closed_dates=tuple(closed_dates),
    )


def due_after(calendar: BusinessCalendar, start: datetime, duration: Duration) -> datetime:
    """When a clock of ``duration`` started at ``start`` runs out."""
    unit = duration.unit
    if unit is DurationUnit.WORKING_HOURS:
        return calendar.add_working_time(start, timedelta(hours=float(duration.amount)))
    if unit is DurationUnit.WORKING_DAYS:
        return calendar.add_working_days(start, duration.whole)
    if unit is DurationUnit.HOURS:
        return add_elapsed(start, timedelta(hours=float(duration.amount)))
    if unit is DurationUnit.WEEKS:
        return calendar.add_weeks(start, duration.whole)
    return add_calendar_days(start, duration.whole)


def add_calendar_days(start: datetime, days: int) -> datetime:
    """The same Europe/London wall time ``days`` dates later; a wall time that does not exist
    that day (the spring-forward gap) moves forward past the gap, as ``add_weeks`` does."""
    wall = start.astimezone(LONDON).replace(tzinfo=None) + timedelta(days=days)
    candidate = wall.replace(tzinfo=LONDON)
    if candidate.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) != wall:
        candidate = (wall + timedelta(hours=1)).replace(tzinfo=LONDON)
    return candidate.astimezone(UTC).astimezone(LONDON)


@dataclass
class _Collector:
    """Accumulates derived obligations; the status follows from met/cancelled."""

    items: list[DerivedObligation]

    def add(
        self,
        *,
        key: str,
        kind: ObligationKind,
        due: datetime,
        met_at: datetime | None,
        cancelled: bool,
        origin: str,
        rule_id: str | None,
        source: str,
    ) -> None:
        # Two promises of one kind (a code may promise "a first update within 3 working days"
        # and "then every 5 working days") must each keep their clock: a key already taken
        # gets the next free suffix, in the order the promises come (so keys are stable).
        if any(item.key == key for item in self.items):
            n = 2
            while any(item.key == f"{key}~{n}" for item in self.items):
                n += 1
            key = f"{key}~{n}"
        if met_at is not None:
            status = ObligationStatus.MET
        elif cancelled:
            status = ObligationStatus.CANCELLED
        else:
            status = ObligationStatus.PENDING
        self.items.append(
            DerivedObligation(
                key=key,
                kind=kind,
                due_at=due,
                status=status,
                met_at=met_at,
                origin=origin,
                rule_id=rule_id,
                source=source,
                action=action_for(kind),
            )
        )

    def promise(
        self,
        promise: PromiseInForce,
        *,
        key: str,
        due: datetime,
        met_at: datetime | None,
        cancelled: bool,
    ) -> None:
        self.add(
            key=key,
            kind=promise.kind,
            due=due,
            met_at=met_at,
            cancelled=cancelled,
            origin=promise.origin.value,
            rule_id=promise.rule_id,
            source=promise.source,
        )


#: States in which an ADR letter not yet issued is no longer owed (besides acceptance).
_ADR_MOOT: Final = frozenset(
    {State.WITHDRAWN, State.SCHEME_DECISION, State.REMEDY_DONE, State.MERGED}
)
#: States in which the customer is still owed updates: unresolved, or past the ADR letter
#: while the provider keeps working on the complaint.
_OWES_UPDATES: Final = UNRESOLVED_STATES | {State.ADR_LETTER_ISSUED}


def derive(
    facts: ClockFacts,
    promises: tuple[PromiseInForce, ...],
    calendar: BusinessCalendar,
) -> list[DerivedObligation]:
    """Every obligation of the case, met, pending or cancelled, with its due time."""
    out = _Collector([])
    unresolved = facts.state in UNRESOLVED_STATES
    accepted = facts.resolved_at is not None and facts.state in {State.RESOLVED, State.CLOSED}
    start = facts.first_received_at
    contacts = [
        t
        for t in (facts.acknowledged_at, facts.handler_introduced_at, facts.first_contact_at)
        if t is not None
    ] + list(facts.updates)

    for promise in promises:
        kind = promise.kind
        if kind is ObligationKind.UPDATE:
            interval = promise.duration
            agreed = facts.update_interval
            if agreed is not None and agreed.at_most(interval) is True:
                # The customer agreed to hear from us more often than the code promises.
                _updates(out, facts, agreed, calendar, promise=None)
            else:
                _updates(out, facts, interval, calendar, promise=promise)
            continue
        if kind is ObligationKind.ESCALATION_REVIEW:
            for number, escalation in enumerate(facts.escalations, start=1):
                if escalation.level == promise.level:
                    out.promise(
                        promise,
                        key=f"escalation_review@{escalation.level}#{number}",
                        due=due_after(calendar, escalation.at, promise.duration),
                        met_at=escalation.reviewed_at,
                        cancelled=not unresolved,
                    )
            continue
        if kind is ObligationKind.ADR_REMEDY:
            if facts.decision_accepted_at is not None:
                out.promise(
                    promise,
                    key="adr_remedy",
                    due=due_after(calendar, facts.decision_accepted_at, promise.duration),
                    met_at=facts.remedy_done_at,
                    cancelled=False,
                )
            continue

        due = due_after(calendar, start, promise.duration)
        if kind is ObligationKind.ADR_LETTER:
            # Owed while the complaint is unresolved at its ADR point; met by any ADR letter
            # (deadlock, the customer's request, or the worker's at the due time); moot only
            # once the customer has accepted a resolution, withdrawn, or had the scheme's
            # decision. A referral alone keeps it owed: the scheme may turn the customer away
            # as premature and the case goes back to work.
            letter = facts.adr_letter_issued_at
            out.promise(
                promise,
                key="adr_letter",
                due=due,
                met_at=letter,
                cancelled=letter is None and (accepted or facts.state in _ADR_MOOT),
            )
        else:
            # One-off clocks from first receipt, owed while the case is unresolved (ISS's
            # "agreed contact time" too: "if we cannot resolve your complaint within the first
            # 3 working days"); each is met by the first time its event happened.
            met_by = {
                ObligationKind.ACKNOWLEDGE: facts.acknowledged_at,
                ObligationKind.INTRODUCE_HANDLER: facts.handler_introduced_at,
                ObligationKind.FIRST_RESPONSE: min(contacts) if contacts else None,
                ObligationKind.AGREE_UPDATES: facts.updates_agreed_at,
                ObligationKind.RESOLVE: facts.resolved_at if accepted else None,
            }
            if kind in met_by:
                out.promise(
                    promise,
                    key=kind.value,
                    due=due,
                    met_at=met_by[kind],
                    cancelled=not unresolved,
                )

    if facts.update_interval is not None and not any(
        p.kind is ObligationKind.UPDATE for p in promises
    ):
        _updates(out, facts, facts.update_interval, calendar, promise=None)
    return out.items


def _stamp(instant: datetime) -> str:
    """A key part naming an instant the same way whatever zone it arrives in."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _updates(
    out: _Collector,
    facts: ClockFacts,
    interval: Duration,
    calendar: BusinessCalendar,
    *,
    promise: PromiseInForce | None,
) -> None:
    """Updates at a cadence: each is due ``interval`` after the previous one (or after the
    schedule was agreed, or after first receipt), and the next is owed while the customer is
    owed updates. Clocks are keyed by the schedule they belong to (the instant it was agreed)
    and their number within it, so two updates in the same instant, or one given in the call
    that agreed the schedule, each have a clock of their own."""
    schedule = facts.updates_agreed_at or facts.first_received_at
    anchor = schedule
    origin = promise.origin.value if promise else "agreed"
    rule_id = promise.rule_id if promise else None
    source = promise.source if promise else "update schedule agreed with the customer"
    number = 0
    for update in sorted(t for t in facts.updates if t >= schedule):
        number += 1
        out.add(
            key=f"update@{_stamp(schedule)}#{number}",
            kind=ObligationKind.UPDATE,
            due=due_after(calendar, anchor, interval),
            met_at=update,
            cancelled=False,
            origin=origin,
            rule_id=rule_id,
            source=source,
        )
        anchor = update
    if facts.state in _OWES_UPDATES:
        out.add(
            key=f"update@{_stamp(schedule)}#{number + 1}",
            kind=ObligationKind.UPDATE,
            due=due_after(calendar, anchor, interval),
            met_at=None,
            cancelled=False,
            origin=origin,
            rule_id=rule_id,
            source=source,
        )
