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
