"""Given: the demo's two providers, and API tokens of each with given scopes; a client that
sends one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from amends.cases.actors import staff_actor
from amends.providers.models import Provider, StaffMember
from amends.providers.tokens import api_token_create, api_token_revoke


@dataclass
class Tokens:
    #: V4VoIP: read + write + webhooks, read only, write only, webhooks only, revoked.
    full: str
    read: str
    write: str
    hooks: str
    revoked: str
    #: ISS: read + write + webhooks.
    other: str
    v4voip: Provider
    iss: Provider


def make_token(slug: str, *scopes: str, name: str = "CRM") -> str:
    admin = StaffMember.objects.get(provider__slug=slug, role="admin")
    _, raw = api_token_create(
        actor=staff_actor(admin), name=name, scopes=list(scopes), now=timezone.now()
    )
    return raw


@pytest.fixture
def tokens(db: Any) -> Tokens:
    return make_tokens()


@pytest.fixture
def tokens_committed(transactional_db: Any) -> Tokens:
    """The same, committed (for tests with several threads or processes)."""
    return make_tokens()


def make_tokens() -> Tokens:
    """The two seed providers with their codes, an administrator and one open complaint
    each (not the whole demo: a second each on PostgreSQL)."""
    from amends.domain.access import Role
    from amends.providers.services import staff_create
    from tests.cases.conftest import make_world

    for slug, code, prefix in (("v4voip", "v4voip.toml", "V4V"), ("iss", "iss.toml", "ISS")):
        world = make_world(slug, code, prefix, "communications-ombudsman")
        staff_create(provider=world.provider, username=f"{slug}-admin", role=Role.ADMIN)
        world.open(timezone.now(), channel="email")
    return _tokens()


def _tokens() -> Tokens:
    revoked = make_token("v4voip", "read", "write", name="old")
    admin = StaffMember.objects.get(provider__slug="v4voip", role="admin")
    from amends.providers.models import ApiToken

    api_token_revoke(
        actor=staff_actor(admin),
        token_id=ApiToken.objects.get(name="old").pk,
        now=timezone.now(),
    )
    return Tokens(
        full=make_token("v4voip", "read", "write", "webhooks"),
        read=make_token("v4voip", "read"),
        write=make_token("v4voip", "write"),
        hooks=make_token("v4voip", "webhooks"),
        revoked=revoked,
        other=make_token("iss", "read", "write", "webhooks"),
        v4voip=Provider.objects.get(slug="v4voip"),
        iss=Provider.objects.get(slug="iss"),
    )


class Api:
    """A client that sends a token and JSON."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self, extra: dict[str, str]) -> dict[str, str]:
        headers = dict(extra)
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._headers(headers))

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            data={} if body is None else body,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.patch(
            f"/api/v1{path}",
            data=body,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._headers(headers))


@pytest.fixture
def api(tokens: Tokens) -> Api:
    return Api(tokens.full)


def as_token(token: str | None) -> Api:
    return Api(token)
