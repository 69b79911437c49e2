"""Demo data: both seed providers and a staff login; loading twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from amends.core.demo import DEMO_PASSWORD, demo_load
from amends.providers.models import Provider

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    providers = sorted(Provider.objects.values_list("slug", "legal_name", "nation"))
    users = sorted(get_user_model().objects.values_list("username", "password"))
    return providers, users


def test_demo_load_creates_both_seed_providers_and_an_admin() -> None:
    summary = demo_load()
    assert sorted(Provider.objects.values_list("slug", flat=True)) == ["iss", "v4voip"]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    assert summary.created == ["provider v4voip", "provider iss", "user admin"]


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
    assert "admin / amends-demo" in out.getvalue()


def test_demo_is_refused_in_production(settings: object) -> None:
    settings.PRODUCTION = True  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="never loaded when AMENDS_ENV=production"):
        call_command("demo", stdout=StringIO())
    assert not Provider.objects.exists()
