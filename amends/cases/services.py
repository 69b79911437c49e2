"""Writes of cases. Only :func:`case_transition` changes a case's state.

Each service is keyword-only, takes ``now`` from its caller, and does its work in one
transaction: the change, its Event (hash-chained per provider), the re-derived obligations and
any outbox row. Side effects (sending) happen after commit, from the outbox.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import transaction

from amends.cases.models import Case, Contact, Customer, Escalation, Event, Obligation
from amends.comms.models import OutboxKind, OutboxMessage
from amends.domain import audit
from amends.domain.calendar import BusinessCalendar
from amends.domain.codes import (
    CaseFacts,
    CaseKind,
    ChannelType,
    Code,
    Duration,
    ObligationKind,
    parse_code,
)
from amends.domain.lifecycle import (
    Action,
    CaseStatus,
    State,
    TransitionRefused,
    decide,
)
from amends.domain.obligations import (
    ClockFacts,
    DerivedObligation,
    DueAction,
    ObligationStatus,
    calendar_for_code,
    derive,
)
from amends.domain.obligations import (
    Escalation as EscalationFact,
)
from amends.domain.reference import make_reference
from amends.domain.regulation import PromiseInForce, promises_in_force
from amends.providers.models import CodeVersion, Provider, ProviderLedger, StaffMember

log = logging.getLogger("amends.cases")
LONDON = ZoneInfo("Europe/London")

WORKER = "worker"


class CaseError(Exception):
    """A request a service refuses, with a message for the person who made it."""


# --------------------------------------------------------------------------- codes


@lru_cache(maxsize=64)
def _parsed(version_id: int, sha256: str, content: str) -> tuple[Code, BusinessCalendar]:
    code = parse_code(content, filename=f"code-version-{version_id}.toml")
    return code, calendar_for_code(code)


def code_of(version: CodeVersion) -> tuple[Code, BusinessCalendar]:
    """The parsed code of a stored version and its calendar (cached: versions never change)."""
    return _parsed(version.pk, version.sha256, version.content)


def code_version_activate(
    *,
    provider: Provider,
    content: str,
    effective_from: date,
    activated_by: User | None,
    now: datetime,
) -> CodeVersion:
    """Store a code version for ``provider`` (rejecting a file that does not load)."""
    code = parse_code(content, filename=f"{provider.slug}.toml")
    digest = hashlib.sha256(content.encode()).hexdigest()
    version, _ = CodeVersion.objects.get_or_create(
        provider=provider,
        sha256=digest,
        effective_from=effective_from,
        defaults={
            "version": code.meta.version or digest[:12],
            "content": content,
            "activated_by": activated_by,
            "activated_at": now,
        },
    )
    return version


def code_version_in_force(*, provider: Provider, on: date) -> CodeVersion:
    version = (
        CodeVersion.objects.filter(provider=provider, effective_from__lte=on)
        .order_by("-effective_from", "-activated_at")
        .first()
    )
    if version is None:
        raise CaseError(f"{provider.name} has no Code of Practice in force on {on.isoformat()}.")
    return version


# --------------------------------------------------------------------------- audit


def _ledger(provider_id: int) -> ProviderLedger:
    ledger = ProviderLedger.objects.select_for_update().filter(provider_id=provider_id).first()
    if ledger is None:
        ProviderLedger.objects.get_or_create(provider_id=provider_id)
        ledger = ProviderLedger.objects.select_for_update().get(provider_id=provider_id)
    return ledger


def event_append(
    *,
    provider_id: int,
    case: Case | None,
    actor: str,
    at: datetime,
    kind: str,
    data: dict[str, Any],
) -> Event:
    """Append one event to the provider's chain (locks the chain head: no fork, no gap)."""
    ledger = _ledger(provider_id)
    sequence = ledger.last_event_sequence + 1
    case_id = case.pk if case is not None else None
    digest = audit.event_digest(
        previous_hash=ledger.last_event_hash,
        provider_id=provider_id,
        sequence=sequence,
        case_id=case_id,
        actor=actor,
        at=at,
        kind=kind,
        data=data,
    )
    event = Event.objects.create(
        provider_id=provider_id,
        sequence=sequence,
        case=case,
        actor=actor,
        at=at,
        kind=kind,
        data=data,
        previous_hash=ledger.last_event_hash,
        hash=digest,
    )
    ledger.last_event_sequence = sequence
    ledger.last_event_hash = digest
    ledger.save(update_fields=["last_event_sequence", "last_event_hash"])
    return event


