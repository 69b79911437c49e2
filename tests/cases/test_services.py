"""Given a provider's code, when a case moves, then its clocks and its audit trail follow."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.db import IntegrityError, transaction

from amends.cases.errors import CaseError
from amends.cases.events import audit_verify
from amends.cases.models import Case, Event, Obligation
from amends.comms.models import OutboxMessage
from amends.domain.codes import CaseKind, ChannelType
from amends.domain.lifecycle import Action
from amends.domain.reference import parse_reference
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def act(world: World, case: Case, action: Action, when, **arguments) -> Case:  # type: ignore[no-untyped-def]
    return world.act(case, action, when, **arguments)


def due(case: Case, key: str):  # type: ignore[no-untyped-def]
    return Obligation.objects.get(case=case, key=key)


# ------------------------------------------------------------------- opening and references


def test_a_case_gets_a_checked_reference_unique_within_its_provider(iss: World) -> None:
    first = iss.open(london(2026, 11, 2, 10))
    second = iss.open(london(2026, 11, 2, 11))
    assert first.reference == parse_reference(first.reference).__str__()
    assert first.reference.startswith("ISS-26-000001-")
    assert second.reference.startswith("ISS-26-000002-")


def test_first_received_earlier_than_entry_needs_a_reason(iss: World) -> None:
    with pytest.raises(CaseError, match="Say why the case is entered later"):
        iss.open(london(2026, 11, 2, 17, 55), now=london(2026, 11, 3, 9, 30), note=" ")
    case = iss.open(
        london(2026, 11, 2, 17, 55), now=london(2026, 11, 3, 9, 30), note="call taken at 17:55"
    )
    assert case.first_received_at == london(2026, 11, 2, 17, 55)


def test_a_case_cannot_be_first_received_in_the_future(iss: World) -> None:
    with pytest.raises(CaseError, match="future"):
        iss.open(london(2026, 11, 3, 10), now=london(2026, 11, 3, 9))


def test_a_customer_of_another_provider_is_refused(iss: World, v4voip: World) -> None:
    from amends.cases.actions import case_open

    with pytest.raises(CaseError, match="That customer belongs to another provider") as refused:
        case_open(
            provider=iss.provider,
            customer=v4voip.customer,
            kind=CaseKind.COMPLAINT,
            channel=ChannelType.PHONE,
            first_received_at=london(2026, 11, 2, 10),
            summary="x",
            now=london(2026, 11, 2, 10),
            actor=iss.staff,
        )
    assert refused.value.field == "customer"
    with pytest.raises(CaseError, match="another provider"):
        case_open(
            provider=iss.provider,
            customer=iss.customer,
            kind=CaseKind.COMPLAINT,
            channel=ChannelType.PHONE,
            first_received_at=london(2026, 11, 2, 10),
            summary="x",
            now=london(2026, 11, 2, 10),
            actor=v4voip.staff,
        )


def test_another_providers_case_is_not_found(iss: World, v4voip: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    with pytest.raises(CaseError, match="No such case"):
        v4voip.act(case, Action.ACKNOWLEDGE, london(2026, 11, 2, 11))


# ------------------------------------------------------------------- clocks from the code and law


def test_iss_acknowledgement_is_due_24_working_hours_after_first_receipt(iss: World) -> None:
    # Friday 10:00, ISS works 09:00-17:00: 8 h Fri (7 left) + Mon 8 + Tue 8 = 23, +1 on Wed.
    case = iss.open(london(2026, 11, 20, 10))
    assert due(case, "acknowledge").due_at == london(2026, 11, 25, 10)
    assert due(case, "acknowledge").origin == "code"


def test_iss_acknowledgement_skips_christmas_and_boxing_day_observed(iss: World) -> None:
    # Thu 24 Dec 2026 16:00: 1 h on Thu, Fri 25 and Mon 28 (Boxing Day observed) are holidays,
    # Tue 29 8 h, Wed 30 8 h, Thu 31 7 h -> 16:00 on 31 Dec.
    case = iss.open(london(2026, 12, 24, 16))
    assert due(case, "acknowledge").due_at == london(2026, 12, 31, 16)


def test_handler_introduction_is_48_elapsed_hours_across_the_clock_change(iss: World) -> None:
    case = iss.open(london(2026, 10, 24, 12))  # BST; the clocks go back on Sun 25 Oct
    real_48h = london(2026, 10, 24, 12).astimezone(UTC) + timedelta(hours=48)
    assert due(case, "introduce_handler").due_at == real_48h
    assert due(case, "introduce_handler").due_at == london(2026, 10, 26, 11)


def test_adr_letter_due_42_days_after_first_receipt(iss: World) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    letter = due(case, "adr_letter")
    assert letter.due_at == london(2026, 6, 12, 10)
    assert (letter.origin, letter.rule_id) == ("law", "C4.ADR.TIME")


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        pytest.param(london(2026, 4, 7, 16), london(2026, 6, 2, 16), id="before-8-april-8-weeks"),
        pytest.param(london(2026, 4, 8, 9), london(2026, 5, 20, 9), id="from-8-april-6-weeks"),
    ],
)
def test_adr_point_across_the_2026_04_08_boundary(iss: World, received, expected) -> None:  # type: ignore[no-untyped-def]
    case = iss.open(received)
    assert due(case, "adr_letter").due_at == expected


def test_adr_point_is_calendar_days_and_not_moved_by_bank_holidays(iss: World) -> None:
    # Fri 13 Nov 2026 + 42 days = Fri 25 Dec 2026 (Christmas Day): weeks are calendar weeks
    # (regulatory.md B9), so the letter is due that day, not on the next working day.
    case = iss.open(london(2026, 11, 13, 10))
    assert due(case, "adr_letter").due_at == london(2026, 12, 25, 10)
    # ...whereas a working-day clock from the same start steps over the holidays.
    christmas_eve = iss.open(london(2026, 12, 24, 16))
    assert due(christmas_eve, "agree_updates").due_at == london(2026, 12, 31, 17)


def test_adr_letter_across_the_spring_clock_change_keeps_the_wall_time(iss: World) -> None:
    case = iss.open(london(2026, 3, 1, 10))  # GMT; due 8 weeks later in BST (first receipt < 8 Apr)
    assert due(case, "adr_letter").due_at == london(2026, 4, 26, 10)


def test_v4voip_resolution_target_is_10_working_days_across_easter(v4voip: World) -> None:
    # Thu 2 Apr 2026 10:00: Good Friday 3 Apr and Easter Monday 6 Apr are holidays (England);
    # working days after the 2nd: 7, 8, 9, 10, 13, 14, 15, 16, 17, 20 April -> close (18:00).
    case = v4voip.open(london(2026, 4, 2, 10))
    assert due(case, "resolve").due_at == london(2026, 4, 20, 18)


# ------------------------------------------------------------------- lifecycle rules


def test_a_complaint_cannot_close_without_acceptance(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    act(iss, case, Action.INVESTIGATE, london(2026, 11, 2, 11))
    act(iss, case, Action.PROPOSE_RESOLUTION, london(2026, 11, 3, 11))
    with pytest.raises(CaseError, match="cannot be closed"):
        act(iss, case, Action.CLOSE, london(2026, 11, 3, 12))
    with pytest.raises(CaseError, match="Who it was is required") as refused:
        act(iss, case, Action.ACCEPT_RESOLUTION, london(2026, 11, 3, 12), by=" ", how="phone")
    assert refused.value.field == "by"
    act(iss, case, Action.ACCEPT_RESOLUTION, london(2026, 11, 3, 12), by="Pat Example", how="phone")
    act(iss, case, Action.CLOSE, london(2026, 11, 3, 13))
    case.refresh_from_db()
    assert (case.state, case.acceptance_by, case.acceptance_how) == (
        "closed",
        "Pat Example",
        "phone",
    )


def test_the_database_itself_refuses_a_closed_complaint_without_acceptance(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(state="closed")


def test_deadlock_issues_the_adr_letter_once(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    act(iss, case, Action.INVESTIGATE, london(2026, 11, 2, 11))
    act(
        iss,
        case,
        Action.DECLARE_DEADLOCK,
        london(2026, 11, 10, 11),
        final_position="No fault found",
    )
    case.refresh_from_db()
    assert case.state == "adr_letter_issued"
    assert case.adr_letter_trigger == "deadlock"
    letters = OutboxMessage.objects.filter(kind__startswith="adr_letter")
    assert list(letters.values_list("key", "kind")) == [
        (f"case:{case.pk}:adr_letter:deadlock:v{case.version}", "adr_letter")
    ]
    assert due(case, "adr_letter").state == "met"
    kinds = list(case.events.order_by("sequence").values_list("kind", flat=True))
    assert kinds[-2:] == ["declare_deadlock", "issue_adr_letter"]


def test_a_customer_request_for_the_letter_after_it_was_sent_gets_a_copy(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    act(iss, case, Action.REQUEST_ADR_LETTER, london(2026, 11, 3, 10))
    act(iss, case, Action.REQUEST_ADR_LETTER, london(2026, 11, 4, 10))
    case.refresh_from_db()
    assert case.adr_letter_trigger == "customer_request"
    letters = OutboxMessage.objects.filter(kind__startswith="adr_letter")
    assert sorted(letters.values_list("kind", flat=True)) == ["adr_letter", "adr_letter_copy"]


def test_a_request_after_acceptance_is_not_refused(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    act(iss, case, Action.PROPOSE_RESOLUTION, london(2026, 11, 3, 11))
    act(iss, case, Action.ACCEPT_RESOLUTION, london(2026, 11, 3, 12), by="Pat", how="email")
    act(iss, case, Action.CLOSE, london(2026, 11, 3, 13))
    act(iss, case, Action.REQUEST_ADR_LETTER, london(2026, 11, 20, 10))
    case.refresh_from_db()
    assert case.state == "closed" and case.adr_letter_issued_at == london(2026, 11, 20, 10)
    assert OutboxMessage.objects.filter(kind="adr_letter").count() == 1


def test_converting_a_query_keeps_its_first_receipt(v4voip: World) -> None:
    query = v4voip.open(london(2026, 5, 1, 10), kind=CaseKind.ACCOUNT_QUERY)
    assert not Obligation.objects.filter(case=query, key="adr_letter").exists()
    act(v4voip, query, Action.CONVERT_TO_COMPLAINT, london(2026, 5, 8, 10))
    query.refresh_from_db()
    assert query.kind == "complaint"
    assert query.first_received_at == london(2026, 5, 1, 10)
    assert due(query, "adr_letter").due_at == london(2026, 6, 12, 10)
    assert due(query, "first_response").state == "cancelled"


def test_reopening_never_resets_the_clock(iss: World) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    act(iss, case, Action.PROPOSE_RESOLUTION, london(2026, 5, 5, 11))
    act(iss, case, Action.ACCEPT_RESOLUTION, london(2026, 5, 5, 12), by="Pat", how="phone")
    assert due(case, "adr_letter").state == "cancelled"
    act(iss, case, Action.CLOSE, london(2026, 5, 5, 13))
    act(iss, case, Action.REOPEN, london(2026, 5, 20, 9), reason="fault came back")
    case.refresh_from_db()
    assert case.first_received_at == london(2026, 5, 1, 10)
    letter = due(case, "adr_letter")
    assert (letter.state, letter.due_at) == ("pending", london(2026, 6, 12, 10))
    with pytest.raises(CaseError, match="cannot be closed"):
        act(iss, case, Action.CLOSE, london(2026, 5, 21, 9))


def test_remedy_deadline_is_28_days_after_acceptance_for_the_communications_ombudsman(
    iss: World,
) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    act(iss, case, Action.DECLARE_DEADLOCK, london(2026, 5, 10, 10))
    act(iss, case, Action.REFER_TO_SCHEME, london(2026, 5, 20, 10), scheme_reference="CO-123")
    act(
        iss,
        case,
        Action.RECORD_SCHEME_DECISION,
        london(2026, 7, 1, 10),
        outcome="upheld",
        remedies="apology; GBP 50 credit",
    )
    act(iss, case, Action.ACCEPT_DECISION, london(2026, 7, 3, 15))
    remedy = due(case, "adr_remedy")
    assert remedy.due_at == london(2026, 7, 31, 15)
    assert remedy.rule_id.startswith("ADR.")
    with pytest.raises(CaseError, match="cannot be marked as accepted"):
        act(iss, case, Action.ACCEPT_RESOLUTION, london(2026, 7, 4, 10), by="x", how="phone")
    act(iss, case, Action.COMPLETE_REMEDY, london(2026, 7, 20, 10))
    assert due(case, "adr_remedy").state == "met"


# ------------------------------------------------------------------- the audit trail


def test_every_transition_appends_one_event_and_the_chain_verifies(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    before = Event.objects.count()
    for action in (Action.ACKNOWLEDGE, Action.INVESTIGATE, Action.PROPOSE_RESOLUTION):
        act(iss, case, action, london(2026, 11, 2, 12))
    assert Event.objects.count() == before + 3
    assert audit_verify(provider_id=iss.provider.pk).broken is None


def test_events_cannot_be_edited_through_the_orm(iss: World) -> None:
    from amends.cases.models import AppendOnlyError

    iss.open(london(2026, 11, 2, 10))
    event = Event.objects.first()
    assert event is not None
    event.actor = "someone else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
