"""Messages meet promises when they reach the person, and messages in land on their case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amends.cases import actions
from amends.cases.errors import CaseError
from amends.cases.models import Case, Obligation
from amends.comms.models import OutboxKind, OutboxMessage
from amends.comms.outbox import Outbox, customer_recipient
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import Action
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def queue(case: Case, kind: OutboxKind, meets: str, at) -> OutboxMessage:  # type: ignore[no-untyped-def]
    outbox = Outbox()
    outbox.add(
        provider=case.provider,
        case=case,
        kind=kind,
        key=f"case:{case.pk}:{kind.value}:test",
        recipient=customer_recipient(case.customer),
        now=at,
        payload={"reference": case.reference},
    )
    outbox.rows[0].meets = meets
    outbox.flush()
    return OutboxMessage.objects.get(key=f"case:{case.pk}:{kind.value}:test")


def test_an_acknowledgement_meets_its_clock_when_delivered_not_when_written(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    message = queue(case, OutboxKind.ACKNOWLEDGEMENT, "acknowledge", london(2026, 11, 20, 10))
    assert Obligation.objects.get(case=case, key="acknowledge").state == "pending"
    delivered = london(2026, 11, 20, 10, 5)
    actions.case_message_delivered(outbox_id=message.pk, actor=iss.system, now=delivered)
    case.refresh_from_db()
    assert (case.state, case.acknowledged_at) == ("acknowledged", delivered)
    ack = Obligation.objects.get(case=case, key="acknowledge")
    assert (ack.state, ack.met_at) == ("met", delivered)
    message.refresh_from_db()
    assert (message.status, message.sent_at, message.delivered_by) == ("sent", delivered, "")
    with pytest.raises(CaseError, match="already delivered"):
        actions.case_message_delivered(
            outbox_id=message.pk, actor=iss.system, now=delivered + timedelta(minutes=1)
        )
    assert case.events.filter(kind="message_delivered").count() == 1


def test_a_letter_posted_by_staff_records_who_posted_it_and_when(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    message = queue(
        case, OutboxKind.HANDLER_INTRODUCTION, "introduce_handler", london(2026, 11, 20, 10)
    )
    actions.case_message_delivered(
        outbox_id=message.pk,
        actor=iss.staff,
        now=london(2026, 11, 23, 9),
        at=london(2026, 11, 20, 16),
    )
    case.refresh_from_db()
    message.refresh_from_db()
    assert case.handler_introduced_at == london(2026, 11, 20, 16)
    assert message.delivered_by == f"user:{iss.manager.pk}"


def test_another_providers_message_is_not_found(iss: World, v4voip: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    message = queue(case, OutboxKind.ACKNOWLEDGEMENT, "acknowledge", london(2026, 11, 20, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_message_delivered(
            outbox_id=message.pk, actor=v4voip.staff, now=london(2026, 11, 20, 11)
        )
    assert refused.value.code.value == "not_found"


def test_a_dissatisfied_message_on_a_query_makes_it_a_complaint(iss: World) -> None:
    query = iss.open(london(2026, 11, 20, 10), kind=CaseKind.ACCOUNT_QUERY)
    actions.case_message_received(
        case_id=query.pk,
        actor=iss.system,
        message=17,
        summary="email from the customer",
        now=london(2026, 11, 21, 10),
        received_at=london(2026, 11, 21, 9, 58),
        dissatisfied=True,
    )
    query.refresh_from_db()
    assert (query.kind, query.first_received_at) == ("complaint", london(2026, 11, 20, 10))
    event = query.events.get(kind="message_received")
    assert event.data["message"] == 17 and event.data["dissatisfied"] is True


def test_amends_itself_sends_what_the_code_promises_as_things_happen(iss: World) -> None:
    # ISS promises an acknowledgement (24 working hours) and a handler's introduction
    # (48 hours): both are written by Amends, and met when they reach the customer.
    case = iss.open(london(2026, 11, 20, 10))
    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    assert (ack.meets, ack.audience) == ("acknowledge", "customer")
    iss.act(case, Action.ASSIGN, london(2026, 11, 20, 11))
    intro = OutboxMessage.objects.get(case=case, kind="handler_introduction")
    assert intro.meets == "introduce_handler"

    iss.act(case, Action.ESCALATE, london(2026, 11, 21, 11))
    iss.act(case, Action.PROPOSE_RESOLUTION, london(2026, 11, 22, 11), proposal="A £20 credit")
    iss.act(case, Action.ACCEPT_RESOLUTION, london(2026, 11, 22, 12))
    iss.act(case, Action.CLOSE, london(2026, 11, 22, 13))
    kinds = set(OutboxMessage.objects.filter(case=case).values_list("kind", flat=True))
    assert {"escalation_acknowledgement", "proposed_resolution", "closure"} <= kinds


def test_v4voip_acknowledges_written_complaints_only(v4voip: World) -> None:
    from amends.domain.codes import ChannelType

    by_phone = v4voip.open(london(2026, 11, 20, 10), channel=ChannelType.PHONE)
    by_email = v4voip.open(london(2026, 11, 20, 10), channel=ChannelType.EMAIL)
    assert not OutboxMessage.objects.filter(case=by_phone, kind="acknowledgement").exists()
    assert OutboxMessage.objects.filter(case=by_email, kind="acknowledgement").exists()
