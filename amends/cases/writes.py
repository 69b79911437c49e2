"""The one private way a case changes: lock it, apply, and write everything in one transaction.

:class:`CaseWrite` is the unit of work every service and the worker use. One lock order for
every writer: **the case** (``SELECT ... FOR UPDATE``, which also reads its code version,
provider, customer, handler and the provider's ledger head, unlocked), then **its clocks**
(one upsert), then the outbox (one insert), then **the provider's ledger, last and briefly**
(the events of the whole transaction sealed on the head read with the case, the ledger moved
on if it is still there, then the events inserted; see :meth:`Chain.flush`). A transition is
at most six statements whatever the case's history: lock-and-read the case, update it (only
the columns that changed), upsert its clocks (only when one changed), insert its message (when
it writes one), move the ledger, insert the events.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist

from amends.cases.actors import Actor
from amends.cases.clocks import promises, reconcile, upsert
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.events import Chain, EventKind
from amends.cases.models import Case, Obligation
from amends.comms.models import OutboxChannel, OutboxKind
from amends.comms.outbox import Outbox, customer_recipient, staff_recipient
from amends.core.inserts import pipelined
from amends.domain.access import ActorKind
from amends.domain.codes import CaseKind, Code, ObligationKind
from amends.domain.lifecycle import Action, CaseStatus, State, TransitionRefused, decide
from amends.domain.obligations import LONDON
from amends.providers.models import Provider, StaffMember
from amends.providers.services import code_of

_FIELDS = [f.attname for f in Case._meta.concrete_fields if not f.primary_key]
_JSON_FIELDS = {"update_history", "escalation_history", "clocks"}


class AdrTrigger(StrEnum):
    """Why an ADR letter was issued (the letter says so, and the figures count by it)."""

    #: The worker, at the ADR point (6 weeks, or 8 for complaints first received before
    #: 8 April 2026), for a complaint still unresolved.
    TIME = "time"
    #: The provider's final position: issued with the deadlock, unasked.
    DEADLOCK = "deadlock"
    #: The customer asked (never refused).
    CUSTOMER_REQUEST = "customer_request"
    #: A member of staff issued it unasked (ahead of the ADR point, or to put a miss right).
    STAFF = "staff"


def lock_case(case_id: int, actor: Actor, *, skip_locked: bool = False) -> Case | None:
    """The case, locked, with its code version, provider and customer, if the actor may see
    it: another provider's case, or another case than a customer's own, is not found."""
    if isinstance(case_id, bool) or not isinstance(case_id, int):
        return None  # not an id at all: not found, like any other case the actor cannot see
    if actor.kind is ActorKind.CUSTOMER and actor.case_id != case_id:
        return None
    return (
        Case.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        # The handler too: the messages a transition writes name the person who owns the
        # complaint (one joined read instead of another statement).
        # and the ledger's head (not locked: the chain takes it last, see Chain.flush).
        .select_related("code_version", "provider", "customer", "handler", "provider__ledger")
        .defer("code_version__content")  # code_of reads it once per process
        .filter(pk=case_id, provider_id=actor.provider_id)
        .first()
    )


def ledger_head(case: Case) -> tuple[int, str] | None:
    """The provider's ledger head as read with the case (None when it was not read)."""
    provider = case.provider
    if not Provider.ledger.is_cached(provider):
        return None
    try:
        ledger = provider.ledger
    except ObjectDoesNotExist:  # a provider made before ledgers: Chain.flush makes its row
        return None
    return ledger.last_event_sequence, ledger.last_event_hash


def not_found() -> CaseError:
    return CaseError("No such case.", code=ErrorCode.NOT_FOUND)


def case_status(case: Case, code: Code) -> CaseStatus:
    """What the lifecycle's guards need to know of a case."""
    # An acceptance counts only while the case rests on it (resolved, or closed after it): a
    # complaint taken back to work or to the scheme needs a new one before it closes.
    accepted = case.resolved_at is not None and case.state in (
        State.RESOLVED.value,
        State.CLOSED.value,
    )
    return CaseStatus(
        kind=CaseKind(case.kind),
        state=State(case.state),
        acceptance_recorded=accepted,
        adr_letter_issued=case.adr_letter_issued_at is not None,
        escalation_level=case.escalation_level,
        top_escalation_level=max((level.level for level in code.escalation), default=0),
        decision_accepted=case.decision_accepted_at is not None,
        decision_recorded=case.decision_at is not None,
        remedy_done=case.remedy_done_at is not None,
    )


