"""Who may use a console page: a signed-in member of a provider's staff.

``staff_view`` resolves the actor once per request (``request.actor``, the same
:class:`~amends.cases.actors.Actor` every service checks) and turns away anyone who is not on a
provider's staff with a plain page. What a role may *do* is decided by the services, never by
this decorator or by hiding a button.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from amends.cases.actors import Actor, actor_for_staff
from amends.cases.errors import CaseError
from amends.domain.access import Permission

View = Callable[..., HttpResponse]


class StaffRequest(HttpRequest):
    actor: Actor


def staff_view(permission: Permission | None = None) -> Callable[[View], View]:
    """A console view for staff of a provider (and, if given, a role that may ``permission``)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                actor = actor_for_staff(request.user)
            except CaseError as refused:
                return forbidden(request, str(refused))
            if permission is not None and not actor.may(permission):
                who = actor.role.label if actor.role is not None else "your role"
                return forbidden(request, f"{who}s cannot open this page.")
            request.actor = actor  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "console/forbidden.html", {"reason": reason}, status=403)