@dataclass(frozen=True)
class AuditResult:
    provider_id: int
    checked: int
    broken: audit.BrokenLink | None


def audit_verify(*, provider_id: int) -> AuditResult:
    """Check a provider's whole chain; name the first broken link."""
    rows = (
        Event.objects.filter(provider_id=provider_id)
        .order_by("sequence")
        .values_list("sequence", "case_id", "actor", "at", "kind", "data", "previous_hash", "hash")
        .iterator(chunk_size=2000)
    )
    events = (audit.ChainedEvent(*row) for row in rows)
    checked, broken = audit.verify_chain(provider_id, events)
    if broken is None:
        head = ProviderLedger.objects.filter(provider_id=provider_id).first()
        if head is not None and head.last_event_sequence != checked:
            broken = audit.BrokenLink(
                checked + 1,
                f"the chain head says {head.last_event_sequence} events but {checked} remain "
                "(events at the end were deleted)",
            )
    return AuditResult(provider_id=provider_id, checked=checked, broken=broken)


# --------------------------------------------------------------------------- customers


def customer_create(*, provider: Provider, now: datetime, **fields: Any) -> Customer:
    if fields.get("vulnerability_note") and not fields.get("vulnerability_consent_at"):
        raise CaseError("A vulnerability note is kept only with the customer's consent.")
    return Customer.objects.create(provider=provider, created_at=now, **fields)


# --------------------------------------------------------------------------- cases


def _actor(user: User | None) -> str:
    return f"user:{user.pk}" if user is not None else "system"


def case_open(
    *,
    provider: Provider,
    customer: Customer,
    kind: CaseKind,
    channel: ChannelType,
    first_received_at: datetime,
    summary: str,
    now: datetime,
    actor: str = "system",
    description: str = "",
    category: str = "",
    first_received_note: str = "",
) -> Case:
    """Open a case. ``first_received_at`` is when the provider first heard of it, on any
    channel; when it is earlier than now by more than an hour a note must say why."""
    if customer.provider_id != provider.pk:
        raise CaseError("That customer belongs to another provider.")
    if first_received_at.tzinfo is None:
        raise CaseError("The time first received must include its time zone.")
    if first_received_at > now:
        raise CaseError("A case cannot be first received in the future.")
    if now - first_received_at > timedelta(hours=1) and not first_received_note.strip():
        raise CaseError(
            "Say why the case is entered later than it was first received "
            "(e.g. 'letter arrived Monday', 'call taken at 17:55')."
        )
    with transaction.atomic():
        version = code_version_in_force(
            provider=provider, on=first_received_at.astimezone(LONDON).date()
        )
        ledger = _ledger(provider.pk)
        ledger.last_case_serial += 1
        ledger.save(update_fields=["last_case_serial"])
        case = Case.objects.create(
            provider=provider,
            customer=customer,
            code_version=version,
            reference=make_reference(
                provider.reference_prefix, now.astimezone(LONDON).year, ledger.last_case_serial
            ),
            kind=kind.value,
            state=State.RECEIVED.value,
            channel=channel.value,
            first_received_at=first_received_at,
            first_received_note=first_received_note,
            entered_at=now,
            summary=summary,
            description=description,
            category=category,
            support_contract=customer.support_contract,
        )
        event_append(
            provider_id=provider.pk,
            case=case,
            actor=actor,
            at=now,
            kind="case_opened",
            data={
                "reference": case.reference,
                "kind": kind.value,
                "channel": channel.value,
                "first_received_at": first_received_at.isoformat(),
                "code_version": version.pk,
            },
        )
        obligations_sync(case=case, now=now)
    log.info("case opened", extra={"case_id": case.pk, "provider_id": provider.pk})
    return case