class CaseWrite:
    """The writes of one transaction on one case (see the module docstring)."""

    def __init__(self, case: Case, actor: Actor, now: datetime) -> None:
        self.case = case
        self.actor = actor
        self.now = now
        self.code, self.calendar = code_of(case.code_version, case.provider)
        self.chain = Chain(case.provider_id)
        self.outbox = Outbox()
        self._before = {
            name: copy.deepcopy(getattr(case, name))
            if name in _JSON_FIELDS
            else getattr(case, name)
            for name in _FIELDS
        }

    # -- reading --------------------------------------------------------------------------

    def status(self) -> CaseStatus:
        return case_status(self.case, self.code)

    # -- recording ------------------------------------------------------------------------

    def event(self, kind: EventKind, data: dict[str, Any]) -> None:
        self.chain.add(case=self.case, actor=self.actor.label, at=self.now, kind=kind, data=data)

    def to_customer(self, kind: OutboxKind, key: str, *, meets: str = "", **payload: Any) -> None:
        self.outbox.add(
            provider=self.case.provider,
            case=self.case,
            kind=kind,
            key=key,
            recipient=customer_recipient(self.case.customer),
            now=self.now,
            payload={"reference": self.case.reference, **payload},
            meets=meets,
        )

    def message(self, kind: OutboxKind, *, meets: str = "", **payload: Any) -> None:
        """The customer's message for what just happened, once per occasion (keyed by the
        case's version: a retried transaction writes the same key)."""
        key = f"case:{self.case.pk}:{kind.value}:v{self.case.version + 1}"
        self.to_customer(kind, key, meets=meets, **payload)

    def promised(self, kind: ObligationKind) -> bool:
        """Whether the code promises this (a clock of that kind in force for the case)."""
        return any(p.kind is kind for p in promises(self.case, self.code))

    def to_staff(self, kind: OutboxKind, key: str, user: User | None, **payload: Any) -> None:
        self.outbox.add(
            provider=self.case.provider,
            case=self.case,
            kind=kind,
            key=key,
            recipient=staff_recipient(user, fallback_email=self.case.provider.alerts_email),
            now=self.now,
            payload={"reference": self.case.reference, **payload},
        )

    def finish(self, extra_rows: list[Obligation] | None = None, *, append: bool = True) -> Case:
        """Write it all, in the lock order: case, clocks, outbox, ledger (``append=False``:
        leave the events in ``self.chain`` for a later write that shares it to append)."""
        case = self.case
        rows = reconcile(case, self.code, self.calendar, now=self.now)
        case.version += 1
        changed = [name for name in _FIELDS if getattr(case, name) != self._before[name]]
        case.save(update_fields=changed)
        with pipelined():  # PostgreSQL: one round trip for the three
            upsert([*(extra_rows or []), *rows])
            self.outbox.flush()
            if append:
                self.chain.flush(head=ledger_head(case))
        return case


# --------------------------------------------------------------------------- transitions

Record = Callable[[Case, dict[str, Any]], None]


def transition(w: CaseWrite, action: Action, *, at: datetime, record: Record | None = None) -> None:
    """Ask the table, record the facts, move the state, append the Event."""
    case = w.case
    try:
        decision = decide(w.status(), action)
    except TransitionRefused as refused:
        raise CaseError(refused.reason, code=ErrorCode.REFUSED) from refused
    data: dict[str, Any] = {"from": decision.source.value, "to": decision.target.value}
    if at != w.now:
        data["at"] = at.isoformat()
    if record is not None:
        record(case, data)
    case.state = decision.target.value
    case.kind = decision.kind.value
    w.event(EventKind.of(action), data)
    if action is Action.DECLARE_DEADLOCK:
        # Deadlock issues the ADR letter, unasked (GC C4 Annex since October 2018).
        issue_adr_letter(w, trigger=AdrTrigger.DEADLOCK, at=at)


def _letter_facts(trigger: AdrTrigger, at: datetime) -> Record:
    def record(case: Case, data: dict[str, Any]) -> None:
        first = case.adr_letter_issued_at is None
        case.adr_letter_issued_at = case.adr_letter_issued_at or at
        case.adr_letter_trigger = case.adr_letter_trigger or trigger.value
        data["trigger"] = trigger.value
        if first and customer_recipient(case.customer).channel is OutboxChannel.POST:
            # A printed letter is dated the day it is posted (letter_mark_posted): until
            # then the customer has nothing, and the ADR clock is not met.
            data["dated"] = "when posted"
        elif first:
            case.adr_letter_dated_at = at

    return record


def issue_adr_letter(w: CaseWrite, *, trigger: AdrTrigger, at: datetime) -> None:
    """Issue the ADR letter: a state change where the table has one, else a recorded fact (a
    resolved, closed or referred complaint still gets the letter it is owed)."""
    try:
        decide(w.status(), Action.ISSUE_ADR_LETTER)
    except TransitionRefused:
        data: dict[str, Any] = {"from": w.case.state, "to": w.case.state}
        _letter_facts(trigger, at)(w.case, data)
        w.event(EventKind.ISSUE_ADR_LETTER, data)
    else:
        transition(w, Action.ISSUE_ADR_LETTER, at=at, record=_letter_facts(trigger, at))
    _write_adr_letter(w, trigger=trigger, at=at)


