"""A fixed-window counter per key in Django's cache (the public forms' and the API's limits).

Every process shares the count when the cache is shared (``AMENDS_CACHE_URL``, Redis); the
local memory cache counts per process. Keys are hashed: no address or token is kept in the
cache.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def count(key: str, *, seconds: int, now: float | None = None) -> int:
    """Count one more hit on ``key`` in the current window; return the window's count."""
    moment = time.time() if now is None else now
    bucket = int(moment // seconds)
    name = f"amends:limit:{_digest(key)}:{bucket}"
    if cache.add(name, 1, timeout=seconds + 60):
        return 1
    try:
        return int(cache.incr(name))
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=seconds + 60)
        return 1


def seconds_left(seconds: int, now: float | None = None) -> int:
    """Seconds until the current window ends (for Retry-After)."""
    moment = time.time() if now is None else now
    return max(1, int(seconds - (moment % seconds)) + 1)
