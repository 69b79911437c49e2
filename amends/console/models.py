"""The console's own table: which sessions belong to which staff user (for "sign out
everywhere", ``amends.console.auth``).

Django's database sessions store the user id inside the encoded session data, so finding one
user's sessions would mean decoding every session. Instead each signed-in session's key is
recorded here when the user signs in (and again if the key is rotated while signed in), and
signing out everywhere deletes exactly those sessions through the session engine.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import models
from django.dispatch import receiver
from django.http import HttpRequest

#: The session key recorded for this session (a rotated key is recorded again).
TRACKED_KEY = "amends.session_tracked"
#: What the session still needs before the console opens: "verify", "setup" or "none".
SECOND_FACTOR_KEY = "amends.second_factor"


class StaffSession(models.Model):
    """One signed-in session of a user (its key in the session store)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of user {self.user_id}"


def session_track(request: HttpRequest, user_id: int) -> None:
    """Record this request's session as one of ``user_id``'s (once per session key)."""
    session = getattr(request, "session", None)
    if session is None:
        return
    key = session.session_key
    if key is None or session.get(TRACKED_KEY) == key:
        return
    StaffSession.objects.update_or_create(session_key=key, defaults={"user_id": user_id})
    session[TRACKED_KEY] = key


# Connected when the models load, so every process (web, commands, tests) has it before the
# first sign-in, including ``Client.force_login``.
@receiver(user_logged_in, dispatch_uid="amends.console.session_signed_in")
def _signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or getattr(request, "session", None) is None:
        return
    # What the second factor needs is decided afresh at every sign-in, so that a console page
    # costs no query for it (SecondFactorMiddleware, auth.py).
    from amends.console.twofactor import second_factor_needed

    request.session[SECOND_FACTOR_KEY] = second_factor_needed(user)
    session_track(request, user.pk)
    _forget_ended_sessions(user.pk, keep=request.session.session_key)


@receiver(user_logged_out, dispatch_uid="amends.console.session_signed_out")
def _signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key is not None:
        StaffSession.objects.filter(session_key=key).delete()


def _forget_ended_sessions(user_id: int, keep: str | None) -> None:
    """Drop the records of this user's sessions that have expired or ended."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in (
        StaffSession.objects.filter(user_id=user_id)
        .exclude(session_key=keep)
        .values_list("session_key", flat=True)
    ):
        if not store().exists(key):
            StaffSession.objects.filter(session_key=key).delete()
