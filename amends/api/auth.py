"""Who is calling: an API token of one provider (``Authorization: Bearer amends_...``).

Every request is scoped to the token's provider and acts as an integration actor with the
token's scopes (``amends.domain.access.SCOPE_PERMISSIONS``); the services check them like a
member of staff's role. A request over the token's rate (``AMENDS_API_RATE_PER_MINUTE``) is
refused with 429 and Retry-After before anything is read.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from amends.cases.actors import Actor, token_actor
from amends.core.ratelimit import count, seconds_left
from amends.domain.access import ApiScope
from amends.providers.models import ApiToken
from amends.providers.tokens import api_token_authenticate


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__("rate limited")
        self.retry_after = retry_after


class MissingScope(Exception):
    def __init__(self, scope: ApiScope) -> None:
        super().__init__(scope.value)
        self.scope = scope


class TokenAuth(HttpBearer):
    """A live token, within its rate, with ``scope`` when one is named: checked before the
    body is read (a token without the scope gets 403 whatever it sends); the services check
    the permission again."""

    def __init__(self, scope: ApiScope | None = None) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        """``Bearer <token>`` (the scheme in any case), as ninja reads it, but never logged:
        ninja's own reader writes a header with another scheme (``Token amends_...``) to the
        log in DEBUG."""
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not token:
            return None
        return self.authenticate(request, token)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = api_token_authenticate(token, now=timezone.now())
        if found is None:
            return None
        limit = int(getattr(settings, "AMENDS_API_RATE_PER_MINUTE", 600))
        if count(f"api-token:{found.token_hash}", seconds=60) > limit:
            raise RateLimited(seconds_left(60))
        if self.scope is not None and self.scope.value not in found.scopes:
            raise MissingScope(self.scope)
        return found


#: The scope each kind of endpoint needs (``write`` also reads the cases it acts on).
READ = TokenAuth(ApiScope.READ)
WRITE = TokenAuth(ApiScope.WRITE)
HOOKS = TokenAuth(ApiScope.WEBHOOKS)
ANY = TokenAuth()


def actor_of(request: HttpRequest) -> Actor:
    token: Any = getattr(request, "auth", None)
    if not isinstance(token, ApiToken):  # (every route is behind TokenAuth)
        raise RuntimeError("no API token on the request")
    return token_actor(token)
