from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from amends.domain.audit import GENESIS, ChainedEvent, event_digest, verify_chain

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
KEY = b"test-key-not-in-any-database"


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
        digest = event_digest(key=KEY, previous_hash=previous, provider_id=7, **fields)  # type: ignore[arg-type]
        events.append(ChainedEvent(previous_hash=previous, hash=digest, **fields))  # type: ignore[arg-type]
        previous = digest
    return events


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(7, chain(20), key=KEY) == (20, None)


def test_an_edited_event_is_named() -> None:
    events = chain(10)
    events[4] = replace(events[4], data={"n": 999, "note": "é"})
    checked, broken = verify_chain(7, events, key=KEY)
    assert checked == 4 and broken is not None and broken.sequence == 5
    assert "changed" in broken.reason


def test_a_deleted_event_is_named() -> None:
    events = chain(10)
    del events[6]
    _, broken = verify_chain(7, events, key=KEY)
    assert broken is not None and broken.sequence == 8
    assert "deleted or inserted" in broken.reason


def forge(events: list[ChainedEvent], index: int, key: bytes) -> None:
    forged = replace(events[index], actor="user:2")
    events[index] = replace(
        forged,
        hash=event_digest(
            key=key,
            previous_hash=forged.previous_hash,
            provider_id=7,
            sequence=forged.sequence,
            case_id=forged.case_id,
            actor="user:2",
            at=forged.at,
            kind=forged.kind,
            data=forged.data,
        ),
    )


def test_a_seal_recomputed_without_the_key_is_named_at_that_event() -> None:
    # The head itself rewritten by someone who can write the database but has no key.
    events = chain(5)
    forge(events, 4, b"a guess at the key")
    checked, broken = verify_chain(7, events, key=KEY)
    assert (checked, broken and broken.sequence) == (4, 5)
    assert broken is not None and "seal does not match" in broken.reason


def test_a_second_event_at_a_sequence_is_named() -> None:
    events = chain(4)
    events.insert(3, replace(events[2], kind="forged"))
    _, broken = verify_chain(7, events, key=KEY)
    assert broken is not None and broken.sequence == 3
    assert "second event claims sequence 3" in broken.reason


def test_a_checkpoint_verifies_only_under_its_key_and_unchanged() -> None:
    from amends.domain.audit import checkpoint_from_dict, checkpoint_seal

    made = checkpoint_seal(key=KEY, provider_id=7, sequence=20, head_hash="ab" * 32, at=T0)
    assert checkpoint_from_dict(made.as_dict(), key=KEY) == made
    assert checkpoint_from_dict(made.as_dict(), key=b"other") is None
    assert checkpoint_from_dict({**made.as_dict(), "sequence": 19}, key=KEY) is None
    assert checkpoint_from_dict({"provider": "x"}, key=KEY) is None


def test_a_recomputed_hash_breaks_the_next_link() -> None:
    # Even an insider with the key cannot rewrite one event without breaking the next link.
    events = chain(5)
    forged = replace(events[1], actor="user:2")
    forged = replace(
        forged,
        hash=event_digest(
            key=KEY,
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
    _, broken = verify_chain(7, events, key=KEY)
    assert broken is not None and broken.sequence == 3


def test_another_providers_chain_does_not_verify_as_this_one() -> None:
    _, broken = verify_chain(8, chain(3), key=KEY)
    assert broken is not None and broken.sequence == 1
