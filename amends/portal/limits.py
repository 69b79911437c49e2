"""Rate limits on the public forms: a fixed-window counter per key in Django's cache.

Every process shares the count when the cache is shared (``AMENDS_CACHE_URL``, Redis); the
local memory cache counts per process. A window is ``AMENDS_PUBLIC_LIMIT_WINDOW`` seconds
(an hour); within it at most ``AMENDS_PUBLIC_LIMIT_PER_IP`` submissions come from one IP
address and ``AMENDS_PUBLIC_LIMIT_PER_ADDRESS`` for one contact address (the email address,
else the phone number or postal address, hashed: no address is kept in the cache).
"""

from __future__ import annotations

from django.conf import settings

from amends.core.ratelimit import count

DEFAULT_PER_IP = 20
DEFAULT_PER_ADDRESS = 5
DEFAULT_WINDOW = 3600


def per_ip() -> int:
    return int(getattr(settings, "AMENDS_PUBLIC_LIMIT_PER_IP", DEFAULT_PER_IP))


def per_address() -> int:
    return int(getattr(settings, "AMENDS_PUBLIC_LIMIT_PER_ADDRESS", DEFAULT_PER_ADDRESS))


def window() -> int:
    return max(1, int(getattr(settings, "AMENDS_PUBLIC_LIMIT_WINDOW", DEFAULT_WINDOW)))


def address_key(*, email: str = "", phone: str = "", postal_address: str = "") -> str:
    """The contact address a submission counts against (normalised), or ''."""
    if email.strip():
        return "email:" + email.strip().lower()
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits:
        return "phone:" + digits
    if postal_address.strip():
        return "post:" + " ".join(postal_address.lower().split())
    return ""


def submission_allowed(*, provider_id: int, ip: str, address: str) -> bool:
    """Count a submission from ``ip`` for ``address``: False when either is over its limit."""
    seconds = window()
    allowed = count(f"ip:{ip}", seconds=seconds) <= per_ip()
    if address:
        allowed = count(f"addr:{provider_id}:{address}", seconds=seconds) <= per_address() and (
            allowed
        )
    return allowed


__all__ = ["address_key", "count", "per_address", "per_ip", "submission_allowed", "window"]
