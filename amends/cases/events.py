"""The audit trail: what kinds of event there are, appending them, and proving them.

Events are append-only in the database itself (triggers on PostgreSQL and SQLite refuse an
UPDATE or DELETE of ``cases_event``), sealed per provider with a key that is not in the
database (``settings.AMENDS_AUDIT_KEY``; see ``amends.domain.audit``), and the head of each
chain is checkpointed outside the database (``AMENDS_AUDIT_CHECKPOINT_DIR``) by the worker.

A transaction collects its events in a :class:`Chain` and appends them **at its end**: the
provider's ledger row is the last lock any writer takes (case, then obligations, then the
ledger). A case's writer read the ledger's head (unlocked) with the case, so it seals its
events on that head and moves the ledger in one ``UPDATE ... WHERE`` the head is still the one
read (which takes the lock), then inserts the events: two statements on SQLite, one on
PostgreSQL (the UPDATE in a ``WITH`` whose INSERT writes the events only if the UPDATE moved
the head: ``amends.core.inserts.insert_if``). When another writer of the provider moved the
head meanwhile, or none was read, three: ``UPDATE ... RETURNING`` locks and reads the head,
one INSERT of the events, one UPDATE of the head's seal.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections

from amends.cases.models import Case, Event
from amends.comms import webhooks
from amends.comms.models import WebhookDelivery
from amends.core.inserts import insert, insert_if
from amends.domain import audit
from amends.domain.lifecycle import Action
from amends.providers.models import ProviderLedger

log = logging.getLogger("amends.audit")


class EventKind(StrEnum):
    """Every kind of event the trail records (the lifecycle's actions keep their names)."""

    CASE_OPENED = "case_opened"
    ACKNOWLEDGE = Action.ACKNOWLEDGE.value
    ASSIGN = Action.ASSIGN.value
    INTRODUCE_HANDLER = Action.INTRODUCE_HANDLER.value
    RECORD_UPDATE = Action.RECORD_UPDATE.value
    AGREE_UPDATES = Action.AGREE_UPDATES.value
    INVESTIGATE = Action.INVESTIGATE.value
    ESCALATE = Action.ESCALATE.value
    PROPOSE_RESOLUTION = Action.PROPOSE_RESOLUTION.value
    ACCEPT_RESOLUTION = Action.ACCEPT_RESOLUTION.value
    REJECT_RESOLUTION = Action.REJECT_RESOLUTION.value
    CLOSE = Action.CLOSE.value
    REOPEN = Action.REOPEN.value
    DECLARE_DEADLOCK = Action.DECLARE_DEADLOCK.value
    REQUEST_ADR_LETTER = Action.REQUEST_ADR_LETTER.value
    ISSUE_ADR_LETTER = Action.ISSUE_ADR_LETTER.value
    REFER_TO_SCHEME = Action.REFER_TO_SCHEME.value
    SCHEME_DECLINED = Action.SCHEME_DECLINED.value
    RECORD_SCHEME_DECISION = Action.RECORD_SCHEME_DECISION.value
    ACCEPT_DECISION = Action.ACCEPT_DECISION.value
    COMPLETE_REMEDY = Action.COMPLETE_REMEDY.value
    WITHDRAW = Action.WITHDRAW.value
    CONVERT_TO_COMPLAINT = Action.CONVERT_TO_COMPLAINT.value
    OBLIGATION_BREACHED = "obligation_breached"
    CALL_LOGGED = "call_logged"
    NOTE_ADDED = "note_added"
    COMPENSATION_RECORDED = "compensation_recorded"
    COMPENSATION_APPLIED = "compensation_applied"
    CASE_LINK_SENT = "case_link_sent"
    MESSAGE_DELIVERED = "message_delivered"
    MESSAGE_FAILED = "message_failed"
    MESSAGE_RECEIVED = "message_received"
    MESSAGE_SENT = "message_sent"
    CASE_MERGED = "case_merged"
    MERGED_INTO = "merged_into"
    CODE_VERSION_ACTIVATED = "code_version_activated"
    PROVIDER_CREATED = "provider_created"

    @classmethod
    def of(cls, action: Action) -> EventKind:
        return cls(action.value)


def audit_key() -> bytes:
    return str(settings.AMENDS_AUDIT_KEY).encode()


@dataclass
class _Pending:
    case_id: int | None
    actor: str
    at: datetime
    kind: EventKind
    data: dict[str, Any]
    #: The case as the transaction leaves it (for the webhook bodies), not part of the seal.
    case: Case | None = None


@dataclass
class Chain:
    """The events of one transaction of one provider, appended together by :meth:`flush`."""

    provider_id: int
    pending: list[_Pending] = field(default_factory=list)

    def add(
        self,
        *,
        case: Case | None,
        actor: str,
        at: datetime,
        kind: EventKind,
        data: dict[str, Any],
    ) -> None:
        self.pending.append(
            _Pending(case.pk if case is not None else None, actor, at, EventKind(kind), data, case)
        )

    def flush(self, *, head: tuple[int, str] | None = None) -> list[Event]:
        """Append the pending events to the provider's chain (call inside the transaction,
        after every other write: the ledger is locked last).

        ``head`` is the ledger as read (unlocked) with the case: the events are sealed on it
        and the ledger moved on only if it is still there (one ``UPDATE ... WHERE sequence =
        read``, which locks the row); if another transaction moved it meanwhile, the row is
        locked and read again and the events sealed on that (the chain never forks)."""
        if not self.pending:
            return []
        count = len(self.pending)
        if head is not None:
            events, last = self._sealed(head[0], head[1])
            move: list[int | str] = [head[0] + count, last, self.provider_id, head[0], head[1]]
            if connection.vendor == "postgresql":
                # One statement: the ledger moved and, only if it moved, the events inserted.
                moved = insert_if(_MOVE, move, events)
            else:
                with connection.cursor() as cursor:
                    cursor.execute(_MOVE, move)
                    moved = cursor.fetchone()
                if moved is not None:
                    insert(events)
            if moved is not None:
                self._deliver(events, moved[0])
                self.pending.clear()
                return events
        sequence, previous, routes = _ledger_advance(self.provider_id, count)
        events, last = self._sealed(sequence - count, previous)
        insert(events)
        ProviderLedger.objects.filter(provider_id=self.provider_id).update(last_event_hash=last)
        self._deliver(events, routes)
        self.pending.clear()
        return events

    def _deliver(self, events: list[Event], routes: Any) -> None:
        """The webhook deliveries these events owe (none, without a read, when the provider's
        endpoints want none of them): inserted here, in the transaction of their cause."""
        rows = webhooks.deliveries_for(
            provider_id=self.provider_id,
            routes=webhooks.routes_of(routes),
            events=(
                webhooks.Caused(e.sequence, e.kind, e.at, e.data, p.case)
                for e, p in zip(events, self.pending, strict=True)
            ),
            now=self.pending[-1].at,
        )
        if rows:
            WebhookDelivery.objects.bulk_create(rows)

    def _sealed(self, sequence: int, previous: str) -> tuple[list[Event], str]:
        """The pending events sealed after the event (``sequence``, ``previous``)."""
        key = audit_key()
        events: list[Event] = []
        for item in self.pending:
            sequence += 1
            digest = audit.event_digest(
                key=key,
                previous_hash=previous,
                provider_id=self.provider_id,
                sequence=sequence,
                case_id=item.case_id,
                actor=item.actor,
                at=item.at,
                kind=item.kind.value,
                data=item.data,
            )
            events.append(
                Event(
                    provider_id=self.provider_id,
                    sequence=sequence,
                    case_id=item.case_id,
                    actor=item.actor,
                    at=item.at,
                    kind=item.kind.value,
                    data=item.data,
                    previous_hash=previous,
                    hash=digest,
                )
            )
            previous = digest
        return events, previous


_ADVANCE = (
    "UPDATE providers_providerledger SET last_event_sequence = last_event_sequence + %s "
    "WHERE provider_id = %s RETURNING last_event_sequence, last_event_hash, webhook_routes"
)
#: Move the head from the one read with the case, only if it is still there (and return the
#: provider's webhook routes, read under the lock this takes).
_MOVE = (
    "UPDATE providers_providerledger SET last_event_sequence = %s, last_event_hash = %s "
    "WHERE provider_id = %s AND last_event_sequence = %s AND last_event_hash = %s "
    "RETURNING webhook_routes"
)


def _ledger_advance(provider_id: int, count: int) -> tuple[int, str, Any]:
    """Lock the provider's ledger row and move its sequence on by ``count`` in one statement;
    return (the new last sequence, the seal of the event before the first new one, the
    provider's webhook routes)."""
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE, [count, provider_id])
        row = cursor.fetchone()
        if row is None:  # a provider made before ledgers existed: make its row, then advance
            ProviderLedger.objects.get_or_create(provider_id=provider_id)
            cursor.execute(_ADVANCE, [count, provider_id])
            row = cursor.fetchone()
    return int(row[0]), str(row[1]), row[2]


