"""The audit trail cannot be rewritten unseen: append-only in the database, sealed with a key
the database does not hold, and anchored outside it by checkpoints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from amends.cases.events import (
    audit_checkpoint_sweep,
    audit_checkpoint_write,
    audit_verify,
    checkpoint_path,
)
from amends.cases.models import Event
from amends.domain import audit
from amends.domain.lifecycle import Action
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def checkpoints_here(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.AMENDS_AUDIT_CHECKPOINT_DIR = tmp_path / "audit"
    return tmp_path / "audit"


@contextmanager
def triggers_off() -> Iterator[None]:
    """What an attacker with the database's owner rights does first (inside the test's
    transaction, so it is undone afterwards)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of this transaction's inserts first (PostgreSQL
            # refuses to alter a table with pending trigger events).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE cases_event DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER event_no_update")
            cursor.execute("DROP TRIGGER event_no_delete")
    yield


def history(world: World) -> None:
    case = world.open(london(2026, 11, 2, 10))
    world.act(case, Action.ACKNOWLEDGE, london(2026, 11, 2, 12))
    world.act(case, Action.INVESTIGATE, london(2026, 11, 2, 13))


def sha256_digest(previous: str, event: Event) -> str:
    """The unkeyed digest an attacker can compute (what the chain used to be)."""
    body = audit.canonical(
        {
            "provider": event.provider_id,
            "sequence": event.sequence,
            "case": event.case_id,
            "actor": event.actor,
            "at": event.at.isoformat(timespec="microseconds"),
            "kind": event.kind,
            "data": event.data,
        }
    )
    return hashlib.sha256(f"{previous}\n{body}".encode()).hexdigest()


def test_the_database_refuses_bulk_updates_and_deletes_of_events(iss: World) -> None:
    history(iss)
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(provider=iss.provider).update(actor="user:999")
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(provider=iss.provider).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_event SET kind = 'x'")
    assert audit_verify(provider_id=iss.provider.pk).broken is None


def test_rewriting_the_newest_event_with_a_recomputed_hash_is_named(iss: World) -> None:
    history(iss)
    newest = Event.objects.filter(provider=iss.provider).order_by("-sequence").first()
    assert newest is not None
    newest_data = {**newest.data, "to": "closed"}
    newest.data = newest_data
    forged = sha256_digest(newest.previous_hash, newest)
    with triggers_off(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_event SET data = %s, hash = %s WHERE id = %s",
            [json.dumps(newest_data), forged, newest.pk],
        )
        cursor.execute(
            "UPDATE providers_providerledger SET last_event_hash = %s WHERE provider_id = %s",
            [forged, iss.provider.pk],
        )
    result = audit_verify(provider_id=iss.provider.pk)
    assert result.broken is not None and result.broken.sequence == newest.sequence
    assert "seal does not match" in result.broken.reason
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", "--provider", "iss", stdout=out)
    assert exited.value.code == 1
    assert f"BROKEN at event {newest.sequence}" in out.getvalue()


def test_deleting_the_newest_events_and_rewinding_the_head_is_caught_by_the_checkpoint(
    iss: World,
) -> None:
    history(iss)
    audit_checkpoint_write(provider_id=iss.provider.pk, now=london(2026, 11, 2, 14))
    events = list(Event.objects.filter(provider=iss.provider).order_by("sequence"))
    keep = events[-2]
    with triggers_off(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_event WHERE id = %s", [events[-1].pk])
        cursor.execute(
            "UPDATE providers_providerledger SET last_event_sequence = %s, last_event_hash = %s "
            "WHERE provider_id = %s",
            [keep.sequence, keep.hash, iss.provider.pk],
        )
    result = audit_verify(provider_id=iss.provider.pk)
    assert result.broken is not None and result.broken.sequence == events[-1].sequence
    assert "deleted and the head rewound" in result.broken.reason


def test_a_forged_event_appended_behind_the_ledger_never_blocks_work_and_is_named(
    iss: World,
) -> None:
    history(iss)
    head = Event.objects.filter(provider=iss.provider).order_by("-sequence").first()
    assert head is not None
    with connection.cursor() as cursor:  # an INSERT: the triggers allow appending
        cursor.execute(
            "INSERT INTO cases_event (provider_id, sequence, case_id, actor, at, kind, data, "
            "previous_hash, hash) VALUES (%s, %s, NULL, 'user:1', %s, 'close', %s, %s, %s)",
            [
                iss.provider.pk,
                head.sequence + 1,
                head.at,
                json.dumps({}),
                head.hash,
                "f" * 64,
            ],
        )
    # The provider's work goes on...
    case = iss.open(london(2026, 11, 3, 10))
    iss.act(case, Action.ACKNOWLEDGE, london(2026, 11, 3, 11))
    # ...and the forgery is named at its sequence.
    result = audit_verify(provider_id=iss.provider.pk)
    assert result.broken is not None and result.broken.sequence == head.sequence + 1


def test_an_edited_checkpoint_file_is_reported(iss: World, checkpoints_here: Path) -> None:
    history(iss)
    audit_checkpoint_write(provider_id=iss.provider.pk, now=london(2026, 11, 2, 14))
    path = checkpoint_path(iss.provider.pk)
    line = json.loads(path.read_text())
    line["sequence"] -= 1
    path.write_text(json.dumps(line) + "\n")
    result = audit_verify(provider_id=iss.provider.pk)
    assert result.broken is not None and "checkpoint file line 1" in result.broken.reason


def test_the_worker_checkpoints_each_moved_chain_at_most_every_interval(
    iss: World, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.AMENDS_AUDIT_CHECKPOINT_EVERY = 300
    from amends.cases import events

    events._last_sweep = None
    history(iss)
    start = london(2026, 11, 2, 14)
    audit_checkpoint_sweep(start)
    path = checkpoint_path(iss.provider.pk)
    assert len(path.read_text().splitlines()) == 1
    iss.act(iss.open(london(2026, 11, 2, 14)), Action.ACKNOWLEDGE, london(2026, 11, 2, 14))
    audit_checkpoint_sweep(start + timedelta(seconds=60))  # too soon
    assert len(path.read_text().splitlines()) == 1
    audit_checkpoint_sweep(start + timedelta(seconds=301))
    assert len(path.read_text().splitlines()) == 2
    audit_checkpoint_sweep(start + timedelta(seconds=700))  # nothing moved: nothing written
    assert len(path.read_text().splitlines()) == 2
    result = audit_verify(provider_id=iss.provider.pk)
    assert (result.broken, result.checkpoints) == (None, 2)
