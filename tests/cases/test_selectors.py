"""Reads are scoped once: staff see their own provider's cases, a customer only the case
their private link is for; everything else is "not found"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, User

from amends.cases.actions import case_link_create
from amends.cases.models import CaseLink
from amends.cases.selectors import (
    case_actions_for_staff,
    case_get_for_customer,
    case_get_for_staff,
    case_list_for_staff,
)
from amends.domain.access import Role
from amends.domain.lifecycle import Action
from amends.providers.services import staff_create
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def test_staff_see_only_their_own_providers_cases(iss: World, v4voip: World) -> None:
    mine = iss.open(london(2026, 11, 2, 10))
    theirs = v4voip.open(london(2026, 11, 2, 10))
    assert list(case_list_for_staff(iss.handler)) == [mine]
    assert case_get_for_staff(iss.handler, case_id=mine.pk) == mine
    assert case_get_for_staff(iss.handler, case_id=theirs.pk) is None
    assert case_get_for_staff(AnonymousUser(), case_id=mine.pk) is None
    outsider = User.objects.create_user("nobody")
    assert not case_list_for_staff(outsider).exists()


def test_a_private_link_opens_its_case_only_while_it_lives(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    other = iss.open(london(2026, 11, 2, 11))
    link, token = case_link_create(case_id=case.pk, actor=iss.staff, now=london(2026, 11, 2, 12))
    assert len(token) >= 40 and token not in link.token_hash  # only the hash is stored
    assert not CaseLink.objects.filter(token_hash=token).exists()
    assert case_get_for_customer(token, now=london(2026, 11, 3, 9)) == case
    assert case_get_for_customer(token, now=london(2026, 11, 3, 9)) != other
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert case_get_for_customer(tampered, now=london(2026, 11, 3, 9)) is None
    assert case_get_for_customer("", now=london(2026, 11, 3, 9)) is None
    assert case_get_for_customer("x" * 5000, now=london(2026, 11, 3, 9)) is None
    expired = link.expires_at + timedelta(seconds=1)
    assert case_get_for_customer(token, now=expired) is None
    CaseLink.objects.filter(pk=link.pk).update(revoked_at=london(2026, 11, 3, 9))
    assert case_get_for_customer(token, now=london(2026, 11, 3, 10)) is None
    assert case.events.filter(kind="case_link_sent").count() == 1


def test_the_actions_offered_are_what_both_the_lifecycle_and_the_role_allow(iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    adviser = staff_create(provider=iss.provider, username="iss-adv", role=Role.ADVISER).user
    compliance = staff_create(provider=iss.provider, username="iss-co", role=Role.COMPLIANCE).user
    handler_actions = case_actions_for_staff(iss.handler, case)
    assert Action.ACKNOWLEDGE in handler_actions and Action.DECLARE_DEADLOCK in handler_actions
    assert Action.CLOSE not in handler_actions  # the lifecycle: a complaint needs acceptance
    assert Action.REQUEST_ADR_LETTER in handler_actions  # never refused
    assert Action.DECLARE_DEADLOCK not in case_actions_for_staff(adviser, case)
    assert set(case_actions_for_staff(compliance, case)) == {
        Action.REQUEST_ADR_LETTER,
        Action.ISSUE_ADR_LETTER,
    }


def test_another_providers_staff_are_offered_nothing(iss: World, v4voip: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    assert case_actions_for_staff(v4voip.handler, case) == []
