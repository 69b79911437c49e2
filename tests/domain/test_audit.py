from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from amends.domain.audit import GENESIS, ChainedEvent, event_digest, verify_chain

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def chain(n: int) -> list[ChainedEvent]:
    events = []
    previous = GENESIS
    for i in range(1, n + 1):
        fields = dict(
            sequence=i,
            case_id=i % 3,
            actor="user:1",
            at=T0 + timedelta(minutes=i),
            kind="acknowledge",
            data={"n": i, "note": "é"},
        )
        digest = event_digest(previous_hash=previous, provider_id=7, **fields)  # type: ignore[arg-type]
        events.append(ChainedEvent(previous_hash=previous, hash=digest, **fields))  # type: ignore[arg-type]
        previous = digest
    return events


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(7, chain(20)) == (20, None)


def test_an_edited_event_is_named() -> None:
    events = chain(10)
    events[4] = replace(events[4], data={"n": 999, "note": "é"})
    checked, broken = verify_chain(7, events)
    assert checked == 4 and broken is not None and broken.sequence == 5
    assert "changed" in broken.reason


def test_a_deleted_event_is_named() -> None:
    events = chain(10)
    del events[6]
    _, broken = verify_chain(7, events)
    assert broken is not None and broken.sequence == 8
    assert "deleted or inserted" in broken.reason


def test_a_recomputed_hash_breaks_the_next_link() -> None:
    events = chain(5)
    forged = replace(events[1], actor="user:2")
    forged = replace(
        forged,
        hash=event_digest(
            previous_hash=forged.previous_hash,
            provider_id=7,
            sequence=2,
            case_id=forged.case_id,
            actor="user:2",
            at=forged.at,
            kind=forged.kind,
            data=forged.data,
        ),
    )
    events[1] = forged
    _, broken = verify_chain(7, events)
    assert broken is not None and broken.sequence == 3


def test_another_providers_chain_does_not_verify_as_this_one() -> None:
    _, broken = verify_chain(8, chain(3))
    assert broken is not None and broken.sequence == 1
