"""The obligation sweep: find what is due through the partial index, act once per clock.

Due means "on or before": a clock whose due instant has **passed** (``due_at < now``) is the
worker's. Each clock is acted on in its own transaction, in the one lock order every writer
keeps: the case first (on PostgreSQL ``FOR UPDATE SKIP LOCKED``: a case a handler is changing
is left for the next pass, never waited on), then the clock's row, then the provider's ledger
last. The candidates are read without a lock, so the worker never holds a row it then waits
behind.

One clock the worker cannot process never stops the others: its attempt runs in a savepoint,
and a failure is recorded on the row (attempts, the error, a retry time with back-off), staff
are alerted once (``/healthz`` reports it too), and the sweep carries on with the next clock.
A worker killed mid-way loses nothing: its transaction rolls back and the clock is still due.
The sweep reads only pending clocks already due, so its cost grows with the work due, never
with the number of open cases.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from amends.cases.actors import system_actor
from amends.cases.clocks import mirror
from amends.cases.events import EventKind
from amends.cases.models import Case, Obligation
from amends.cases.writes import (
    AdrTrigger,
    CaseWrite,
    escalate_facts,
    issue_adr_letter,
    lock_case,
    manager_of,
    transition,
)
from amends.comms.models import OutboxKind
from amends.domain.codes import ObligationKind
from amends.domain.lifecycle import Action, State, TransitionRefused, decide
from amends.domain.obligations import DueAction, ObligationStatus

log = logging.getLogger("amends.worker")

BATCH = 200
#: Back-off after a failed attempt: 30 s, 1, 2, 4 ... minutes, at most an hour.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MOST = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BACKOFF_FIRST * (2 ** max(0, attempts - 1))
    return min(delay, BACKOFF_MOST)


def _due(now: datetime):  # type: ignore[no-untyped-def]
    return Obligation.objects.filter(state="pending", due_at__lt=now).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now)
    )


def obligation_sweep(now: datetime, *, limit: int = BATCH) -> int:
    """Act on up to ``limit`` due clocks; return how many were acted on."""
    handled = 0
    passed: set[int] = set()  # skipped (locked), failed or found moot in this pass
    while handled < limit:
        candidates = list(
            _due(now)
            .exclude(pk__in=passed)
            .order_by("due_at")
            .values_list("pk", "case_id", "provider_id")[:50]
        )
        if not candidates:
            break
        for obligation_id, case_id, provider_id in candidates:
            if handled >= limit:
                break
            try:
                with transaction.atomic():
                    acted = obligation_act(
                        obligation_id=obligation_id,
                        case_id=case_id,
                        provider_id=provider_id,
                        now=now,
                    )
            except Exception as error:  # isolate the item: record, alert, carry on
                passed.add(obligation_id)
                _record_failure(obligation_id, case_id, provider_id, now, error)
                continue
            if acted:
                handled += 1
            passed.add(obligation_id)
    return handled


def obligation_act(*, obligation_id: int, case_id: int, provider_id: int, now: datetime) -> bool:
    """Act once on a due clock (inside the caller's transaction). False when there was nothing
    to do now: the case is locked by someone else (next pass), or the clock is no longer due."""
    actor = system_actor(provider_id)
    skip = connection.features.has_select_for_update_skip_locked
    case = lock_case(case_id, actor, skip_locked=skip)
    if case is None:
        return False
    row = Obligation.objects.select_for_update().filter(pk=obligation_id, case_id=case_id).first()
    if row is None or row.state != ObligationStatus.PENDING.value or row.due_at >= now:
        return False
    write = CaseWrite(case, actor, now)
    row.acted_at = now
    row.attempts, row.retry_at, row.last_error = 0, None, ""
    if row.action == DueAction.ISSUE_ADR_LETTER.value and case.adr_letter_issued_at is None:
        row.state = ObligationStatus.DONE.value
        _save(row, case)
        issue_adr_letter(write, trigger=AdrTrigger.TIME, at=now)
        write.finish()
        log.info("adr letter issued", extra={"case_id": case.pk, "obligation_id": row.pk})
        return True

    row.state = ObligationStatus.BREACHED.value
    _save(row, case)
    write.event(
        EventKind.OBLIGATION_BREACHED,
        {
            "obligation": row.key,
            "due_at": row.due_at.isoformat(),
            "met_late_at": row.met_at.isoformat() if row.met_at else None,
        },
    )
    manager = manager_of(case)
    write.to_staff(
        OutboxKind.BREACH_NOTICE,
        f"obligation:{row.pk}:breach_notice",
        manager,
        obligation=row.key,
        due_at=row.due_at.isoformat(),
    )
    # A missed resolution target or review aim goes up the code's ladder, unless a resolution
    # is already with the customer (escalating then would take away their chance to accept).
    escalates = row.kind in (ObligationKind.RESOLVE.value, ObligationKind.ESCALATION_REVIEW.value)
    if escalates and case.state != State.RESOLUTION_PROPOSED.value:
        try:
            decide(write.status(), Action.ESCALATE)
        except TransitionRefused:
            pass
        else:
            transition(
                write, Action.ESCALATE, at=now, record=escalate_facts(f"{row.key} breached", now)
            )
            write.message(OutboxKind.ESCALATION_ACKNOWLEDGEMENT, level=write.case.escalation_level)
    write.finish()
    log.info("obligation breached", extra={"case_id": case.pk, "obligation_id": row.pk})
    return True


def _save(row: Obligation, case: Case) -> None:
    row.save(update_fields=["state", "acted_at", "attempts", "retry_at", "last_error"])
    case.clocks = {**case.clocks, row.key: mirror(row)}


def _record_failure(
    obligation_id: int, case_id: int, provider_id: int, now: datetime, error: Exception
) -> None:
    """Note the failure on the row (back off) and alert staff once; never raise."""
    log.error(
        "worker could not act on a clock",
        extra={
            "obligation_id": obligation_id,
            "case_id": case_id,
            "error_type": type(error).__name__,
        },
    )
    try:
        with transaction.atomic():
            row = Obligation.objects.select_for_update().filter(pk=obligation_id).first()
            if row is None:
                return
            row.attempts += 1
            row.retry_at = now + backoff(row.attempts)
            row.last_error = f"{type(error).__name__}: {error}"[:300]
            row.save(update_fields=["attempts", "retry_at", "last_error"])
            if row.attempts == 1:
                _alert(row, provider_id, now)
    except DatabaseError:
        log.error("worker could not record a failed clock", extra={"obligation_id": obligation_id})


def _alert(row: Obligation, provider_id: int, now: datetime) -> None:
    from amends.comms.outbox import Outbox, staff_recipient

    case = Case.objects.select_related("provider").get(pk=row.case_id)
    outbox = Outbox()
    outbox.add(
        provider=case.provider,
        case=case,
        kind=OutboxKind.WORKER_ALERT,
        key=f"obligation:{row.pk}:worker_alert",
        recipient=staff_recipient(manager_of(case), fallback_email=case.provider.alerts_email),
        now=now,
        payload={
            "reference": case.reference,
            "obligation": row.key,
            "attempts": row.attempts,
            "error": row.last_error,
        },
    )
    outbox.flush()


def failing_clocks() -> int:
    """How many due clocks the worker has failed on and is retrying (for /healthz)."""
    return Obligation.objects.filter(state="pending", attempts__gt=0).count()
