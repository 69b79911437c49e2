"""Reconciling a case's stored clocks (Obligation rows) with what its facts now derive.

The case carries a mirror of its rows (``Case.clocks``: ``{key: [state, due, met, kind,
action]}``), written in the same transaction as the rows, so a transition reads nothing more
than the case it locked, and writes every changed clock in one upsert.

Rules (unchanged from the engine's first version, with "due" meaning *on or before*):

* Met, breached and done clocks are history: only a breached clock's ``met_at`` is filled in
  when the owed thing is finally done.
* A pending clock whose due instant has **passed** (``due_at < now``) is the worker's:
  whatever happened since (the customer accepted, a late acknowledgement), the worker records
  the breach or issues the letter, with its Event and notice. Sync only notes ``met_at``.
  A clock met exactly at its due instant is met on time.
* Otherwise clocks follow the derivation; clocks no longer derived are cancelled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from amends.cases.models import Case, Obligation
from amends.core.inserts import Upsert, insert
from amends.core.memo import PerObject
from amends.domain.calendar import BusinessCalendar
from amends.domain.codes import CaseFacts, CaseKind, ChannelType, Code, Duration
from amends.domain.lifecycle import State
from amends.domain.obligations import (
    LONDON,
    ClockFacts,
    DerivedObligation,
    Escalation,
    ObligationStatus,
    derive,
)
from amends.domain.regulation import PromiseInForce, promises_in_force

HISTORY = frozenset(
    {ObligationStatus.MET.value, ObligationStatus.BREACHED.value, ObligationStatus.DONE.value}
)


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    """UTC, so that one instant always has one spelling (the mirror is compared as text)."""
    return value.astimezone(UTC).isoformat() if value is not None else None


#: promises_in_force is pure: its answers, per parsed code object.
_PROMISES: PerObject[tuple[PromiseInForce, ...]] = PerObject(size=4096)


def promises(case: Case, code: Code) -> tuple[PromiseInForce, ...]:
    kind = CaseKind(case.kind)
    first = case.first_received_at.astimezone(LONDON).date()
    case_facts = CaseFacts(
        channel=ChannelType(case.channel), support_contract=case.support_contract
    )
    scheme = case.adr_scheme or None
    return _PROMISES.get(
        code,
        (kind, first, case_facts, scheme),
        lambda: promises_in_force(
            code, kind=kind, first_received=first, facts=case_facts, member_scheme=scheme
        ),
    )


def facts(case: Case) -> ClockFacts:
    return ClockFacts(
        kind=CaseKind(case.kind),
        state=State(case.state),
        first_received_at=case.first_received_at,
        acknowledged_at=case.acknowledged_at,
        handler_introduced_at=case.handler_introduced_at,
        first_contact_at=case.first_contact_at,
        updates_agreed_at=case.updates_agreed_at,
        update_interval=Duration.parse(case.update_interval) if case.update_interval else None,
        updates=tuple(datetime.fromisoformat(t) for t in case.update_history),
        resolved_at=case.resolved_at,
        # A letter counts from the date it bears: a printed one when it is posted.
        adr_letter_issued_at=case.adr_letter_dated_at,
        escalations=tuple(
            Escalation(
                level=int(e["level"]),
                at=datetime.fromisoformat(e["at"]),
                reviewed_at=_at(e.get("reviewed_at")),
            )
            for e in case.escalation_history
        ),
        decision_accepted_at=case.decision_accepted_at,
        remedy_done_at=case.remedy_done_at,
    )


def _stored_state(derived: DerivedObligation) -> str:
    """Met on time (on or before the due instant) is met; met late stays pending so that the
    worker records the breach with its Event and the manager's notice."""
    if derived.status is ObligationStatus.MET and derived.met_at is not None:
        late = derived.met_at > derived.due_at
        return (ObligationStatus.PENDING if late else ObligationStatus.MET).value
    return derived.status.value


def _derivation_key(case: Case) -> tuple[Any, ...]:
    """What a case's derived clocks depend on beside its code and calendar: its facts and its
    promises' inputs."""
    return (facts(case), case.channel, case.support_contract, case.adr_scheme)