def _status(case: Case, code: Code) -> CaseStatus:
    return CaseStatus(
        kind=CaseKind(case.kind),
        state=State(case.state),
        acceptance_recorded=case.resolved_at is not None,
        adr_letter_issued=case.adr_letter_issued_at is not None,
        escalation_level=case.escalation_level,
        top_escalation_level=max((level.level for level in code.escalation), default=0),
        decision_accepted=case.decision_accepted_at is not None,
        decision_recorded=case.decision_at is not None,
        remedy_done=case.remedy_done_at is not None,
    )


def _close_open_review(case: Case, at: datetime) -> None:
    Escalation.objects.filter(case=case, reviewed_at__isnull=True).update(reviewed_at=at)


def case_transition(
    *,
    case_id: int,
    provider_id: int,
    action: Action,
    actor: str,
    now: datetime,
    at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Case:
    """The one writer of case state: check the table, apply, append the Event, re-derive the
    obligations, write any letter to the outbox; all in one transaction.

    ``at`` is when it happened (a call logged afterwards), never in the future; ``now`` when
    it is recorded. Raises :class:`CaseError` with a reason a person understands.
    """
    details = dict(details or {})
    at = at or now
    if at > now:
        raise CaseError("An action cannot be recorded as happening in the future.")
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("code_version", "provider", "customer")
            .filter(pk=case_id, provider_id=provider_id)
            .first()
        )
        if case is None:
            raise CaseError("No such case.")
        _apply(case, action, actor=actor, at=at, now=now, details=details)
    return case


def _apply(
    case: Case, action: Action, *, actor: str, at: datetime, now: datetime, details: dict[str, Any]
) -> None:
    code, _ = code_of(case.code_version)
    if action is Action.REQUEST_ADR_LETTER:
        _request_adr_letter(case, code, actor=actor, at=at, now=now)
        return
    try:
        decision = decide(_status(case, code), action)
    except TransitionRefused as refused:
        raise CaseError(refused.reason) from refused

    data: dict[str, Any] = {"from": decision.source.value, "to": decision.target.value}
    if at != now:
        data["at"] = at.isoformat()
    _record_facts(case, action, at=at, details=details, data=data)
    case.state = decision.target.value
    case.kind = decision.kind.value
    case.save()
    event_append(
        provider_id=case.provider_id, case=case, actor=actor, at=now, kind=action.value, data=data
    )
    if action is Action.ISSUE_ADR_LETTER:
        _write_adr_letter(case, trigger=str(details.get("trigger", "time")), now=now)
    obligations_sync(case=case, now=now)
    if action is Action.DECLARE_DEADLOCK:
        # Deadlock issues the ADR letter, unasked (GC C4 Annex since October 2018).
        _apply(
            case,
            Action.ISSUE_ADR_LETTER,
            actor=actor,
            at=at,
            now=now,
            details={"trigger": "deadlock"},
        )


