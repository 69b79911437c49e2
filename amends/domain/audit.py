"""The tamper-evident audit chain: each provider's events are hash-chained.

Every event stores the SHA-256 of the previous event of the same provider and its own digest
over a canonical encoding of what it records (sequence, case, actor, time, kind, data). Any
later edit, deletion or insertion changes a digest that the next event has sealed, so
:func:`verify_chain` finds the first broken link. The data must be JSON values without floats
(money and durations are strings), so that PostgreSQL's jsonb and SQLite return exactly what
was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

GENESIS: Final = "0" * 64


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    sequence: int
    case_id: int | None
    actor: str
    at: datetime
    kind: str
    data: Mapping[str, Any]
    previous_hash: str
    hash: str


def canonical(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_digest(
    *,
    previous_hash: str,
    provider_id: int,
    sequence: int,
    case_id: int | None,
    actor: str,
    at: datetime,
    kind: str,
    data: Mapping[str, Any],
) -> str:
    if at.tzinfo is None:
        raise ValueError("audit events need aware datetimes")
    body = canonical(
        {
            "provider": provider_id,
            "sequence": sequence,
            "case": case_id,
            "actor": actor,
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "kind": kind,
            "data": data,
        }
    )
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class BrokenLink:
    sequence: int
    reason: str


def verify_chain(provider_id: int, events: Iterable[ChainedEvent]) -> tuple[int, BrokenLink | None]:
    """(events checked, the first broken link or None). Events must come in sequence order."""
    previous = GENESIS
    expected_sequence = 1
    checked = 0
    for event in events:
        if event.sequence != expected_sequence:
            return checked, BrokenLink(
                event.sequence,
                f"expected event {expected_sequence} next, found {event.sequence} "
                "(an event was deleted or inserted)",
            )
        if event.previous_hash != previous:
            return checked, BrokenLink(
                event.sequence, "its link to the previous event does not match"
            )
        digest = event_digest(
            previous_hash=previous,
            provider_id=provider_id,
            sequence=event.sequence,
            case_id=event.case_id,
            actor=event.actor,
            at=event.at,
            kind=event.kind,
            data=event.data,
        )
        if digest != event.hash:
            return checked, BrokenLink(
                event.sequence, "its content was changed after it was written"
            )
        previous = event.hash
        expected_sequence += 1
        checked += 1
    return checked, None