# --------------------------------------------------------------------------- purge

_PURGE: ContextVar[bool] = ContextVar("amends_purge_events", default=False)


def purge_allowed() -> bool:
    return _PURGE.get()


@contextmanager
def events_purge_allowed(using: str = "default") -> Iterator[None]:
    """Let DELETE and TRUNCATE of events through the append-only triggers for the block (the
    test suite's flush; a retention job). Never UPDATE. Checkpoints still show what went."""
    conn = connections[using]
    token = _PURGE.set(True)
    try:
        if conn.vendor == "postgresql":
            with conn.cursor() as cursor:
                cursor.execute("SET amends.purge_events = 'on'")
        yield
    finally:
        _PURGE.reset(token)
        if conn.vendor == "postgresql" and conn.connection is not None:
            with conn.cursor() as cursor:
                cursor.execute("RESET amends.purge_events")


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class AuditResult:
    provider_id: int
    checked: int
    broken: audit.BrokenLink | None
    checkpoints: int = 0


def checkpoint_path(provider_id: int) -> Path:
    return Path(settings.AMENDS_AUDIT_CHECKPOINT_DIR) / f"provider-{provider_id}.jsonl"


def _checkpoints(provider_id: int) -> tuple[list[audit.Checkpoint], list[int]]:
    """(valid checkpoints, line numbers whose seal does not verify)."""
    path = checkpoint_path(provider_id)
    if not path.exists():
        return [], []
    valid: list[audit.Checkpoint] = []
    bad: list[int] = []
    key = audit_key()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            bad.append(number)
            continue
        checkpoint = audit.checkpoint_from_dict(data, key=key) if isinstance(data, dict) else None
        if checkpoint is None or checkpoint.provider_id != provider_id:
            bad.append(number)
        else:
            valid.append(checkpoint)
    return valid, bad


