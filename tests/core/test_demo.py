"""Demo data: both seed providers and a staff login; loading twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from amends.cases.events import audit_verify
from amends.cases.models import Case, Event
from amends.core.demo import DEMO_PASSWORD, demo_load
from amends.domain.lifecycle import State
from amends.providers.models import Provider, Role, StaffMember

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[object, ...]:
    providers = sorted(Provider.objects.values_list("slug", "legal_name", "nation"))
    users = sorted(get_user_model().objects.values_list("username", "password"))
    cases = sorted(Case.objects.values_list("reference", "state"))
    events = Event.objects.count()
    return providers, users, cases, events


def test_demo_load_creates_both_seed_providers_and_an_admin() -> None:
    summary = demo_load()
    assert sorted(Provider.objects.values_list("slug", flat=True)) == ["iss", "v4voip"]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    assert summary.created[:3] == ["user admin", "provider v4voip", "code v4voip"]


def test_demo_has_one_staff_user_per_role_for_each_provider() -> None:
    demo_load()
    for slug in ("v4voip", "iss"):
        roles = sorted(
            StaffMember.objects.filter(provider__slug=slug).values_list("role", flat=True)
        )
        assert roles == sorted(role.value for role in Role)
        assert (
            get_user_model().objects.get(username=f"{slug}-manager").check_password(DEMO_PASSWORD)
        )


def test_demo_has_cases_in_every_resting_state() -> None:
    demo_load()
    for slug in ("v4voip", "iss"):
        states = set(Case.objects.filter(provider__slug=slug).values_list("state", flat=True))
        # Deadlock is transient: it issues the ADR letter in the same transaction.
        assert states == {s.value for s in State} - {State.DEADLOCK.value}
    assert audit_verify(provider_id=Provider.objects.get(slug="iss").pk).broken is None


def test_demo_load_twice_changes_nothing() -> None:
    demo_load()
    before = snapshot()
    again = demo_load()
    assert again.created == []
    assert snapshot() == before


def test_demo_load_keeps_a_password_changed_by_hand() -> None:
    demo_load()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-by-hand-123")
    admin.save()
    demo_load()
    admin.refresh_from_db()
    assert admin.check_password("changed-by-hand-123")


def test_demo_command_prints_the_logins() -> None:
    out = StringIO()
    call_command("demo", stdout=out)
    assert "every password is amends-demo" in out.getvalue()
    assert "iss-case_handler" in out.getvalue()


def test_demo_is_refused_in_production(settings: object) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="never loaded when AMENDS_ENV=production"):
        call_command("demo", stdout=StringIO())
    assert not Provider.objects.exists()
