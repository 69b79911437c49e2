"""Amends' settings for benchmarks/public.py's server: ``config.settings`` with the public
forms' rate limits out of the way (``amends.portal.limits`` reads them from Django settings
only, not from the environment), so that a load from one address is not refused with 429."""

from config.settings import *  # noqa: F403

AMENDS_PUBLIC_LIMIT_PER_IP = 10**9
AMENDS_PUBLIC_LIMIT_PER_ADDRESS = 10**9
