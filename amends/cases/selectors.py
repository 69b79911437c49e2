"""Every read of cases, scoped once: staff see their own provider's cases, a customer the one
case their link is for. Another provider's case, another customer's, an expired or tampered
link: all are "not found" (``None``), never a hint that the case exists."""

from __future__ import annotations

import hmac
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from amends.cases.actions import token_hash
from amends.cases.actors import Actor, actor_for_staff
from amends.cases.errors import CaseError
from amends.cases.models import Case, CaseLink, Compensation, Customer, Event, Obligation
from amends.cases.writes import case_status
from amends.domain.access import ActorKind, Work
from amends.domain.lifecycle import Action, TransitionRefused, decide
from amends.providers.services import code_of


def _staff(user: User | AnonymousUser) -> Actor | None:
    try:
        actor = actor_for_staff(user)
    except CaseError:
        return None
    return actor if actor.may(Work.VIEW_CASES) else None


def case_list_for_staff(user: User | AnonymousUser) -> QuerySet[Case]:
    """The cases a member of staff may see (their provider's); none for anyone else."""
    actor = _staff(user)
    if actor is None:
        return Case.objects.none()
    return Case.objects.filter(provider_id=actor.provider_id)


def case_get_for_staff(user: User | AnonymousUser, *, case_id: int) -> Case | None:
    return (
        case_list_for_staff(user)
        .select_related("customer", "code_version", "provider", "handler")
        .filter(pk=case_id)
        .first()
    )


def case_get_for_customer(token: str, *, now: datetime) -> Case | None:
    """The case a private link is for, if the link is live; None otherwise (same answer for
    an unknown, expired, revoked or tampered token)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    digest = token_hash(token)
    link = (
        CaseLink.objects.select_related("case", "case__customer", "case__provider")
        .filter(token_hash=digest)
        .first()
    )
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None
    if link.revoked_at is not None or link.expires_at <= now:
        return None
    case = link.case
    # A link to a duplicate merged into another case of the same customer opens that case.
    for _ in range(20):
        if case.merged_into_id is None:
            break
        keeper = (
            Case.objects.select_related("customer", "provider")
            .filter(pk=case.merged_into_id, customer_id=case.customer_id)
            .first()
        )
        if keeper is None:
            break
        case = keeper
    return case


def case_list_for(actor: Actor) -> QuerySet[Case]:
    """The cases an actor may read: its provider's (staff by role, an integration by its
    ``read`` scope); refused (``CaseError`` forbidden) for an actor that may not read."""
    actor.require(Work.VIEW_CASES)
    if actor.kind is ActorKind.CUSTOMER:
        return Case.objects.filter(pk=actor.case_id or 0, provider_id=actor.provider_id)
    return Case.objects.filter(provider_id=actor.provider_id)


def case_get_for(actor: Actor, *, reference: str) -> Case | None:
    """One case of the actor's provider by its reference (None: not found, whoever's it is)."""
    if not isinstance(reference, str) or not 1 <= len(reference) <= 24:
        return None
    if not reference.isascii() or not reference.isprintable():
        return None  # no reference is (and PostgreSQL refuses a NUL in a query)
    return (
        case_list_for(actor)
        .select_related("customer", "code_version", "provider", "handler", "merged_into")
        .filter(reference=reference.upper())
        .first()
    )


def customer_list_for(actor: Actor) -> QuerySet[Customer]:
    actor.require(Work.VIEW_CASES)
    return Customer.objects.filter(provider_id=actor.provider_id)


def compensation_list_for(actor: Actor) -> QuerySet[Compensation]:
    actor.require(Work.VIEW_CASES)
    return Compensation.objects.filter(provider_id=actor.provider_id).select_related("case")


def case_clocks(case: Case) -> QuerySet[Obligation]:
    """A case's clocks, soonest first (read after the case was fetched through a selector)."""
    return Obligation.objects.filter(case_id=case.pk).order_by("due_at", "id")


def case_timeline(case: Case) -> QuerySet[Event]:
    """A case's audit events, oldest first (read after the case was fetched through a
    selector)."""
    return Event.objects.filter(case_id=case.pk).order_by("sequence", "id")


def case_actions_for_staff(user: User | AnonymousUser, case: Case) -> list[Action]:
    """The actions this member of staff may take on this case now: what the lifecycle allows
    there and then, and what their role may do (the console's buttons mirror this)."""
    actor = _staff(user)
    if actor is None:
        return []
    return case_actions_for(actor, case)


def case_actions_for(actor: Actor, case: Case) -> list[Action]:
    """The actions this actor may take on this case now: what the lifecycle allows there and
    then, and what the actor's role (or token's scopes) may do."""
    if case.provider_id != actor.provider_id:
        return []
    code, _ = code_of(case.code_version, case.provider)
    status = case_status(case, code)
    allowed: list[Action] = []
    for action in Action:
        if not actor.may(action):
            continue
        if action is Action.REQUEST_ADR_LETTER:
            allowed.append(action)  # never refused
            continue
        if action is Action.ISSUE_ADR_LETTER:
            # Staff may issue it on any complaint: where the state does not move, it is a
            # recorded fact (a resolved or closed complaint still gets a letter it is owed),
            # and a letter already issued goes again as a copy.
            if case.kind == "complaint":
                allowed.append(action)
            continue
        try:
            decide(status, action)
        except TransitionRefused:
            continue
        allowed.append(action)
    return allowed
