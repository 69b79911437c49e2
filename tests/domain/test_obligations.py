"""Facts + promises in force + calendar -> clocks, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from amends.codes import SHIPPED_CODES
from amends.domain.codes import CaseFacts, CaseKind, ChannelType, Duration, load_code
from amends.domain.lifecycle import State
from amends.domain.obligations import (
    ClockFacts,
    DueAction,
    Escalation,
    ObligationStatus,
    add_calendar_days,
    calendar_for_code,
    derive,
)
from amends.domain.regulation import promises_in_force

LONDON = ZoneInfo("Europe/London")
TEMPLATE = load_code(SHIPPED_CODES["template"])
CALENDAR = calendar_for_code(TEMPLATE)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def clocks(facts: ClockFacts) -> dict[str, tuple[datetime, ObligationStatus]]:
    promises = promises_in_force(
        TEMPLATE,
        kind=facts.kind,
        first_received=facts.first_received_at.date(),
        facts=CaseFacts(channel=ChannelType.PHONE),
    )
    return {o.key: (o.due_at, o.status) for o in derive(facts, promises, CALENDAR)}


def test_a_new_complaint_has_its_clocks_pending_from_first_receipt() -> None:
    got = clocks(ClockFacts(CaseKind.COMPLAINT, State.RECEIVED, at(2026, 6, 1, 10)))
    assert got["acknowledge"] == (at(2026, 6, 2, 17, 30), ObligationStatus.PENDING)
    assert got["resolve"] == (at(2026, 6, 15, 17, 30), ObligationStatus.PENDING)
    assert got["adr_letter"] == (at(2026, 7, 13, 10), ObligationStatus.PENDING)
    assert got["update@2026-06-01T09:00:00.000000Z#1"][1] is ObligationStatus.PENDING


def test_accepted_resolution_meets_the_target_and_cancels_the_adr_letter() -> None:
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.RESOLVED,
        at(2026, 6, 1, 10),
        acknowledged_at=at(2026, 6, 1, 11),
        resolved_at=at(2026, 6, 5, 12),
    )
    got = clocks(facts)
    assert got["resolve"][1] is ObligationStatus.MET
    assert got["adr_letter"][1] is ObligationStatus.CANCELLED
    assert not any(
        key.startswith("update@") and s is ObligationStatus.PENDING for key, (_, s) in got.items()
    )


def test_each_update_is_due_an_interval_after_the_last() -> None:
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.INVESTIGATING,
        at(2026, 6, 1, 10),
        updates=(at(2026, 6, 4, 10), at(2026, 6, 12, 10)),
    )
    got = clocks(facts)
    # Keyed by the schedule (first receipt here, in UTC) and the clock's number within it.
    assert got["update@2026-06-01T09:00:00.000000Z#1"] == (
        at(2026, 6, 8, 17, 30),
        ObligationStatus.MET,
    )
    # Met late (12 June after an 11 June due time): the worker records it as a breach.
    assert got["update@2026-06-01T09:00:00.000000Z#2"][0] == at(2026, 6, 11, 17, 30)
    assert got["update@2026-06-01T09:00:00.000000Z#3"] == (
        at(2026, 6, 19, 17, 30),
        ObligationStatus.PENDING,
    )


def test_an_agreed_interval_replaces_a_missing_cadence() -> None:
    iss = load_code(SHIPPED_CODES["iss"])
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.INVESTIGATING,
        at(2026, 6, 1, 10),
        updates_agreed_at=at(2026, 6, 3, 10),
        update_interval=Duration.parse("2 working days"),
    )
    promises = promises_in_force(iss, kind=CaseKind.COMPLAINT, first_received=date(2026, 6, 1))
    got = {o.key: o for o in derive(facts, promises, calendar_for_code(iss))}
    first = got["update@2026-06-03T09:00:00.000000Z#1"]
    assert (first.origin, first.due_at) == ("agreed", at(2026, 6, 5, 17))


def test_an_agreed_interval_shorter_than_the_codes_wins() -> None:
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.INVESTIGATING,
        at(2026, 6, 1, 10),
        updates_agreed_at=at(2026, 6, 1, 12),
        update_interval=Duration.parse("1 working day"),
    )
    got = clocks(facts)
    assert got["update@2026-06-01T11:00:00.000000Z#1"][0] == at(2026, 6, 2, 17, 30)


def test_updates_keep_running_after_the_adr_letter() -> None:
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.ADR_LETTER_ISSUED,
        at(2026, 6, 1, 10),
        adr_letter_issued_at=at(2026, 7, 13, 10),
        updates=(at(2026, 7, 10, 10),),
    )
    got = clocks(facts)
    assert got["update@2026-06-01T09:00:00.000000Z#2"][1] is ObligationStatus.PENDING


def test_a_referral_before_the_adr_point_keeps_the_letter_owed() -> None:
    got = clocks(ClockFacts(CaseKind.COMPLAINT, State.REFERRED, at(2026, 6, 1, 10)))
    assert got["adr_letter"][1] is ObligationStatus.PENDING


def test_an_escalation_review_runs_from_the_escalation() -> None:
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.ESCALATED,
        at(2026, 6, 1, 10),
        escalations=(Escalation(level=1, at=at(2026, 6, 10, 12)),),
    )
    review = [
        o
        for o in derive(
            facts,
            promises_in_force(TEMPLATE, kind=CaseKind.COMPLAINT, first_received=date(2026, 6, 1)),
            CALENDAR,
        )
        if o.key.startswith("escalation_review@1")
    ]
    assert len(review) == 1
    assert review[0].due_at == at(2026, 6, 17, 17, 30)
    assert review[0].action is DueAction.BREACH


def test_only_the_adr_letter_is_an_action_the_worker_performs() -> None:
    got = derive(
        ClockFacts(CaseKind.COMPLAINT, State.RECEIVED, at(2026, 6, 1, 10)),
        promises_in_force(TEMPLATE, kind=CaseKind.COMPLAINT, first_received=date(2026, 6, 1)),
        CALENDAR,
    )
    assert {o.key for o in got if o.action is DueAction.ISSUE_ADR_LETTER} == {"adr_letter"}


@pytest.mark.parametrize(
    ("start", "days", "expected", "elapsed"),
    [
        pytest.param(
            at(2026, 3, 1, 1, 30),
            28,
            at(2026, 3, 29, 2, 30),
            timedelta(days=28),
            id="into-the-spring-gap-moves-past-it",
        ),
        pytest.param(
            at(2026, 10, 1, 9),
            28,
            at(2026, 10, 29, 9),
            timedelta(days=28, hours=1),
            id="across-autumn-same-wall-time",
        ),
    ],
)
def test_calendar_days_keep_the_wall_time(
    start: datetime, days: int, expected: datetime, elapsed: timedelta
) -> None:
    result = add_calendar_days(start, days)
    assert result == expected
    assert result.astimezone(UTC) - start.astimezone(UTC) == elapsed


def test_two_updates_in_the_same_instant_each_have_their_own_clock() -> None:
    # Defect: keys were cut to the second, so a second update in that second (or one given
    # in the call that agreed the schedule) collided on the unique key.
    same = at(2026, 6, 2, 10)
    facts = ClockFacts(
        CaseKind.COMPLAINT,
        State.INVESTIGATING,
        at(2026, 6, 1, 10),
        updates_agreed_at=same,
        update_interval=Duration.parse("1 working day"),
        updates=(same, same),
    )
    keys = [
        o.key
        for o in derive(
            facts,
            promises_in_force(TEMPLATE, kind=CaseKind.COMPLAINT, first_received=date(2026, 6, 1)),
            CALENDAR,
        )
        if o.kind.value == "update"
    ]
    assert len(keys) == len(set(keys)) == 3