def clocks_current(case: Case, code: Code, calendar: BusinessCalendar) -> bool:
    """Whether ``case.clocks`` was reconciled on this case's present facts, with this very
    code and calendar (the objects themselves, not their ids): then every clock its facts
    derive is in it, and a message need not derive them again."""
    found = getattr(case, "_reconciled_on", None)
    return (
        found is not None
        and found[0] is code
        and found[1] is calendar
        and found[2] == _derivation_key(case)
    )


def reconcile(
    case: Case, code: Code, calendar: BusinessCalendar, *, now: datetime
) -> list[Obligation]:
    """Bring ``case.clocks`` up to date and return the rows to upsert (new or changed)."""
    known = _derivation_key(case)
    derived = derive(known[0], promises(case, code), calendar)
    stored: dict[str, list[Any]] = dict(case.clocks or {})
    changed: list[Obligation] = []

    def row(item: DerivedObligation | None, key: str, *entry: Any) -> Obligation:
        state, due, met, kind, action = entry
        return Obligation(
            provider_id=case.provider_id,
            case_id=case.pk,
            key=key,
            kind=kind,
            due_at=datetime.fromisoformat(due),
            state=state,
            met_at=_at(met),
            origin=item.origin if item else "",
            rule_id=(item.rule_id or "") if item else "",
            source=item.source[:300] if item else "",
            action=action,
        )

    seen: set[str] = set()
    for item in derived:
        seen.add(item.key)
        previous = stored.get(item.key)
        if previous is None:
            entry = [
                _stored_state(item),
                _iso(item.due_at),
                _iso(item.met_at),
                item.kind.value,
                item.action.value,
            ]
        else:
            state, due, met, kind, action = previous
            overdue = state == ObligationStatus.PENDING.value and datetime.fromisoformat(due) < now
            if state in HISTORY or overdue:
                if item.met_at is None or met is not None:
                    continue
                entry = [state, due, _iso(item.met_at), kind, action]
            else:
                entry = [_stored_state(item), _iso(item.due_at), _iso(item.met_at), kind, action]
                if entry == previous:
                    continue
        stored[item.key] = entry
        changed.append(row(item, item.key, *entry))
    for key, previous in stored.items():
        if key in seen:
            continue
        state, due, met, kind, action = previous
        if state == ObligationStatus.PENDING.value and datetime.fromisoformat(due) >= now:
            entry = [ObligationStatus.CANCELLED.value, due, met, kind, action]
            stored[key] = entry
            changed.append(row(None, key, *entry))
    case.clocks = stored
    case._reconciled_on = (code, calendar, known)  # type: ignore[attr-defined]
    return changed


def mirror(obligation: Obligation) -> list[Any]:
    """The ``Case.clocks`` entry of a row."""
    return [
        obligation.state,
        _iso(obligation.due_at),
        _iso(obligation.met_at),
        obligation.kind,
        obligation.action,
    ]


_UPSERT = Upsert(unique=("case", "key"), update=("state", "due_at", "met_at"))


def upsert(rows: list[Obligation]) -> None:
    """Write new and changed clocks in one statement (INSERT ... ON CONFLICT DO UPDATE),
    their keys not read back (the case's ``clocks`` mirror names them by key): the statement
    waits for no answer in a pipeline."""
    insert(rows, conflict=_UPSERT, keys=False)


def cancel_pending(case: Case) -> list[Obligation]:
    """Every pending clock of ``case`` cancelled, overdue or not (a merged duplicate owes
    nothing: the case it joined carries its promises from the earliest receipt, so a missed
    one is recorded there, once). Updates the mirror; returns the rows to upsert."""
    stored: dict[str, list[Any]] = dict(case.clocks or {})
    rows: list[Obligation] = []
    for key, entry in stored.items():
        state, due, met, kind, action = entry
        if state != ObligationStatus.PENDING.value:
            continue
        stored[key] = [ObligationStatus.CANCELLED.value, due, met, kind, action]
        rows.append(
            Obligation(
                provider_id=case.provider_id,
                case_id=case.pk,
                key=key,
                kind=kind,
                due_at=datetime.fromisoformat(due),
                state=ObligationStatus.CANCELLED.value,
                met_at=_at(met),
                action=action,
            )
        )
    case.clocks = stored
    return rows
