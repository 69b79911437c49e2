"""The worker acts on each due clock exactly once, reading only what is due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from amends.cases.models import Case, Event, Obligation
from amends.cases.worker import obligation_sweep
from amends.comms.models import OutboxMessage
from amends.domain.lifecycle import Action
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def test_the_adr_letter_goes_out_at_its_due_time_once(iss: World) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    letter_due = london(2026, 6, 12, 10)
    # Everything else due before the ADR point is swept first (breaches).
    obligation_sweep(letter_due - timedelta(seconds=1))
    assert not OutboxMessage.objects.filter(kind="adr_letter").exists()

    assert obligation_sweep(letter_due) == 0  # due means on or before: not yet late
    assert obligation_sweep(letter_due + timedelta(seconds=1)) == 1
    assert obligation_sweep(letter_due + timedelta(minutes=5)) == 0
    case.refresh_from_db()
    assert case.state == "adr_letter_issued"
    issued_at = letter_due + timedelta(seconds=1)  # the first pass after the due instant
    assert (case.adr_letter_trigger, case.adr_letter_issued_at) == ("time", issued_at)
    assert OutboxMessage.objects.filter(kind="adr_letter").count() == 1
    row = Obligation.objects.get(case=case, key="adr_letter")
    assert (row.state, row.acted_at) == ("done", issued_at)


def test_a_resolved_complaint_gets_no_time_letter(iss: World) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    for action, details in [
        (Action.PROPOSE_RESOLUTION, {}),
        (Action.ACCEPT_RESOLUTION, {"by": "Pat", "how": "phone"}),
        (Action.CLOSE, {}),
    ]:
        iss.act(case, action, london(2026, 5, 4, 10), **details)
    obligation_sweep(london(2026, 7, 1, 10))
    assert not OutboxMessage.objects.filter(kind="adr_letter").exists()


def test_a_missed_resolution_target_is_breached_escalated_and_the_manager_told(
    v4voip: World,
) -> None:
    case = v4voip.open(london(2026, 11, 2, 10))
    v4voip.act(case, Action.ASSIGN, london(2026, 11, 2, 11), **{"handler_id": v4voip.handler.pk})
    target = Obligation.objects.get(case=case, key="resolve").due_at
    assert obligation_sweep(target + timedelta(seconds=1)) == 1
    case.refresh_from_db()
    assert Obligation.objects.get(case=case, key="resolve").state == "breached"
    assert (case.state, case.escalation_level) == ("escalated", 1)
    notice = OutboxMessage.objects.get(kind="breach_notice")
    assert (notice.audience, notice.channel) == ("staff", "staff")
    assert notice.recipient_user_id == v4voip.manager.pk
    assert notice.recipient_address == v4voip.manager.email
    assert Event.objects.filter(case=case, kind="obligation_breached", actor="worker").count() == 1
    assert obligation_sweep(target + timedelta(hours=1)) == 0


def test_a_late_acknowledgement_stays_a_breach(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    ack_due = Obligation.objects.get(case=case, key="acknowledge").due_at
    obligation_sweep(ack_due + timedelta(seconds=1))
    iss.act(case, Action.ACKNOWLEDGE, ack_due + timedelta(hours=2))
    row = Obligation.objects.get(case=case, key="acknowledge")
    assert (row.state, row.met_at) == ("breached", ack_due + timedelta(hours=2))


def test_an_acknowledgement_on_time_is_met_and_never_swept(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    iss.act(case, Action.ACKNOWLEDGE, london(2026, 11, 20, 11))
    row = Obligation.objects.get(case=case, key="acknowledge")
    assert (row.state, row.met_at) == ("met", london(2026, 11, 20, 11))


def test_a_sweep_with_nothing_due_reads_only_the_due_index(iss: World) -> None:
    for hour in range(9, 17):
        for minute in (0, 20, 40):
            iss.open(london(2026, 11, 2, hour, minute))
    assert Case.objects.count() == 24
    with CaptureQueriesContext(connection) as queries:
        assert obligation_sweep(london(2026, 11, 2, 17)) == 0
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1
    assert "cases_obligation" in selects[0] and "due_at" in selects[0]


def test_a_breach_while_a_resolution_is_with_the_customer_does_not_escalate(
    v4voip: World,
) -> None:
    case = v4voip.open(london(2026, 11, 2, 10))
    v4voip.act(case, Action.PROPOSE_RESOLUTION, london(2026, 11, 20, 10))
    obligation_sweep(Obligation.objects.get(case=case, key="resolve").due_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert Obligation.objects.get(case=case, key="resolve").state == "breached"
    assert (case.state, case.escalation_level) == ("resolution_proposed", 0)
    v4voip.act(
        case, Action.ACCEPT_RESOLUTION, london(2026, 11, 23, 10), **{"by": "Pat", "how": "email"}
    )
    case.refresh_from_db()
    assert case.state == "resolved"
