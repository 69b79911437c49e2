"""Staff sign-in, the second factor, sessions that expire and signing out everywhere.

Routes (included by ``amends.console.urls`` under ``/staff/``): ``login``, ``logout``,
``verify`` and ``setup`` (the second factor, ``amends.console.twofactor``), ``account`` and
``sign_out_everywhere``.

* **Lockout**: django-axes (``AxesStandaloneBackend`` first in ``AUTHENTICATION_BACKENDS``,
  ``AxesMiddleware`` last). After ``AXES_FAILURE_LIMIT`` (5) failed sign-ins for one username,
  or from one client address, within ``AXES_COOLOFF_TIME`` (15 minutes), every further attempt
  is refused, the right password included, with :func:`locked_out`'s page until the 15
  minutes have passed; a successful sign-in clears the count. Axes' log lines go through
  :func:`axes_client_str`, which names the path only: never the username typed or the address.
* **Second factor**: :class:`SecondFactorMiddleware` sends a signed-in user who has a confirmed
  device, and has not entered a code in this session, to ``verify`` before any console page;
  a role in ``AMENDS_REQUIRE_TOTP_ROLES`` without a device goes to ``setup``.
* **Sessions expire** after ``SESSION_COOKIE_AGE`` (``AMENDS_SESSION_HOURS``, 8 hours) and
  when the browser closes.
* **Signing out everywhere**: every signed-in session's key is recorded against its user
  (:class:`amends.console.models.StaffSession`, at sign-in and when a key is rotated), and
  :func:`sessions_end` deletes those sessions through the session engine, so every other
  browser is signed out at its next request without a query per request and without touching
  the password. (It needs a server-side session engine, Django's database default; signed
  cookie sessions cannot be ended from the server.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import verify_token

from amends.console import twofactor
from amends.console.access import staff_view
from amends.console.models import SECOND_FACTOR_KEY, StaffSession, session_track

log = logging.getLogger(__name__)


# Lockout (django-axes) ---------------------------------------------------------------------


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What a refused sign-in sees while its username or address is locked out."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    log.warning("sign-in refused: locked out", extra={"path": request.path})
    return render(
        request,
        "console/auth/locked.html",
        {"minutes": minutes, "failures": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


def axes_client_str(
    username: str | None, ip_address: str | None, user_agent: str, path_info: Any, request: Any
) -> str:
    """How axes names a client in its log lines: the path only (logs carry ids, never what a
    person typed as their username, nor their address)."""
    if isinstance(path_info, (tuple, list)):
        path_info = path_info[0] if path_info else ""
    return f'{{path_info: "{path_info}"}}'


# Sessions ----------------------------------------------------------------------------------


def sessions_end(user_id: int, *, keep: str | None = None) -> int:
    """End every recorded session of ``user_id`` (except ``keep``); how many were ended."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    rows = StaffSession.objects.filter(user_id=user_id)
    if keep is not None:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    StaffSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


# The second factor -------------------------------------------------------------------------

_EXEMPT = ("console:login", "console:logout", "console:verify", "console:setup")


