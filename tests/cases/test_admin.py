"""The admin shows cases, events and clocks, and changes none of them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def test_case_state_is_read_only_in_the_admin(client: Client, iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    client.force_login(User.objects.create_superuser("root-admin"))
    page = client.get(f"/admin/cases/case/{case.pk}/change/")
    assert page.status_code == 200
    assert case.reference in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    posted = client.post(f"/admin/cases/case/{case.pk}/change/", {"state": "closed"})
    assert posted.status_code == 403
    case.refresh_from_db()
    assert case.state == "received"


def test_events_cannot_be_deleted_in_the_admin(client: Client, iss: World) -> None:
    case = iss.open(london(2026, 11, 2, 10))
    event = case.events.get()
    client.force_login(User.objects.create_superuser("root-admin"))
    assert client.post(f"/admin/cases/event/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert case.events.count() == 1


def provider_admin(world: World, role: str = "admin") -> User:
    from amends.domain.access import Role
    from amends.providers.services import staff_create

    member = staff_create(
        provider=world.provider, username=f"{world.provider.slug}-{role}-x", role=Role(role)
    )
    member.user.is_staff = True
    member.user.save()
    return member.user


def test_a_providers_admin_sees_only_its_own_rows(
    client: Client, iss: World, v4voip: World
) -> None:
    mine = iss.open(london(2026, 11, 2, 10))
    theirs = v4voip.open(london(2026, 11, 2, 10))
    client.force_login(provider_admin(iss))
    listing = client.get("/admin/cases/case/")
    assert listing.status_code == 200
    assert mine.reference in listing.content.decode()
    assert theirs.reference not in listing.content.decode()
    # Another provider's case, event and provider record: not found (never its existence).
    other = client.get(f"/admin/cases/case/{theirs.pk}/change/", follow=True)
    assert theirs.reference not in other.content.decode()
    assert client.get(f"/admin/cases/case/{mine.pk}/change/").status_code == 200
    providers = client.get("/admin/providers/provider/").content.decode()
    assert "ISS" in providers and "V4VOIP" not in providers
    events = client.get("/admin/cases/event/").content.decode()
    assert f"/admin/cases/event/{theirs.events.get().pk}/" not in events
    # Read-only for provider staff: no change even to their own rows.
    assert (
        client.post(f"/admin/cases/case/{mine.pk}/change/", {"state": "closed"}).status_code == 403
    )


def test_a_role_without_admin_rights_has_no_admin(client: Client, iss: World) -> None:
    handler = iss.handler
    handler.is_staff = True
    handler.save()
    client.force_login(handler)
    page = client.get("/admin/cases/case/")
    assert page.status_code == 403
