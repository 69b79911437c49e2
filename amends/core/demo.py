"""Demo data for ``make run``: the two seed providers with their codes, one staff user per
role, and cases in every state. Idempotent.

Running it again creates only what is missing and changes nothing that exists (a demo
password changed by hand stays changed; a provider that has cases gets no more). It refuses
to run in production. The deadlock state is transient (deadlock issues the ADR letter in the
same transaction), so the demo's deadlocked complaint rests in "ADR letter issued".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from amends.cases.actions import case_merge, case_open, customer_create
from amends.cases.actors import staff_actor
from amends.cases.models import Case
from amends.cases.scripted import perform
from amends.domain.codes import CaseKind, ChannelType, Nation
from amends.domain.lifecycle import Action
from amends.providers.models import Provider, Role, StaffMember
from amends.providers.services import code_version_activate, provider_create

DEMO_PASSWORD = "amends-demo"
CODES = Path(__file__).resolve().parent.parent / "codes"

DEMO_PROVIDERS: list[dict[str, Any]] = [
    # Both seed providers are in England and Wales: V4VoIP in Park Royal, London; ISS in
    # Ebbw Vale, Blaenau Gwent (see ../shared/seeds/). Both belong to the Communications
    # Ombudsman in the demo (ISS's code wrongly names Ofcom; `amends code check` says so).
    {
        "slug": "v4voip",
        "name": "V4VoIP",
        "legal_name": "V4VoIP Ltd",
        "nation": Nation.ENGLAND_AND_WALES,
        "reference_prefix": "V4V",
        "adr_scheme": "communications-ombudsman",
        "code": "v4voip.toml",
        "brand_colour": "#5b2a86",
    },
    {
        "slug": "iss",
        "name": "ISS",
        "legal_name": "Infinity System Solutions Ltd",
        "nation": Nation.ENGLAND_AND_WALES,
        "reference_prefix": "ISS",
        "adr_scheme": "communications-ombudsman",
        "code": "iss.toml",
        "brand_colour": "#0b5e55",
    },
]

# (target state, days since first receipt, [(action, hours after receipt, details)])
Step = tuple[Action, float, dict[str, Any]]
ACCEPT = {"by": "the customer", "how": "phone"}
#: What each action needs said, where a story step does not say it.
NEEDS: dict[Action, dict[str, Any]] = {
    Action.PROPOSE_RESOLUTION: {
        "proposal": "We will fix the fault and credit £25 to your invoice."
    },
    Action.DECLARE_DEADLOCK: {"final_position": "We have checked our network and found no fault."},
    Action.WITHDRAW: {"by": "the customer", "how": "phone", "reason": "fault cleared itself"},
    Action.RECORD_SCHEME_DECISION: {"outcome": "upheld"},
}
STORIES: list[tuple[str, float, list[Step]]] = [
    ("received", 0.1, []),
    ("acknowledged", 1, [(Action.ACKNOWLEDGE, 2, {})]),
    ("assigned", 2, [(Action.ACKNOWLEDGE, 1, {}), (Action.ASSIGN, 2, {})]),
    (
        "investigating",
        6,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.INTRODUCE_HANDLER, 20, {}),
            (Action.INVESTIGATE, 24, {}),
        ],
    ),
    (
        "escalated",
        12,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.INVESTIGATE, 24, {}),
            (Action.ESCALATE, 100, {"reason": "customer asked for a manager"}),
        ],
    ),
    (
        "resolution_proposed",
        9,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.INVESTIGATE, 24, {}),
            (Action.PROPOSE_RESOLUTION, 120, {}),
        ],
    ),
    (
        "resolved",
        8,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.INVESTIGATE, 24, {}),
            (Action.PROPOSE_RESOLUTION, 72, {}),
            (Action.ACCEPT_RESOLUTION, 96, ACCEPT),
        ],
    ),
    (
        "closed",
        20,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.INVESTIGATE, 24, {}),
            (Action.PROPOSE_RESOLUTION, 72, {}),
            (Action.ACCEPT_RESOLUTION, 80, ACCEPT),
            (Action.CLOSE, 82, {}),
        ],
    ),
    (
        "reopened",
        25,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.PROPOSE_RESOLUTION, 48, {}),
            (Action.ACCEPT_RESOLUTION, 50, ACCEPT),
            (Action.CLOSE, 52, {}),
            (Action.REOPEN, 300, {"reason": "the fault came back"}),
        ],
    ),
    (
        "adr_letter_issued",
        30,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.INVESTIGATE, 24, {}),
            (Action.DECLARE_DEADLOCK, 400, {"final_position": "No fault found on our network"}),
        ],
    ),
    (
        "referred",
        70,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.DECLARE_DEADLOCK, 300, {"final_position": "Charges are correct"}),
            (Action.REFER_TO_SCHEME, 600, {"scheme_reference": "CO-2026-01187"}),
        ],
    ),
    (
        "scheme_decision",
        100,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.DECLARE_DEADLOCK, 300, NEEDS[Action.DECLARE_DEADLOCK]),
            (Action.REFER_TO_SCHEME, 600, {"scheme_reference": "CO-2026-00871"}),
            (
                Action.RECORD_SCHEME_DECISION,
                1900,
                {"outcome": "upheld", "remedies": "apology; £40 credit"},
            ),
            (Action.ACCEPT_DECISION, 1950, {}),
        ],
    ),
    (
        "remedy_done",
        140,
        [
            (Action.ACKNOWLEDGE, 1, {}),
            (Action.ASSIGN, 1, {}),
            (Action.DECLARE_DEADLOCK, 200, NEEDS[Action.DECLARE_DEADLOCK]),
            (Action.REFER_TO_SCHEME, 500, {"scheme_reference": "CO-2026-00412"}),
            (
                Action.RECORD_SCHEME_DECISION,
                1700,
                {"outcome": "partly upheld", "remedies": "£25 credit"},
            ),
            (Action.ACCEPT_DECISION, 1750, {}),
            (Action.COMPLETE_REMEDY, 1900, {}),
        ],
    ),
    ("withdrawn", 4, [(Action.ACKNOWLEDGE, 1, {}), (Action.WITHDRAW, 30, {})]),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


@dataclass(frozen=True)
class DemoSummary:
    created: list[str]
    logins: list[DemoLogin]


@transaction.atomic
def demo_load(*, now: datetime | None = None) -> DemoSummary:
    now = now or timezone.now()
    created: list[str] = []
    logins: list[DemoLogin] = [DemoLogin("admin", DEMO_PASSWORD, "administrator (/admin/)")]
    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser(
            username="admin", email="admin@amends.localhost", password=DEMO_PASSWORD
        )
        created.append("user admin")

    for fields in DEMO_PROVIDERS:
        values = {k: v for k, v in fields.items() if k not in ("slug", "code")}
        found = Provider.objects.filter(slug=fields["slug"]).first()
        if found is None:
            provider = provider_create(
                slug=fields["slug"],
                name=values["name"],
                legal_name=values["legal_name"],
                nation=values["nation"],
                reference_prefix=values["reference_prefix"],
                adr_scheme=values["adr_scheme"],
                brand_colour=values["brand_colour"],
                alerts_email=f"complaints-team@{fields['slug']}.example.invalid",
            )
            created.append(f"provider {provider.slug}")
        else:
            provider = found
        if not provider.code_versions.exists():
            code_version_activate(
                provider=provider,
                content=(CODES / fields["code"]).read_text(),
                effective_from=date(2024, 1, 1),
                activated_by=None,
                now=now,
            )
            created.append(f"code {provider.slug}")
        staff = _staff(provider, created)
        logins += [
            DemoLogin(
                f"{provider.slug}-{role.value}", DEMO_PASSWORD, f"{role.label}, {provider.name}"
            )
            for role in Role
        ]
        if not Case.objects.filter(provider=provider).exists():
            _stories(provider, staff, now)
            created.append(f"{len(STORIES) + 2} cases for {provider.slug}")
    return DemoSummary(created=created, logins=logins)


def _staff(provider: Provider, created: list[str]) -> dict[Role, StaffMember]:
    user_model = get_user_model()
    members: dict[Role, StaffMember] = {}
    for role in Role:
        username = f"{provider.slug}-{role.value}"
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username}@amends.localhost",
                is_staff=role in (Role.ADMIN, Role.COMPLIANCE),
            )
            created.append(f"user {username}")
        member, _ = StaffMember.objects.get_or_create(
            user=user, defaults={"provider": provider, "role": role.value}
        )
        members[role] = member
    manager = members[Role.MANAGER]
    for role in (Role.ADVISER, Role.CASE_HANDLER):
        if members[role].manager_id is None:
            members[role].manager = manager
            members[role].save(update_fields=["manager"])
    return members


def _letters_for(number: int) -> dict[str, Any]:
    if number % 3 and number != 5:
        return {}
    return {
        "preferred_contact": "letter",
        "postal_address": f"{number} Demo Street\nEbbw Vale\nNP23 6HA",
        "access_needs": ["large_print"] if number == 5 else [],
    }


def _stories(provider: Provider, staff: dict[Role, StaffMember], now: datetime) -> None:
    handler = staff[Role.CASE_HANDLER].user
    actor = staff_actor(staff[Role.MANAGER])
    channels = list(ChannelType)
    for number, (state, days_ago, steps) in enumerate(STORIES, start=1):
        received = (now - timedelta(days=days_ago)).replace(second=0, microsecond=0)
        customer = customer_create(
            provider=provider,
            now=received,
            contact_name=f"Demo customer {number}",
            business_name=f"Demo Business {number} Ltd",
            account_number=f"{provider.reference_prefix}{10000 + number}",
            email=f"customer{number}@example.invalid",
            # Every third customer prefers letters (the fifth needs large print): their
            # messages wait in the print queue; the others' go by email.
            **_letters_for(number),
        )
        case = case_open(
            provider=provider,
            customer=customer,
            kind=CaseKind.COMPLAINT,
            channel=channels[number % len(channels)],
            first_received_at=received,
            summary=f"Demo complaint that is {state.replace('_', ' ')}",
            now=received,
            actor=actor,
        )
        for action, hours, details in steps:
            at = min(received + timedelta(hours=hours), now)
            arguments = {**NEEDS.get(action, {}), **details}
            if action is Action.ASSIGN:
                arguments = {"handler_id": handler.pk}
            perform(action, case_id=case.pk, actor=actor, now=at, **arguments)
        case.refresh_from_db()
        if case.state != state:  # the stories are the demo of every state: keep them honest
            raise RuntimeError(f"demo case meant to be {state} is {case.state}")
    _merged_duplicate(provider, actor, now)
    case_open(
        provider=provider,
        customer=customer,
        kind=CaseKind.ACCOUNT_QUERY,
        channel=ChannelType.EMAIL,
        first_received_at=now - timedelta(days=1),
        summary="Demo account query: a question about an invoice",
        now=now - timedelta(days=1),
        actor=actor,
    )


def _merged_duplicate(provider: Provider, actor: Any, now: datetime) -> None:
    """The "investigating" customer wrote again about the same fault: the second case was
    opened by mistake and merged into the first (the earliest receipt stands)."""
    keeper = Case.objects.filter(provider=provider, state="investigating").select_related(
        "customer"
    )[0]
    received = (now - timedelta(days=10)).replace(second=0, microsecond=0)
    duplicate = case_open(
        provider=provider,
        customer=keeper.customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.POST,
        first_received_at=received,
        summary="Demo duplicate: the same fault, written in again",
        now=received,
        actor=actor,
    )
    case_merge(
        case_id=keeper.pk,
        actor=actor,
        duplicate_id=duplicate.pk,
        reason="the customer wrote again about the same fault",
        now=min(received + timedelta(hours=2), now),
    )
