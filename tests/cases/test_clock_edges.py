"""Edges where a clock could be lost, doubled or rewritten (found in review, kept as rules)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from amends.cases.errors import CaseError
from amends.cases.models import Case, Event, Obligation
from amends.cases.worker import obligation_sweep
from amends.comms.models import OutboxMessage
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import Action
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def act(world: World, case: Case, action: Action, when, **arguments) -> Case:  # type: ignore[no-untyped-def]
    return world.act(case, action, when, **arguments)


def row(case: Case, key: str) -> Obligation:
    return Obligation.objects.get(case=case, key=key)


def test_acceptance_after_the_adr_point_but_before_the_sweep_still_gets_the_letter(
    iss: World,
) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    due = row(case, "adr_letter").due_at
    act(iss, case, Action.PROPOSE_RESOLUTION, due - timedelta(hours=1))
    act(iss, case, Action.ACCEPT_RESOLUTION, due + timedelta(minutes=30), by="Pat", how="phone")
    assert row(case, "adr_letter").state == "pending"  # the worker's, not cancelled by sync
    obligation_sweep(due + timedelta(minutes=31))
    assert OutboxMessage.objects.filter(case=case, kind="adr_letter").count() == 1
    assert row(case, "adr_letter").state == "done"


def test_a_late_acknowledgement_is_a_breach_with_its_event_and_notice(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    due = row(case, "acknowledge").due_at
    act(iss, case, Action.ACKNOWLEDGE, due + timedelta(minutes=2))
    assert obligation_sweep(due + timedelta(minutes=3)) >= 1
    ack = row(case, "acknowledge")
    assert (ack.state, ack.met_at) == ("breached", due + timedelta(minutes=2))
    breach = Event.objects.get(
        case=case, kind="obligation_breached", data__obligation="acknowledge"
    )
    assert breach.data["met_late_at"] == (due + timedelta(minutes=2)).isoformat()
    assert OutboxMessage.objects.filter(case=case, kind="breach_notice").exists()


def test_a_premature_referral_keeps_the_letter_owed_and_the_case_workable(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    act(iss, case, Action.REFER_TO_SCHEME, london(2026, 5, 18, 10), scheme_reference="CO-1")
    assert row(case, "adr_letter").state == "pending"
    act(iss, case, Action.SCHEME_DECLINED, london(2026, 5, 20, 10))
    case.refresh_from_db()
    assert case.state == "investigating"
    obligation_sweep(row(case, "adr_letter").due_at + timedelta(seconds=1))
    assert OutboxMessage.objects.filter(case=case, kind="adr_letter").count() == 1


def test_the_adr_letter_does_not_take_a_proposed_resolution_from_the_customer(
    iss: World,
) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    due = row(case, "adr_letter").due_at
    act(iss, case, Action.PROPOSE_RESOLUTION, due - timedelta(days=2))
    obligation_sweep(due + timedelta(seconds=1))
    case.refresh_from_db()
    assert (case.state, case.adr_letter_trigger) == ("resolution_proposed", "time")
    act(iss, case, Action.ACCEPT_RESOLUTION, due + timedelta(days=1), by="Pat", how="email")
    act(iss, case, Action.CLOSE, due + timedelta(days=1, hours=1))


def test_a_request_on_a_withdrawn_complaint_reopens_it_and_issues_the_letter(
    iss: World,
) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    act(iss, case, Action.WITHDRAW, london(2026, 5, 5, 10))
    act(iss, case, Action.REQUEST_ADR_LETTER, london(2026, 5, 20, 10))
    case.refresh_from_db()
    assert case.adr_letter_trigger == "customer_request"
    assert case.first_received_at == london(2026, 5, 4, 10)
    kinds = list(case.events.order_by("sequence").values_list("kind", flat=True))
    assert kinds[-3:] == ["reopen", "request_adr_letter", "issue_adr_letter"]


def test_a_request_on_a_query_makes_it_a_complaint_and_issues_the_letter(v4voip: World) -> None:
    query = v4voip.open(london(2026, 5, 4, 10), kind=CaseKind.ACCOUNT_QUERY)
    act(v4voip, query, Action.REQUEST_ADR_LETTER, london(2026, 5, 6, 10))
    query.refresh_from_db()
    assert (query.kind, query.adr_letter_trigger) == ("complaint", "customer_request")
    assert OutboxMessage.objects.filter(case=query, kind="adr_letter").count() == 1


def test_an_accepted_decision_is_tracked_to_its_remedy(iss: World) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    act(iss, case, Action.DECLARE_DEADLOCK, london(2026, 5, 10, 10))
    act(iss, case, Action.REFER_TO_SCHEME, london(2026, 5, 20, 10), scheme_reference="CO-9")
    act(iss, case, Action.RECORD_SCHEME_DECISION, london(2026, 7, 1, 10), outcome="upheld")
    act(iss, case, Action.ACCEPT_DECISION, london(2026, 7, 2, 10))
    first_due = row(case, "adr_remedy").due_at
    act(iss, case, Action.ACCEPT_DECISION, london(2026, 7, 20, 10))  # recorded again
    assert row(case, "adr_remedy").due_at == first_due
    with pytest.raises(CaseError, match="record the remedy as done before closing"):
        act(iss, case, Action.CLOSE, london(2026, 7, 3, 10))


def test_a_decision_accepted_after_closure_still_runs_the_remedy_clock(iss: World) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    act(iss, case, Action.DECLARE_DEADLOCK, london(2026, 5, 10, 10))
    act(iss, case, Action.REFER_TO_SCHEME, london(2026, 5, 20, 10), scheme_reference="CO-9")
    act(iss, case, Action.RECORD_SCHEME_DECISION, london(2026, 7, 1, 10), outcome="upheld")
    act(iss, case, Action.CLOSE, london(2026, 7, 2, 10))
    act(iss, case, Action.ACCEPT_DECISION, london(2026, 7, 10, 10))
    assert row(case, "adr_remedy").due_at == london(2026, 8, 7, 10)
    act(iss, case, Action.COMPLETE_REMEDY, london(2026, 7, 20, 10))
    case.refresh_from_db()
    assert case.state == "remedy_done" and row(case, "adr_remedy").state == "met"


def test_recording_an_action_again_never_rewrites_a_met_clock(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    act(iss, case, Action.INTRODUCE_HANDLER, london(2026, 11, 2, 12))
    act(iss, case, Action.INTRODUCE_HANDLER, london(2026, 11, 9, 12))  # after a reassignment
    intro = row(case, "introduce_handler")
    assert (intro.state, intro.met_at) == ("met", london(2026, 11, 2, 12))


def test_reopening_keeps_a_met_resolution_target_met(v4voip: World) -> None:
    case = v4voip.open(london(2026, 11, 2, 10))
    act(v4voip, case, Action.PROPOSE_RESOLUTION, london(2026, 11, 3, 10))
    act(v4voip, case, Action.ACCEPT_RESOLUTION, london(2026, 11, 3, 12), by="Pat", how="phone")
    act(v4voip, case, Action.REOPEN, london(2026, 11, 20, 10))
    assert row(case, "resolve").state == "met"
    assert obligation_sweep(london(2026, 11, 20, 10, 5)) == 0


def test_a_second_deadlock_after_reopening_sends_a_second_letter(iss: World) -> None:
    case = iss.open(london(2026, 1, 5, 10))
    act(iss, case, Action.DECLARE_DEADLOCK, london(2026, 1, 20, 10))
    act(iss, case, Action.CLOSE, london(2026, 1, 21, 10))
    act(iss, case, Action.REOPEN, london(2026, 10, 1, 10))
    act(iss, case, Action.DECLARE_DEADLOCK, london(2026, 10, 20, 10))
    letters = OutboxMessage.objects.filter(case=case, kind="adr_letter")
    assert letters.count() == 2 == case.events.filter(kind="issue_adr_letter").count()


def test_a_breached_update_does_not_hide_the_next_schedule(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    act(iss, case, Action.AGREE_UPDATES, london(2026, 11, 2, 11), interval="2 working days")
    first = Obligation.objects.get(case=case, kind="update", state="pending")
    obligation_sweep(first.due_at + timedelta(seconds=1))
    act(iss, case, Action.AGREE_UPDATES, london(2026, 11, 6, 11), interval="2 working days")
    pending = Obligation.objects.filter(case=case, kind="update", state="pending")
    assert pending.count() == 1
    assert pending.get().due_at == london(2026, 11, 10, 17)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks: SQLite serialises every writer instead"
)
@pytest.mark.django_db(transaction=True)
def test_the_worker_skips_a_case_a_handler_has_locked_instead_of_deadlocking(
    iss: World,
) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    due = row(case, "acknowledge").due_at
    locked, release = threading.Event(), threading.Event()

    def handler_holds_the_case() -> None:
        with transaction.atomic():
            Case.objects.select_for_update().get(pk=case.pk)
            locked.set()
            release.wait(10)
        connection.close()

    holder = threading.Thread(target=handler_holds_the_case)
    holder.start()
    assert locked.wait(10)
    try:
        assert obligation_sweep(due + timedelta(seconds=1)) == 0  # skipped, not blocked
    finally:
        release.set()
        holder.join()
    assert obligation_sweep(due + timedelta(seconds=1)) >= 1
    assert row(case, "acknowledge").state == "breached"