def _record_facts(
    case: Case, action: Action, *, at: datetime, details: dict[str, Any], data: dict[str, Any]
) -> None:
    """The fields an action writes besides the state (each also lands in the Event's data)."""
    if action is Action.ACKNOWLEDGE:
        case.acknowledged_at = case.acknowledged_at or at
        case.first_contact_at = case.first_contact_at or at
    elif action is Action.ASSIGN:
        handler = _handler(case, details.get("handler_id"))
        case.handler = handler
        data["handler"] = handler.pk
    elif action is Action.INTRODUCE_HANDLER:
        case.handler_introduced_at = case.handler_introduced_at or at
        case.first_contact_at = case.first_contact_at or at
    elif action is Action.AGREE_UPDATES:
        interval = str(details.get("interval", "")).strip()
        if interval:
            try:
                Duration.parse(interval)
            except ValueError as error:
                raise CaseError(f"Update interval: {error}") from error
        case.updates_agreed_at = at
        case.update_interval = interval
        data["interval"] = interval
    elif action is Action.RECORD_UPDATE:
        Contact.objects.create(case=case, kind="update", at=at, channel=details.get("channel", ""))
        case.first_contact_at = case.first_contact_at or at
        data["channel"] = details.get("channel", "")
    elif action is Action.ESCALATE:
        _close_open_review(case, at)
        case.escalation_level += 1
        Escalation.objects.create(case=case, level=case.escalation_level, at=at)
        data["level"] = case.escalation_level
        data["reason"] = str(details.get("reason", ""))
    elif action is Action.PROPOSE_RESOLUTION:
        _close_open_review(case, at)
        case.resolution_proposed_at = at
    elif action is Action.ACCEPT_RESOLUTION:
        by = str(details.get("by", "")).strip()
        how = str(details.get("how", "")).strip()
        if not by or not how:
            raise CaseError("Record who accepted the resolution and how (phone, email, letter...).")
        case.resolved_at = at
        case.acceptance_by = by
        case.acceptance_how = how
        data.update(by=by, how=how)
    elif action is Action.CLOSE:
        case.closed_at = at
    elif action is Action.REOPEN:
        # The first receipt stands; acceptance must be given again before the next closure.
        case.resolved_at = None
        case.acceptance_by = ""
        case.acceptance_how = ""
        case.closed_at = None
        data["reason"] = str(details.get("reason", ""))
    elif action is Action.DECLARE_DEADLOCK:
        _close_open_review(case, at)
        case.deadlock_at = at
        data["final_position"] = str(details.get("final_position", ""))
    elif action is Action.ISSUE_ADR_LETTER:
        trigger = str(details.get("trigger", "time"))
        case.adr_letter_issued_at = case.adr_letter_issued_at or at
        case.adr_letter_trigger = case.adr_letter_trigger or trigger
        data["trigger"] = trigger
    elif action is Action.REFER_TO_SCHEME:
        case.scheme_reference = str(details.get("scheme_reference", "")).strip()
        case.referred_at = at
        data["scheme_reference"] = case.scheme_reference
    elif action is Action.RECORD_SCHEME_DECISION:
        case.decision_outcome = str(details.get("outcome", "")).strip()
        case.decision_remedies = str(details.get("remedies", "")).strip()
        case.decision_at = at
        data.update(outcome=case.decision_outcome, remedies=case.decision_remedies)
    elif action is Action.ACCEPT_DECISION:
        # The first acceptance starts the remedy clock; recording it again never moves it.
        case.decision_accepted_at = case.decision_accepted_at or at
    elif action is Action.COMPLETE_REMEDY:
        case.remedy_done_at = at
    elif action is Action.WITHDRAW:
        case.withdrawn_at = at
    elif action is Action.CONVERT_TO_COMPLAINT:
        case.converted_at = at
        data["was"] = case.kind


def _handler(case: Case, handler_id: Any) -> User:
    member = (
        StaffMember.objects.select_related("user")
        .filter(user_id=handler_id, provider_id=case.provider_id)
        .first()
    )
    if member is None:
        raise CaseError("Choose a handler who works for this provider.")
    return member.user


def _request_adr_letter(case: Case, code: Code, *, actor: str, at: datetime, now: datetime) -> None:
    """A customer's request for the ADR letter is never refused (EE, regulatory.md §21).

    Asking for the ombudsman is dissatisfaction: a query becomes a complaint and a withdrawn
    case is re-opened first, each with its own Event, and the first receipt stands.
    """
    if case.state == State.WITHDRAWN.value:
        _apply(
            case,
            Action.REOPEN,
            actor=actor,
            at=at,
            now=now,
            details={"reason": "the customer asked for the ADR letter"},
        )
    if case.kind != CaseKind.COMPLAINT.value:
        _apply(case, Action.CONVERT_TO_COMPLAINT, actor=actor, at=at, now=now, details={})
    event_append(
        provider_id=case.provider_id,
        case=case,
        actor=actor,
        at=now,
        kind=Action.REQUEST_ADR_LETTER.value,
        data={"letter_already_issued": case.adr_letter_issued_at is not None},
    )
    if case.adr_letter_issued_at is not None:
        _outbox(
            case,
            OutboxKind.ADR_LETTER_COPY,
            f"case:{case.pk}:adr_letter_copy:{now.isoformat()}",
            now,
        )
        return
    _issue_adr_letter(case, code, trigger="customer_request", actor=actor, at=at, now=now)