def _write_adr_letter(w: CaseWrite, *, trigger: AdrTrigger, at: datetime) -> None:
    """One letter per issue: the time letter at most once per case (its clock is single);
    deadlock, request and staff letters once per occasion, keyed by the case's version (a
    complaint re-opened and deadlocked again gets a second letter)."""
    case = w.case
    if trigger is AdrTrigger.TIME:
        key = f"case:{case.pk}:adr_letter:time"
    else:
        key = f"case:{case.pk}:adr_letter:{trigger.value}:v{case.version + 1}"
    w.to_customer(
        OutboxKind.ADR_LETTER,
        key,
        trigger=trigger.value,
        issued_at=uk_date(at),
    )


def uk_date(moment: datetime) -> str:
    """The UK calendar date of an instant (a letter's date, from which the customer's 12
    months run, is the day it was issued in the UK, not in UTC)."""
    return moment.astimezone(LONDON).date().isoformat()


def request_adr_letter(w: CaseWrite, *, at: datetime, by: str, how: str) -> None:
    """A customer's request for the ADR letter is never refused (EE, regulatory.md §21).

    Asking for the ombudsman is dissatisfaction: a query becomes a complaint and a withdrawn
    case is re-opened first, each with its own Event, and the first receipt stands.
    """
    case = w.case
    if case.state == State.WITHDRAWN.value:
        transition(
            w, Action.REOPEN, at=at, record=reopen_facts("the customer asked for the ADR letter")
        )
    if case.kind != CaseKind.COMPLAINT.value:
        transition(
            w,
            Action.CONVERT_TO_COMPLAINT,
            at=at,
            record=convert_facts("the customer asked for the ADR letter", at),
        )
    issued = case.adr_letter_issued_at is not None
    w.event(
        EventKind.REQUEST_ADR_LETTER,
        {"by": by, "how": how, "letter_already_issued": issued},
    )
    if issued:
        send_copy(w)
        return
    issue_adr_letter(w, trigger=AdrTrigger.CUSTOMER_REQUEST, at=at)


def send_copy(w: CaseWrite) -> None:
    """A copy of the ADR letter already issued (its date is the original's)."""
    case = w.case
    issued = case.adr_letter_issued_at
    w.to_customer(
        OutboxKind.ADR_LETTER_COPY,
        f"case:{case.pk}:adr_letter_copy:v{case.version + 1}",
        trigger=case.adr_letter_trigger,
        issued_at=uk_date(issued) if issued is not None else "",
    )


def reopen_facts(reason: str) -> Record:
    def record(case: Case, data: dict[str, Any]) -> None:
        # The first receipt stands; acceptance must be given again before the next closure.
        case.resolved_at = None
        case.acceptance_by = ""
        case.acceptance_how = ""
        case.closed_at = None
        case.withdrawn_at = None
        case.withdrawal_by = ""
        case.withdrawal_how = ""
        data["reason"] = reason

    return record


def convert_facts(reason: str, at: datetime) -> Record:
    def record(case: Case, data: dict[str, Any]) -> None:
        # A complaint's resolution starts afresh: whatever the customer accepted of the query
        # is not acceptance of the complaint (the first receipt stands).
        data["was"] = case.kind
        data["reason"] = reason
        case.converted_at = at
        case.resolved_at = None
        case.acceptance_by = ""
        case.acceptance_how = ""
        case.resolution_proposed_at = None
        case.closed_at = None

    return record


def close_open_review(case: Case, at: datetime) -> None:
    history = [dict(entry) for entry in case.escalation_history]
    for entry in history:
        if not entry.get("reviewed_at"):
            entry["reviewed_at"] = at.isoformat()
    case.escalation_history = history


def escalate_facts(reason: str, at: datetime) -> Record:
    def record(case: Case, data: dict[str, Any]) -> None:
        close_open_review(case, at)
        case.escalation_level += 1
        case.escalation_history = [
            *case.escalation_history,
            {"level": case.escalation_level, "at": at.isoformat(), "reviewed_at": None},
        ]
        data["level"] = case.escalation_level
        data["reason"] = reason

    return record


def manager_of(case: Case) -> User | None:
    if case.handler_id is not None:
        member = (
            StaffMember.objects.filter(user_id=case.handler_id)
            .select_related("manager__user")
            .first()
        )
        if member is not None and member.manager is not None:
            return member.manager.user
    fallback = (
        StaffMember.objects.filter(provider_id=case.provider_id, role="manager")
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return fallback.user if fallback is not None else None
