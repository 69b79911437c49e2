"""Case serials: never repeated, counted on from the provider's counter, and (PostgreSQL) taken
without a lock, so two cases of one provider open side by side."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from amends.cases.actions import _next_serial, case_open
from amends.domain.codes import CaseKind, ChannelType
from amends.domain.reference import parse_reference
from amends.providers.models import CaseCounter
from tests.cases.conftest import World, make_world


def _open(world: World) -> Any:
    now = timezone.now()
    return case_open(
        provider=world.provider,
        customer=world.customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.EMAIL,
        first_received_at=now,
        summary="Serial",
        now=now,
        actor=world.staff,
    )


def serial(reference: str) -> int:
    return parse_reference(reference).serial


def test_serials_count_on_from_the_counter_and_never_repeat(v4voip: World) -> None:
    CaseCounter.objects.filter(provider=v4voip.provider).update(last_serial=41)
    references = [_open(v4voip).reference for _ in range(3)]
    assert [serial(r) for r in references] == [42, 43, 44]
    assert len(set(references)) == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite has one writer at a time: the counter row"
)
@pytest.mark.django_db(transaction=True)
def test_a_case_opens_while_another_openings_serial_is_taken_and_uncommitted() -> None:
    world = make_world("serials", "v4voip.toml", "SER", "communications-ombudsman")
    _open(world)  # the provider's first case makes its sequence (committed)
    holding = threading.Event()
    release = threading.Event()
    results: dict[str, Any] = {}

    def slow() -> None:
        try:
            with transaction.atomic():
                # Another opening that has taken its number and is still at work (rendering
                # its acknowledgement, say): its transaction stays open.
                results["slow"] = _next_serial(world.provider.pk)
                holding.set()
                release.wait(30)
        except Exception as error:  # noqa: BLE001 - reported below
            results["slow_error"] = repr(error)
            holding.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert holding.wait(30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # a wait on the first would fail here
        results["fast"] = _open(world).reference
    finally:
        release.set()
        thread.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert "slow_error" not in results, results
    assert serial(results["fast"]) == results["slow"] + 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite counts on its counter row, in the writer"
)
@pytest.mark.django_db(transaction=True)
def test_once_its_sequence_is_known_an_opening_takes_its_number_with_the_code_version() -> None:
    from django.test.utils import CaptureQueriesContext

    world = make_world("serials2", "v4voip.toml", "SQN", "communications-ombudsman")
    first = serial(_open(world).reference)  # makes the sequence, remembered once committed
    with CaptureQueriesContext(connection) as queries:
        later = [serial(_open(world).reference) for _ in range(3)]
    assert later == [first + 1, first + 2, first + 3]
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if s.startswith("SELECT nextval")]
    assert len([s for s in sql if "nextval" in s and "providers_codeversion" in s]) == 3
