"""Given: providers running the shipped codes, a customer, staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from amends.cases.models import Case, Customer
from amends.cases.services import case_open, code_version_activate, customer_create
from amends.domain.codes import CaseKind, ChannelType
from amends.providers.models import Provider, StaffMember

CODES = Path(__file__).resolve().parents[2] / "amends" / "codes"
LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


@dataclass
class World:
    provider: Provider
    customer: Customer
    handler: User
    manager: User

    def open(
        self,
        first_received_at: datetime,
        *,
        kind: CaseKind = CaseKind.COMPLAINT,
        channel: ChannelType = ChannelType.PHONE,
        now: datetime | None = None,
        note: str = "",
    ) -> Case:
        return case_open(
            provider=self.provider,
            customer=self.customer,
            kind=kind,
            channel=channel,
            first_received_at=first_received_at,
            summary="Line dead since Monday",
            now=now or first_received_at,
            first_received_note=note or "entered later in a test",
        )


def make_world(slug: str, code_file: str, prefix: str, scheme: str) -> World:
    provider = Provider.objects.create(
        slug=slug,
        name=slug.upper(),
        nation="england-and-wales",
        reference_prefix=prefix,
        adr_scheme=scheme,
    )
    code_version_activate(
        provider=provider,
        content=(CODES / code_file).read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=london(2020, 1, 1, 9),
    )
    manager = User.objects.create_user(f"{slug}-manager")
    manager_member = StaffMember.objects.create(user=manager, provider=provider, role="manager")
    handler = User.objects.create_user(f"{slug}-handler")
    StaffMember.objects.create(
        user=handler, provider=provider, role="case_handler", manager=manager_member
    )
    customer = customer_create(
        provider=provider,
        now=london(2020, 1, 1, 9),
        contact_name="Pat Example",
        business_name="Example Ltd",
    )
    return World(provider=provider, customer=customer, handler=handler, manager=manager)


@pytest.fixture
def iss(db: None) -> World:
    return make_world("iss", "iss.toml", "ISS", "communications-ombudsman")


@pytest.fixture
def v4voip(db: None) -> World:
    return make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")


@pytest.fixture
def compliant(db: None) -> World:
    return make_world("tmpl", "template.toml", "TPL", "communications-ombudsman")
