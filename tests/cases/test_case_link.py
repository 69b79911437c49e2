"""The customer's private case link: made with the case from a public form (and put in the
acknowledgement), or sent again on request; only its hash is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from amends.cases import actions
from amends.cases.actors import system_actor
from amends.cases.models import CaseLink
from amends.cases.selectors import case_get_for_customer
from amends.comms.models import OutboxMessage
from amends.domain.codes import CaseKind, ChannelType
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def url_for(token: str) -> str:
    return f"https://complaints.example.invalid/v4voip/case/{token}/"


def test_a_public_submission_gets_its_link_in_the_acknowledgement(v4voip: World) -> None:
    now = london(2026, 5, 4, 10)
    case = actions.case_open(
        provider=v4voip.provider,
        customer=v4voip.customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.WEB_FORM,
        first_received_at=now,
        summary="Calls drop",
        now=now,
        actor=system_actor(v4voip.provider.pk),
        link_url_for=url_for,
    )
    token = case.link_token  # type: ignore[attr-defined]
    assert len(token) >= 40
    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    assert url_for(token) in ack.body_text
    if ack.channel == "email":
        assert url_for(token) in ack.body_html
    stored = CaseLink.objects.get(case=case)
    assert token not in stored.token_hash  # only the hash is kept
    assert stored.expires_at == now + actions.LINK_LIFETIME
    assert case_get_for_customer(token, now=now + timedelta(days=1)) == case
    assert case_get_for_customer(token, now=stored.expires_at) is None  # expired
    assert case.events.filter(kind="case_link_sent").count() == 1


def test_a_link_sent_again_is_a_new_link_in_its_own_message(v4voip: World) -> None:
    case = v4voip.open(london(2026, 5, 4, 10))
    sent = actions.case_link_send(
        case_id=case.pk,
        actor=system_actor(v4voip.provider.pk),
        now=london(2026, 5, 5, 9),
        url_for=url_for,
    )
    message = OutboxMessage.objects.get(case=case, kind="case_link")
    token = message.payload["url"].rstrip("/").rsplit("/", 1)[1]
    assert case_get_for_customer(token, now=london(2026, 5, 5, 10)) == case
    assert sent.expires_at == london(2026, 5, 5, 9) + actions.LINK_LIFETIME
