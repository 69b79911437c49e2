"""API tokens: made and revoked by a provider's administrator, shown once, stored hashed.

A token is ``amends_`` and 43 random URL-safe characters (256 bits). Only its SHA-256 is kept:
a token that random cannot be guessed from a fast hash, and the lookup is one indexed read
per request. ``last_used_at`` is written at most once a minute per token (not a write per
request).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from amends.cases.errors import CaseError, ErrorCode
from amends.domain.access import ApiScope, Work
from amends.providers.models import ApiToken

if TYPE_CHECKING:
    from amends.cases.actors import Actor

log = logging.getLogger("amends.api")

PREFIX = "amends_"
#: A provider's live tokens, at most.
MAX_TOKENS = 50
_TOUCH_EVERY = timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _invalid(field: str, message: str) -> CaseError:
    return CaseError(message, field=field, code=ErrorCode.INVALID)


def api_token_create(
    *, actor: Actor, name: str, scopes: Iterable[str], now: datetime
) -> tuple[ApiToken, str]:
    """A new token for the actor's provider: (its row, the token itself, shown once)."""
    actor.require(Work.MANAGE_API)
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise _invalid("name", "Name the token (what uses it), in at most 100 characters.")
    if "\x00" in name:
        raise _invalid("name", "The name cannot contain a NUL character.")
    if isinstance(scopes, str) or not isinstance(scopes, Iterable):
        raise _invalid("scopes", "Choose the token's scopes as a list.")
    chosen = [str(s) for s in scopes]
    unknown = [s for s in chosen if s not in ApiScope.__members__.values()]
    if unknown or not chosen:
        raise _invalid(
            "scopes", f"Choose at least one scope from: {', '.join(s.value for s in ApiScope)}."
        )
    raw = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        live = ApiToken.objects.filter(
            provider_id=actor.provider_id, revoked_at__isnull=True
        ).count()
        if live >= MAX_TOKENS:
            raise _invalid("name", f"A provider has at most {MAX_TOKENS} live tokens.")
        token = ApiToken.objects.create(
            provider_id=actor.provider_id,
            name=name.strip(),
            prefix=raw[: len(PREFIX) + 6],
            token_hash=_hash(raw),
            scopes=sorted(set(chosen)),
            created_at=now,
            created_by_id=actor.user_id,
        )
    log.info("api token created", extra={"token_id": token.pk, "provider_id": token.provider_id})
    return token, raw


def api_token_revoke(*, actor: Actor, token_id: int, now: datetime) -> ApiToken:
    """Revoke a token of the actor's provider: every later request with it is refused."""
    actor.require(Work.MANAGE_API)
    if isinstance(token_id, bool) or not isinstance(token_id, int):
        raise CaseError("No such token.", code=ErrorCode.NOT_FOUND)
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .filter(pk=token_id, provider_id=actor.provider_id)
            .first()
        )
        if token is None:
            raise CaseError("No such token.", code=ErrorCode.NOT_FOUND)
        if token.revoked_at is None:
            token.revoked_at = now
            token.revoked_by_id = actor.user_id
            token.save(update_fields=["revoked_at", "revoked_by"])
    log.info("api token revoked", extra={"token_id": token.pk, "provider_id": token.provider_id})
    return token


def api_token_list(*, actor: Actor) -> list[ApiToken]:
    actor.require(Work.MANAGE_API)
    return list(ApiToken.objects.filter(provider_id=actor.provider_id).select_related("created_by"))


def api_token_authenticate(raw: object, *, now: datetime) -> ApiToken | None:
    """The live token ``raw`` is, or None (unknown, revoked, malformed: the same answer)."""
    if not isinstance(raw, str) or not raw.startswith(PREFIX) or not 20 <= len(raw) <= 100:
        return None
    digest = _hash(raw)
    token = ApiToken.objects.filter(token_hash=digest, revoked_at__isnull=True).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