class SecondFactorMiddleware:
    """Keeps the console closed until the session has the second factor it needs.

    Installed after ``AuthenticationMiddleware`` and django-otp's ``OTPMiddleware``. Also
    records a rotated session key (for signing out everywhere). Pages outside ``/staff/`` (the
    portal, ``/admin/``) are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._prefix: str | None = None
        self._exempt: tuple[str, ...] = ()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is None or SESSION_KEY not in session:
            return self.get_response(request)
        user: Any = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        session_track(request, user.pk)
        if self._prefix is None:
            self._prefix = reverse("console:home")
            self._exempt = tuple(reverse(name) for name in _EXEMPT)
        if not request.path.startswith(self._prefix) or request.path in self._exempt:
            return self.get_response(request)
        if user.is_verified():
            return self.get_response(request)
        needed = session.get(SECOND_FACTOR_KEY)
        if needed is None:
            needed = twofactor.second_factor_needed(user)
            session[SECOND_FACTOR_KEY] = needed
        if needed == twofactor.NONE:
            return self.get_response(request)
        target = "console:verify" if needed == twofactor.VERIFY else "console:setup"
        return HttpResponseRedirect(
            reverse(target) + "?" + urlencode({"next": request.get_full_path()})
        )


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Enter a code from the authenticator app (after signing in with a password)."""
    user: Any = request.user
    if user.is_verified():
        return redirect(_next_url(request, "console:home"))
    device = twofactor.confirmed_device(user)
    if device is None:
        # No device any more (removed by an administrator): decide afresh.
        needed = twofactor.second_factor_needed(user)
        request.session[SECOND_FACTOR_KEY] = needed
        if needed == twofactor.SETUP:
            return redirect(reverse("console:setup") + "?" + urlencode({"next": _next(request)}))
        return redirect(_next_url(request, "console:home"))
    error = ""
    if request.method == "POST":
        token = request.POST.get("code", "").strip().replace(" ", "")
        allowed, _ = device.verify_is_allowed()
        verified = verify_token(user, device.persistent_id, token) if token.isdigit() else None
        if verified is not None:
            otp_login(request, verified)
            request.session[SECOND_FACTOR_KEY] = twofactor.VERIFY
            log.info("second factor verified", extra={"user_id": user.pk})
            return redirect(_next_url(request, "console:home"))
        log.info("second factor refused", extra={"user_id": user.pk})
        if not allowed:
            error = "Too many wrong codes. Wait a minute, then enter the code your app shows."
        else:
            error = "That code is not right. Enter the 6-digit code your app shows now."
    return render(
        request,
        "console/auth/verify.html",
        {"error": error, "next": _next(request)},
        status=400 if error else 200,
    )


def _next(request: HttpRequest) -> str:
    return request.POST.get("next") or request.GET.get("next") or ""


@login_required
def setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: the secret as text and as a QR code, then one code."""
    user: Any = request.user
    if twofactor.confirmed_device(user) is not None and not user.is_verified():
        # Replacing a device needs the current one first.
        return redirect(reverse("console:verify") + "?" + urlencode({"next": request.path}))
    device = twofactor.pending_device(user)
    error = ""
    if request.method == "POST":
        with transaction.atomic():
            confirmed = twofactor.device_confirm(device, request.POST.get("code", ""))
        if confirmed:
            otp_login(request, device)
            request.session[SECOND_FACTOR_KEY] = twofactor.VERIFY
            ended = sessions_end(user.pk, keep=request.session.session_key)
            log.info("second factor set up", extra={"user_id": user.pk, "sessions_ended": ended})
            messages.success(
                request,
                "Your second factor is set up. You will be asked for a code each time you "
                "sign in; any other sessions you had were signed out.",
            )
            return redirect(_next_url(request, "console:account"))
        log.info("second factor setup code refused", extra={"user_id": user.pk})
        error = "That code is not right. Enter the 6-digit code your app shows now."
    return render(
        request,
        "console/auth/setup.html",
        {
            "error": error,
            "next": _next(request),
            "secret": twofactor.secret_text(device),
            "qr": twofactor.qr_svg_data_uri(device),
            "required": twofactor.role_requires_totp(user),
        },
        status=400 if error else 200,
    )


# Your account ------------------------------------------------------------------------------


@staff_view()
def account(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    device = twofactor.confirmed_device(user)
    return render(
        request,
        "console/auth/account.html",
        {
            "nav": "account",
            "device": device,
            "required": twofactor.role_requires_totp(user),
            "session_hours": settings.SESSION_COOKIE_AGE / 3600,
        },
    )


@require_POST
@staff_view()
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session of this user, this one included."""
    user_id = request.user.pk
    assert user_id is not None
    logout(request)
    ended = sessions_end(user_id)
    log.info("signed out everywhere", extra={"user_id": user_id, "sessions_ended": ended})
    messages.success(request, "You have been signed out everywhere. Sign in again to go on.")
    return redirect("console:login")


urlpatterns: list[URLPattern] = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="console/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("verify/", verify, name="verify"),
    path("setup/", setup, name="setup"),
    path("account/", account, name="account"),
    path("account/sign-out-everywhere/", sign_out_everywhere, name="sign_out_everywhere"),
]
