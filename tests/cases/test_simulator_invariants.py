"""The simulator's invariants catch what they claim to: each fault planted here is found,
and the same story without the fault passes. (They compare instants, not dates, and check
each fact against the row that proves it.)"""

from __future__ import annotations

from datetime import timedelta

import pytest

from amends.cases.models import Obligation
from amends.cases.simulator import SWEEP_LAG, report
from amends.cases.worker import obligation_sweep
from amends.comms.models import OutboxMessage
from amends.domain.lifecycle import Action
from amends.providers.services import code_of
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def figures(world: World, end):  # type: ignore[no-untyped-def]
    _, calendar = code_of(world.provider.code_versions.first(), world.provider)
    return report(world.provider, end=end, calendar=calendar)["invariants"]


def adr_due(world: World):  # type: ignore[no-untyped-def]
    case = world.open(london(2026, 5, 4, 10))
    return case, Obligation.objects.get(case=case, key="adr_letter").due_at


def test_a_clean_story_passes_every_invariant(iss: World) -> None:
    case, due = adr_due(iss)
    end = due + timedelta(days=1)
    pending = Obligation.objects.filter(state="pending").order_by("due_at")
    while (next_due := pending.values_list("due_at", flat=True).first()) and next_due < end:
        obligation_sweep(next_due + SWEEP_LAG)  # woken as the simulator wakes the worker
    failed = {name for name, result in figures(iss, end).items() if not result["ok"]}
    assert failed == set()


def test_a_letter_hours_late_on_the_same_date_is_caught(iss: World) -> None:
    case, due = adr_due(iss)
    obligation_sweep(due + timedelta(hours=3))  # the worker was down for three hours
    assert OutboxMessage.objects.get(case=case, kind="adr_letter").created_at.date() == due.date()
    result = figures(iss, due + timedelta(days=1))["one_adr_letter_by_the_adr_point"]
    assert not result["ok"] and case.reference in result["violations"]


def test_an_issued_letter_missing_from_the_outbox_is_caught(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    iss.act(case, Action.DECLARE_DEADLOCK, london(2026, 5, 10, 10))
    iss.act(case, Action.CLOSE, london(2026, 5, 11, 10))
    OutboxMessage.objects.filter(case=case, kind="adr_letter").delete()
    result = figures(iss, london(2026, 5, 12, 10))["every_issued_adr_letter_is_in_the_outbox"]
    assert not result["ok"] and case.reference in result["violations"]


def test_a_deleted_breach_notice_is_caught(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    due = Obligation.objects.get(case=case, key="acknowledge").due_at
    obligation_sweep(due + timedelta(seconds=1))
    OutboxMessage.objects.filter(case=case, kind="breach_notice").delete()
    result = figures(iss, due + timedelta(days=1))["every_breach_has_its_event_and_notice"]
    assert not result["ok"] and result["without_notice"]


def test_a_clock_left_pending_a_week_past_due_is_caught(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    due = Obligation.objects.get(case=case, key="acknowledge").due_at
    result = figures(iss, due + timedelta(days=7))["no_clock_left_pending_past_due"]
    assert not result["ok"] and result["violations"] >= 1