def _issue_adr_letter(
    case: Case, code: Code, *, trigger: str, actor: str, at: datetime, now: datetime
) -> None:
    """Issue the ADR letter: a state change where the table has one, else a recorded fact."""
    try:
        decide(_status(case, code), Action.ISSUE_ADR_LETTER)
    except TransitionRefused:
        # A state the letter does not move (resolved, closed, referred...): issue it anyway.
        case.adr_letter_issued_at = case.adr_letter_issued_at or at
        case.adr_letter_trigger = case.adr_letter_trigger or trigger
        case.save()
        event_append(
            provider_id=case.provider_id,
            case=case,
            actor=actor,
            at=now,
            kind=Action.ISSUE_ADR_LETTER.value,
            data={"trigger": trigger, "from": case.state, "to": case.state},
        )
        _write_adr_letter(case, trigger=trigger, now=now)
        obligations_sync(case=case, now=now)
        return
    _apply(case, Action.ISSUE_ADR_LETTER, actor=actor, at=at, now=now, details={"trigger": trigger})


def _outbox(case: Case, kind: OutboxKind, key: str, now: datetime, **payload: Any) -> bool:
    """Write one outbox row; False when the same effect was written before (a no-op)."""
    _, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "provider_id": case.provider_id,
            "case": case,
            "kind": kind.value,
            "channel": case.customer.preferred_contact,
            "payload": {"reference": case.reference, **payload},
            "created_at": now,
        },
    )
    return created


def _write_adr_letter(case: Case, *, trigger: str, now: datetime) -> None:
    """One letter per issue: the time letter at most once per case (its clock is single);
    deadlock and request letters once per occasion (a complaint re-opened and deadlocked
    again gets a second letter). The caller holds the case lock, so the count is stable."""
    if trigger == "time":
        key = f"case:{case.pk}:adr_letter:time"
    else:
        issued = OutboxMessage.objects.filter(case=case, kind=OutboxKind.ADR_LETTER).count()
        key = f"case:{case.pk}:adr_letter:{trigger}:{issued + 1}"
    _outbox(case, OutboxKind.ADR_LETTER, key, now, trigger=trigger)


# --------------------------------------------------------------------------- obligations


def _promises(case: Case, code: Code) -> tuple[PromiseInForce, ...]:
    return promises_in_force(
        code,
        kind=CaseKind(case.kind),
        first_received=case.first_received_at.astimezone(LONDON).date(),
        facts=CaseFacts(channel=ChannelType(case.channel), support_contract=case.support_contract),
        member_scheme=case.provider.adr_scheme or None,
    )


def _facts(case: Case) -> ClockFacts:
    return ClockFacts(
        kind=CaseKind(case.kind),
        state=State(case.state),
        first_received_at=case.first_received_at,
        acknowledged_at=case.acknowledged_at,
        handler_introduced_at=case.handler_introduced_at,
        first_contact_at=case.first_contact_at,
        updates_agreed_at=case.updates_agreed_at,
        update_interval=Duration.parse(case.update_interval) if case.update_interval else None,
        updates=tuple(case.contacts.filter(kind="update").values_list("at", flat=True)),
        resolved_at=case.resolved_at,
        adr_letter_issued_at=case.adr_letter_issued_at,
        escalations=tuple(
            EscalationFact(level=e.level, at=e.at, reviewed_at=e.reviewed_at)
            for e in case.escalations.all()
        ),
        decision_accepted_at=case.decision_accepted_at,
        remedy_done_at=case.remedy_done_at,
    )


def _stored_state(derived: DerivedObligation) -> str:
    """Met on time is met; met late stays pending (already due) so that the worker records
    the breach with its Event and the manager's notice, as for any other breach."""
    if derived.status is ObligationStatus.MET and derived.met_at is not None:
        late = derived.met_at > derived.due_at
        return (ObligationStatus.PENDING if late else ObligationStatus.MET).value
    return derived.status.value


