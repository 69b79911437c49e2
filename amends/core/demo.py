"""Demo data for ``make run``: the two seed providers and staff logins. Idempotent.

Running it again creates only what is missing and changes nothing that exists (a demo
password changed by hand stays changed). It refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from amends.providers.models import Nation, Provider

DEMO_PASSWORD = "amends-demo"

DEMO_PROVIDERS = [
    # Both seed providers are in England and Wales: V4VoIP in Park Royal, London; ISS in
    # Ebbw Vale, Blaenau Gwent (see ../shared/seeds/).
    {
        "slug": "v4voip",
        "name": "V4VoIP",
        "legal_name": "V4VoIP Ltd",
        "nation": Nation.ENGLAND_AND_WALES,
    },
    {
        "slug": "iss",
        "name": "ISS",
        "legal_name": "Infinity System Solutions Ltd",
        "nation": Nation.ENGLAND_AND_WALES,
    },
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
def demo_load() -> DemoSummary:
    created: list[str] = []
    for fields in DEMO_PROVIDERS:
        _, was_created = Provider.objects.get_or_create(
            slug=fields["slug"], defaults={k: v for k, v in fields.items() if k != "slug"}
        )
        if was_created:
            created.append(f"provider {fields['slug']}")

    user_model = get_user_model()
    if not user_model.objects.filter(username="admin").exists():
        user_model.objects.create_superuser(
            username="admin", email="admin@amends.localhost", password=DEMO_PASSWORD
        )
        created.append("user admin")
    return DemoSummary(
        created=created,
        logins=[
            DemoLogin(username="admin", password=DEMO_PASSWORD, role="administrator (/admin/)")
        ],
    )
