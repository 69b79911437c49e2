"""The console's queues and search: which cases a member of staff should look at next.

Every query starts from the actor's provider (another provider's cases are never counted or
found). Cases are sorted by their next clock: the earliest pending due instant. The counts are
one aggregate query whatever the number of cases; a queue page is one query for its rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from amends.cases.actors import Actor
from amends.cases.models import Case, Customer, Obligation
from amends.domain.lifecycle import OPEN_STATES, State
from amends.domain.obligations import LONDON
from amends.domain.reference import ReferenceError, parse_reference
from amends.providers.models import Provider, StaffMember
from amends.providers.services import code_of, code_version_in_force

_OPEN: Final = [s.value for s in OPEN_STATES]


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    #: Plain words for the queue's page.
    explain: str


QUEUES: Final = (
    Queue("mine", "Mine", "Open cases you handle."),
    Queue("unassigned", "Unassigned", "Open cases nobody handles yet."),
    Queue("due_today", "Due today", "Open cases with a promise due by the end of today."),
    Queue(
        "at_risk",
        "At risk",
        "Open cases with a promise due within the next working day.",
    ),
    Queue("breached", "Breached", "Open cases with a promise that was not kept."),
    Queue(
        "adr_due",
        "ADR letters due within 5 days",
        "Complaints whose ADR letter falls due within 5 days.",
    ),
    Queue(
        "escalated",
        "Escalated to me",
        "Escalated cases of the people you manage, or all escalated cases if you are a "
        "manager or director without a team.",
    ),
    Queue(
        "awaiting_customer",
        "Awaiting the customer",
        "A resolution is proposed and the customer has not answered yet.",
    ),
    Queue("open", "All open", "Every open case."),
)
QUEUE_NAMES: Final = frozenset(q.name for q in QUEUES)


def _pending(**filters: object) -> Exists:
    return Exists(Obligation.objects.filter(case=OuterRef("pk"), state="pending", **filters))


def end_of_day(now: datetime) -> datetime:
    local = now.astimezone(LONDON)
    return datetime.combine(local.date(), time(23, 59, 59), tzinfo=LONDON)


def risk_horizon(provider: Provider, now: datetime) -> datetime:
    """One working day from now on the provider's calendar (its code in force today)."""
    version = code_version_in_force(provider=provider, on=now.astimezone(LONDON).date())
    if version is None:
        return now + timedelta(days=1)
    _, calendar = code_of(version, provider)
    return calendar.add_working_days(now, 1)


def _team(actor: Actor) -> list[int]:
    if actor.user_id is None:
        return []
    return list(
        StaffMember.objects.filter(
            provider_id=actor.provider_id, manager__user_id=actor.user_id
        ).values_list("user_id", flat=True)
    )


def _conditions(actor: Actor, *, now: datetime, horizon: datetime) -> dict[str, Q]:
    team = _team(actor)
    if team:
        escalated = Q(state=State.ESCALATED.value, handler_id__in=[*team, actor.user_id])
    elif actor.role is not None and actor.role.value in ("manager", "director"):
        escalated = Q(state=State.ESCALATED.value)
    else:
        escalated = Q(state=State.ESCALATED.value, handler_id=actor.user_id)
    return {
        "mine": Q(handler_id=actor.user_id),
        "unassigned": Q(handler__isnull=True),
        "due_today": Q(_pending(due_at__lte=end_of_day(now))),
        "at_risk": Q(_pending(due_at__gt=now, due_at__lte=horizon)),
        "breached": Q(Exists(Obligation.objects.filter(case=OuterRef("pk"), state="breached"))),
        "adr_due": Q(_pending(kind="adr_letter", due_at__lte=now + timedelta(days=5))),
        "escalated": escalated,
        "awaiting_customer": Q(state=State.RESOLUTION_PROPOSED.value),
        "open": Q(),
    }


def _open_cases(actor: Actor) -> QuerySet[Case]:
    return Case.objects.filter(provider_id=actor.provider_id, state__in=_OPEN)


@dataclass(frozen=True)
class QueuePage:
    counts: dict[str, int]
    #: The queue shown (the one asked for, or the default when none or an unknown one was).
    name: str
    #: The cases of the chosen queue, the next clock first (no pending clock: last).
    cases: QuerySet[Case]


def queue_page(actor: Actor, name: str | None, *, now: datetime, provider: Provider) -> QueuePage:
    """Every queue's count (one aggregate query) and the chosen queue's cases (one query for
    its rows), the conditions worked out once. No queue (or an unknown one) asked for: your
    own cases, else the cases nobody has, else every open case."""
    conditions = _conditions(actor, now=now, horizon=risk_horizon(provider, now))
    aggregate = _open_cases(actor).aggregate(
        **{queue: Count("pk", filter=condition) for queue, condition in conditions.items()}
    )
    counts = {queue: int(aggregate[queue] or 0) for queue in conditions}
    if name not in conditions:
        name = next((n for n in ("mine", "unassigned") if counts[n]), "open")
    condition = conditions[name]
    # The next clock by a correlated subquery (one probe of obligation_case_pending_idx per
    # case), not a join of every clock grouped by every column.
    next_due = (
        Obligation.objects.filter(case=OuterRef("pk"), state="pending")
        .order_by("due_at")
        .values("due_at")[:1]
    )
    cases = (
        _open_cases(actor)
        .filter(condition)
        .select_related("customer", "handler")
        .annotate(next_due=Subquery(next_due))
        .order_by(F("next_due").asc(nulls_last=True), "first_received_at", "pk")
    )
    return QueuePage(counts, name, cases)