def obligations_sync(*, case: Case, now: datetime) -> None:
    """Re-derive the case's obligations and reconcile the stored rows with them.

    * Met, breached and done rows are history: only a breached row's ``met_at`` is filled in
      when the owed thing is finally done.
    * A pending row already due (``due_at <= now``) is the worker's: whatever happened since
      its due time (the customer accepted, a late acknowledgement), the worker records the
      breach or issues the letter, with its Event and notice. Sync only notes ``met_at``.
    * Otherwise rows follow the derivation; rows no longer derived are cancelled.
    """
    code, calendar = code_of(case.code_version)
    derived = derive(_facts(case), _promises(case, code), calendar)
    existing = {row.key: row for row in Obligation.objects.filter(case=case)}
    history = {
        ObligationStatus.MET.value,
        ObligationStatus.BREACHED.value,
        ObligationStatus.DONE.value,
    }
    for item in derived:
        row = existing.pop(item.key, None)
        if row is None:
            Obligation.objects.create(
                provider_id=case.provider_id,
                case=case,
                key=item.key,
                kind=item.kind.value,
                due_at=item.due_at,
                state=_stored_state(item),
                met_at=item.met_at,
                origin=item.origin,
                rule_id=item.rule_id or "",
                source=item.source[:300],
                action=item.action.value,
            )
            continue
        overdue = row.state == ObligationStatus.PENDING.value and row.due_at <= now
        if row.state in history or overdue:
            if item.met_at is not None and row.met_at is None:
                row.met_at = item.met_at
                row.save(update_fields=["met_at"])
            continue
        state = _stored_state(item)
        if (row.state, row.due_at, row.met_at) != (state, item.due_at, item.met_at):
            row.state, row.due_at, row.met_at = state, item.due_at, item.met_at
            row.save(update_fields=["state", "due_at", "met_at"])
    for row in existing.values():
        if row.state == ObligationStatus.PENDING.value and row.due_at > now:
            row.state = ObligationStatus.CANCELLED.value
            row.save(update_fields=["state"])


def obligation_act(*, obligation_id: int, now: datetime) -> bool:
    """Act once on a due obligation (called by the worker inside its claiming transaction).

    Returns False when there was nothing to do (already acted on, or no longer pending).
    """
    # Lock order everywhere: the case, then its obligations (as case_transition does).
    case_id = Obligation.objects.filter(pk=obligation_id).values_list("case_id", flat=True).first()
    if case_id is None:
        return False
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("code_version", "customer", "provider")
        .get(pk=case_id)
    )
    row = Obligation.objects.select_for_update().filter(pk=obligation_id).first()
    if row is None or row.state != ObligationStatus.PENDING.value or row.due_at > now:
        return False
    if row.action == DueAction.ISSUE_ADR_LETTER.value and case.adr_letter_issued_at is None:
        row.state = ObligationStatus.DONE.value
        row.acted_at = now
        row.save(update_fields=["state", "acted_at"])
        code, _ = code_of(case.code_version)
        _issue_adr_letter(case, code, trigger="time", actor=WORKER, at=now, now=now)
        log.info("adr letter issued", extra={"case_id": case.pk, "obligation_id": row.pk})
        return True

    row.state = ObligationStatus.BREACHED.value
    row.acted_at = now
    row.save(update_fields=["state", "acted_at"])
    event_append(
        provider_id=case.provider_id,
        case=case,
        actor=WORKER,
        at=now,
        kind="obligation_breached",
        data={
            "obligation": row.key,
            "due_at": row.due_at.isoformat(),
            "met_late_at": row.met_at.isoformat() if row.met_at else None,
        },
    )
    manager = _manager_of(case)
    _outbox(
        case,
        OutboxKind.BREACH_NOTICE,
        f"obligation:{row.pk}:breach_notice",
        now,
        obligation=row.key,
        due_at=row.due_at.isoformat(),
        to_user=manager.pk if manager is not None else None,
    )
    code, _ = code_of(case.code_version)
    # A missed resolution target or review aim goes up the code's ladder, unless a resolution
    # is already with the customer (escalating then would take away their chance to accept).
    escalates = row.kind in (ObligationKind.RESOLVE.value, ObligationKind.ESCALATION_REVIEW.value)
    if escalates and case.state != State.RESOLUTION_PROPOSED.value:
        try:
            decide(_status(case, code), Action.ESCALATE)
        except TransitionRefused:
            pass
        else:
            _apply(
                case,
                Action.ESCALATE,
                actor=WORKER,
                at=now,
                now=now,
                details={"reason": f"{row.key} breached"},
            )
    log.info("obligation breached", extra={"case_id": case.pk, "obligation_id": row.pk})
    return True


def _manager_of(case: Case) -> User | None:
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
