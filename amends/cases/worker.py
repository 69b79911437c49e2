"""The obligation sweep: claim what is due through the partial index, act once, commit.

Each obligation is claimed and acted on in its own transaction. On PostgreSQL the claim is
``SELECT ... FOR UPDATE OF obligation, case SKIP LOCKED``, so several workers take different
rows, a case a handler is changing is left for the next pass, and a worker
killed mid-way releases its row (its transaction rolls back) for another to take. On SQLite
the IMMEDIATE transaction holds the database's write lock for the whole act. Either way the
effect's unique key (outbox ``key``, obligation state) makes a second attempt a no-op.
The sweep reads only pending rows already due, so its cost grows with the work due, never
with the number of open cases.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from amends.cases.models import Obligation
from amends.cases.services import obligation_act

BATCH = 200


def obligation_sweep(now: datetime, *, limit: int = BATCH) -> int:
    """Act on up to ``limit`` due obligations; return how many were acted on."""
    handled = 0
    skip_locked = connection.features.has_select_for_update_skip_locked
    while handled < limit:
        with transaction.atomic():
            due = (
                Obligation.objects.filter(state="pending", due_at__lte=now)
                .select_related("case")
                .only("id", "case__id")
                .order_by("due_at")
            )
            if skip_locked:
                # Claim the obligation and its case together, skipping any either of which is
                # locked: a handler working on the case, or another worker on another of its
                # clocks. The worker then never waits on a lock while holding one (no deadlock
                # with case_transition, which locks the case first).
                due = due.select_for_update(skip_locked=True, of=("self", "case"))
            claimed = due.first()
            if claimed is None:
                break
            obligation_act(obligation_id=claimed.pk, now=now)
        handled += 1
    return handled
