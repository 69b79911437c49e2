"""Given: providers running the shipped codes, a customer, staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from amends.cases.actions import case_open, customer_create
from amends.cases.actors import Actor, customer_actor, staff_actor, system_actor
from amends.cases.events import audit_verify
from amends.cases.models import Case, Customer, Event
from amends.cases.scripted import perform
from amends.domain.access import Role
from amends.domain.codes import CaseKind, ChannelType, Nation
from amends.domain.lifecycle import Action
from amends.providers.models import Provider, ProviderLedger, StaffMember
from amends.providers.services import code_version_activate, provider_create, staff_create

CODES = Path(__file__).resolve().parents[2] / "amends" / "codes"
LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


#: What each action needs said, where a test does not say it.
NEEDS: dict[Action, dict[str, Any]] = {
    Action.PROPOSE_RESOLUTION: {"proposal": "A credit of £20 and the line repaired"},
    Action.ACCEPT_RESOLUTION: {"by": "Pat Example", "how": "phone"},
    Action.REJECT_RESOLUTION: {"by": "Pat Example", "how": "phone"},
    Action.WITHDRAW: {"by": "Pat Example", "how": "phone"},
    Action.REQUEST_ADR_LETTER: {"by": "Pat Example", "how": "phone"},
    Action.DECLARE_DEADLOCK: {"final_position": "No fault found"},
    Action.ESCALATE: {"reason": "the customer asked"},
    Action.REOPEN: {"reason": "the fault came back"},
    Action.CONVERT_TO_COMPLAINT: {"reason": "the customer is unhappy"},
    Action.SCHEME_DECLINED: {"reason": "premature"},
    Action.RECORD_SCHEME_DECISION: {"outcome": "upheld"},
    Action.RECORD_UPDATE: {"channel": "phone"},
    Action.AGREE_UPDATES: {"interval": "5 working days"},
    Action.REFER_TO_SCHEME: {"scheme_reference": "CO-1"},
}


@dataclass
class World:
    provider: Provider
    customer: Customer
    handler: User
    manager: User
    member: StaffMember

    @property
    def staff(self) -> Actor:
        """A manager: may do every case action."""
        return staff_actor(StaffMember.objects.get(user=self.manager))

    def customer_of(self, case: Case) -> Actor:
        return customer_actor(provider_id=self.provider.pk, case_id=case.pk)

    @property
    def system(self) -> Actor:
        return system_actor(self.provider.pk)

    def act(self, case: Case, action: Action, when: datetime, **arguments: Any) -> Case:
        """Perform ``action`` through its typed service as a manager of the provider."""
        if action is Action.ASSIGN:
            arguments.setdefault("handler_id", self.handler.pk)
        elif action is not Action.ISSUE_ADR_LETTER:
            arguments = {**NEEDS.get(action, {}), **arguments}
        actor = arguments.pop("actor", None) or self.staff
        return perform(action, case_id=case.pk, actor=actor, now=when, **arguments)

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
            actor=self.staff,
            first_received_note=note or "entered later in a test",
        )


def make_world(slug: str, code_file: str, prefix: str, scheme: str) -> World:
    provider = provider_create(
        slug=slug,
        name=slug.upper(),
        nation=Nation.ENGLAND_AND_WALES,
        reference_prefix=prefix,
        adr_scheme=scheme,
        alerts_email=f"team@{slug}.example.invalid",
    )
    code_version_activate(
        provider=provider,
        content=(CODES / code_file).read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=london(2020, 1, 1, 9),
    )
    manager_member = staff_create(
        provider=provider,
        username=f"{slug}-manager",
        role=Role.MANAGER,
        email=f"manager@{slug}.example.invalid",
    )
    member = staff_create(
        provider=provider,
        username=f"{slug}-handler",
        role=Role.CASE_HANDLER,
        manager=manager_member,
    )
    customer = customer_create(
        provider=provider,
        now=london(2020, 1, 1, 9),
        contact_name="Pat Example",
        business_name="Example Ltd",
    )
    return World(
        provider=provider,
        customer=customer,
        handler=member.user,
        manager=manager_member.user,
        member=member,
    )


@pytest.fixture
def iss(db: None) -> World:
    return make_world("iss", "iss.toml", "ISS", "communications-ombudsman")


@pytest.fixture
def v4voip(db: None) -> World:
    return make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")


@pytest.fixture
def compliant(db: None) -> World:
    return make_world("tmpl", "template.toml", "TPL", "communications-ombudsman")


def chain_is_whole(provider_id: int) -> list[int]:
    """The provider's audit chain verifies, its sequences are 1..n, and the ledger's head is
    the last event: returns the sequences."""
    result = audit_verify(provider_id=provider_id)
    assert result.broken is None, result.broken
    sequences = list(
        Event.objects.filter(provider_id=provider_id)
        .order_by("sequence", "id")
        .values_list("sequence", flat=True)
    )
    assert sequences == list(range(1, len(sequences) + 1)), sequences
    ledger = ProviderLedger.objects.get(provider_id=provider_id)
    assert ledger.last_event_sequence == len(sequences)
    last = Event.objects.filter(provider_id=provider_id).order_by("-sequence").first()
    assert last is not None and ledger.last_event_hash == last.hash
    return sequences
