"""The tamper-evident audit chain: each provider's events are chained and sealed.

Every event stores the seal of the previous event of the same provider and its own seal: an
HMAC-SHA256, under a key kept outside the database, over the previous seal and a canonical
encoding of what it records (sequence, case, actor, time, kind, data). Without the key nobody
can write a seal that verifies, so an edited event, an inserted or forged one, and a rewritten
head are each found by :func:`verify_chain` at the right event. What a keyed chain alone cannot
show is the newest events deleted with the head rewound: a **checkpoint** (the head's sequence
and seal, itself sealed) written outside the database catches that (:func:`checkpoint_seal`).

The data must be JSON values without floats (money is pence, durations are strings), so that
PostgreSQL's jsonb and SQLite return exactly what was written.
"""

from __future__ import annotations

import hashlib
import hmac
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
    key: bytes,
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
    return hmac.new(key, f"{previous_hash}\n{body}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class BrokenLink:
    sequence: int
    reason: str


def verify_chain(
    provider_id: int, events: Iterable[ChainedEvent], *, key: bytes
) -> tuple[int, BrokenLink | None]:
    """(events checked, the first broken link or None). Events must come in sequence order
    (rows sharing a sequence in the order they were stored)."""
    previous = GENESIS
    expected_sequence = 1
    checked = 0
    for event in events:
        if event.sequence == expected_sequence - 1:
            return checked, BrokenLink(
                event.sequence,
                f"a second event claims sequence {event.sequence} (kind {event.kind!r}): "
                "inserted behind the ledger's back",
            )
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
            key=key,
            previous_hash=previous,
            provider_id=provider_id,
            sequence=event.sequence,
            case_id=event.case_id,
            actor=event.actor,
            at=event.at,
            kind=event.kind,
            data=event.data,
        )
        if not hmac.compare_digest(digest, event.hash):
            return checked, BrokenLink(
                event.sequence,
                "its seal does not match its content: it was changed or forged after it "
                "was written",
            )
        previous = event.hash
        expected_sequence += 1
        checked += 1
    return checked, None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The head of a provider's chain at a moment, sealed, kept outside the database."""

    provider_id: int
    sequence: int
    hash: str
    at: datetime
    seal: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider_id,
            "sequence": self.sequence,
            "hash": self.hash,
            "at": self.at.astimezone(UTC).isoformat(timespec="seconds"),
            "seal": self.seal,
        }


def checkpoint_seal(
    *, key: bytes, provider_id: int, sequence: int, head_hash: str, at: datetime
) -> Checkpoint:
    body = canonical(
        {
            "checkpoint": provider_id,
            "sequence": sequence,
            "hash": head_hash,
            "at": at.astimezone(UTC).isoformat(timespec="seconds"),
        }
    )
    seal = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return Checkpoint(provider_id, sequence, head_hash, at, seal)


def checkpoint_from_dict(data: Mapping[str, Any], *, key: bytes) -> Checkpoint | None:
    """The checkpoint a stored line records, or None when its seal does not verify."""
    try:
        at = datetime.fromisoformat(str(data["at"]))
        expected = checkpoint_seal(
            key=key,
            provider_id=int(data["provider"]),
            sequence=int(data["sequence"]),
            head_hash=str(data["hash"]),
            at=at,
        )
    except (KeyError, TypeError, ValueError):
        return None
    if not hmac.compare_digest(expected.seal, str(data.get("seal", ""))):
        return None
    return expected
