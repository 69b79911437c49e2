"""Two identical POSTs with one Idempotency-Key at the same moment make one case."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from django.db import connections
from django.utils import timezone

from amends.cases.models import Case
from tests.api.conftest import Api, Tokens


def test_two_concurrent_identical_posts_make_one_case(tokens_committed: Tokens) -> None:
    body = {
        "kind": "complaint",
        "channel": "email",
        "first_received_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        "summary": "Raced twice by the CRM",
        "customer": {"contact_name": "Race Test", "email": "race@example.net"},
    }
    start = threading.Barrier(2)
    answers: list[Any] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            client = Api(tokens_committed.full)
            start.wait(timeout=30)
            answers.append(client.post("/cases", body, **{"Idempotency-Key": "race-1"}))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(answers) == 2
    statuses = sorted(a.status_code for a in answers)
    # The second waits for the first and replays its answer (or, if it looked while the
    # first was still at work on another engine, is told the key is in use: never a second
    # case).
    assert statuses in ([201, 201], [201, 409]), [a.content for a in answers]
    created = [a.json()["reference"] for a in answers if a.status_code == 201]
    assert len(set(created)) == 1
    assert Case.objects.filter(summary="Raced twice by the CRM").count() == 1