def audit_verify(*, provider_id: int) -> AuditResult:
    """Check a provider's whole chain, its head and its checkpoints; name the first broken
    link."""
    checkpoints, bad_lines = _checkpoints(provider_id)
    if bad_lines:
        return AuditResult(
            provider_id,
            0,
            audit.BrokenLink(
                0,
                f"checkpoint file line {bad_lines[0]} is not sealed by this installation's "
                "key (the checkpoint file was edited)",
            ),
        )
    wanted = {c.sequence for c in checkpoints}
    seen: dict[int, str] = {}

    def rows() -> Any:
        query = (
            Event.objects.filter(provider_id=provider_id)
            .order_by("sequence", "id")
            .values_list(
                "sequence", "case_id", "actor", "at", "kind", "data", "previous_hash", "hash"
            )
            .iterator(chunk_size=2000)
        )
        for row in query:
            event = audit.ChainedEvent(*row)
            if event.sequence in wanted and event.sequence not in seen:
                seen[event.sequence] = event.hash
            yield event

    checked, broken = audit.verify_chain(provider_id, rows(), key=audit_key())
    if broken is not None:
        return AuditResult(provider_id, checked, broken, len(checkpoints))
    head = ProviderLedger.objects.filter(provider_id=provider_id).first()
    head_sequence = head.last_event_sequence if head is not None else 0
    if head_sequence != checked:
        return AuditResult(
            provider_id,
            checked,
            audit.BrokenLink(
                checked + 1,
                f"the chain head says {head_sequence} events but {checked} verify "
                "(events at the end were deleted, or the head was moved)",
            ),
            len(checkpoints),
        )
    for checkpoint in sorted(checkpoints, key=lambda c: c.sequence):
        when = checkpoint.at.isoformat(timespec="seconds")
        if checkpoint.sequence > checked:
            return AuditResult(
                provider_id,
                checked,
                audit.BrokenLink(
                    checked + 1,
                    f"the checkpoint of {when} recorded {checkpoint.sequence} events but only "
                    f"{checked} remain: events from {checked + 1} on were deleted and the "
                    "head rewound",
                ),
                len(checkpoints),
            )
        if checkpoint.sequence and seen.get(checkpoint.sequence) != checkpoint.hash:
            return AuditResult(
                provider_id,
                checked,
                audit.BrokenLink(
                    checkpoint.sequence,
                    f"event {checkpoint.sequence} is not the one the checkpoint of {when} "
                    "recorded (the chain was rewritten from there on)",
                ),
                len(checkpoints),
            )
    return AuditResult(provider_id, checked, None, len(checkpoints))


# --------------------------------------------------------------------------- checkpoints


def audit_checkpoint_write(*, provider_id: int, now: datetime) -> audit.Checkpoint | None:
    """Append a sealed checkpoint of the provider's chain head, unless it has not moved since
    the last one. Returns the checkpoint written, or None."""
    head = ProviderLedger.objects.filter(provider_id=provider_id).first()
    if head is None or head.last_event_sequence == 0:
        return None
    path = checkpoint_path(provider_id)
    last = _last_line(path)
    if last is not None and int(last.get("sequence", -1)) == head.last_event_sequence:
        return None
    checkpoint = audit.checkpoint_seal(
        key=audit_key(),
        provider_id=provider_id,
        sequence=head.last_event_sequence,
        head_hash=head.last_event_hash,
        at=now,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(checkpoint.as_dict(), sort_keys=True) + "\n"
    # One write with O_APPEND: several workers appending never interleave within a line.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    log.info(
        "audit checkpoint written",
        extra={"provider_id": provider_id, "sequence": checkpoint.sequence},
    )
    return checkpoint


def _last_line(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        return None
    try:
        data = json.loads(lines[-1])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def audit_checkpoint_sweep(now: datetime) -> int:
    """The worker's checkpoint pass: every ``AMENDS_AUDIT_CHECKPOINT_EVERY`` seconds, a
    checkpoint of each chain that moved."""
    every = float(settings.AMENDS_AUDIT_CHECKPOINT_EVERY)
    global _last_sweep
    if _last_sweep is not None and (now - _last_sweep).total_seconds() < every:
        return 0
    _last_sweep = now
    for provider_id in ProviderLedger.objects.values_list("provider_id", flat=True):
        audit_checkpoint_write(provider_id=provider_id, now=now)
    return 0  # bookkeeping, not work: the worker does not hurry back for it


_last_sweep: datetime | None = None