def queue_counts(actor: Actor, *, now: datetime, provider: Provider) -> dict[str, int]:
    """How many cases each queue holds (one query)."""
    return queue_page(actor, "open", now=now, provider=provider).counts


def queue_cases(actor: Actor, name: str, *, now: datetime, provider: Provider) -> QuerySet[Case]:
    """The cases of one queue, the next clock first (cases without a pending clock last)."""
    return queue_page(actor, name, now=now, provider=provider).cases


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class SearchResult:
    cases: list[Case]
    #: Said to the person searching (a mistyped reference, nothing found ...).
    note: str = ""
    #: A case whose reference differs from a mistyped one by its check character only.
    suggestion: Case | None = None


_REFERENCE_LIKE = re.compile(r"^\s*[A-Za-z0-9]{2,5}-\d{2}-\d{6}(-[A-Za-z0-9])?\s*$")
_POSTCODE = re.compile(r"^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}\s*$")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def case_search(actor: Actor, text: str, *, limit: int = 50) -> SearchResult:
    """Cases of the actor's provider by reference (its check character checked), name,
    business name, account number, postcode, email or phone."""
    text = (text or "").strip()[:200]
    if not text:
        return SearchResult(
            [],
            "Type a reference, a name, an account number, a postcode, an "
            "email address or a phone number.",
        )
    cases = Case.objects.filter(provider_id=actor.provider_id).select_related("customer", "handler")
    if _REFERENCE_LIKE.match(text):
        try:
            parsed = parse_reference(text)
        except ReferenceError as error:
            # Mistyped: the same prefix, year and number with another check character.
            stem = re.sub(r"\s+", "", text).upper()
            stem = stem.rsplit("-", 1)[0] if stem.count("-") == 3 else stem
            near = cases.filter(reference__startswith=f"{stem}-").first()
            return SearchResult([], str(error), near)
        found = list(cases.filter(reference=str(parsed)))
        return SearchResult(found, "" if found else "No case has that reference.")
    matched = Customer.objects.filter(_customer_query(text), provider_id=actor.provider_id)
    found = list(
        cases.filter(customer__in=matched.values("pk")).order_by("-first_received_at")[:limit]
    )
    return SearchResult(found, "" if found else "No case matches that.")


def customer_search(actor: Actor, text: str, *, limit: int = 10) -> list[Customer]:
    """Customers of the actor's provider who may be the one on the phone: by name, business
    name, account number, email, phone or postcode (so that one customer is not entered
    twice). Fewer than 3 characters finds nobody."""
    text = (text or "").strip()[:200]
    if len(text) < 3:
        return []
    return list(
        Customer.objects.filter(_customer_query(text), provider_id=actor.provider_id).order_by(
            "contact_name", "pk"
        )[:limit]
    )


def customer_duplicates(
    actor: Actor, *, email: str = "", account_number: str = "", phone: str = "", limit: int = 5
) -> list[Customer]:
    """Customers of the actor's provider with the same email, account number or phone as a
    new customer being entered (so that one customer is not entered twice)."""
    query = Q()
    if email.strip():
        query |= Q(email__iexact=email.strip())
    if account_number.strip():
        query |= Q(account_number__iexact=account_number.strip())
    digits = _digits(phone)
    if len(digits) >= 6:
        query |= Q(phone__contains=digits[-9:])
    if not query:
        return []
    return list(
        Customer.objects.filter(query, provider_id=actor.provider_id).order_by("-created_at")[
            :limit
        ]
    )


def _customer_query(text: str) -> Q:
    query = (
        Q(contact_name__icontains=text)
        | Q(business_name__icontains=text)
        | Q(account_number__iexact=text)
        | Q(email__iexact=text)
        | Q(representative_name__icontains=text)
    )
    if _POSTCODE.match(text):
        compact = re.sub(r"\s+", "", text).upper()
        spaced = f"{compact[:-3]} {compact[-3:]}"
        query |= Q(postal_address__icontains=compact) | Q(postal_address__icontains=spaced)
    digits = _digits(text)
    if len(digits) >= 6:
        query |= Q(phone__contains=digits[-9:])
    return query


__all__ = [
    "QUEUES",
    "QUEUE_NAMES",
    "Queue",
    "SearchResult",
    "case_search",
    "customer_duplicates",
    "customer_search",
    "queue_cases",
    "queue_counts",
    "queue_page",
    "QueuePage",
    "risk_horizon",
]
