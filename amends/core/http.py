"""What every face needs to know about a request."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``AMENDS_PROXY_COUNT`` trusted proxies
    the address the outermost of them saw (from the right of ``X-Forwarded-For``), so that
    one proxy's address does not stand for everybody (sign-in lockout, public rate limits).
    A client cannot choose it: hops to the left of the trusted ones are ignored."""
    count = int(getattr(settings, "AMENDS_PROXY_COUNT", 0))
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-count] if len(hops) >= count else hops[0]
    address = request.META.get("REMOTE_ADDR")
    return str(address) if address else None
