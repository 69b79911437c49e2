"""Writes of the operation app. The clock is read by callers and passed in as ``now``."""

from __future__ import annotations

from datetime import datetime

from amends.core.models import WorkerHeartbeat


def worker_heartbeat_record(
    *, worker_id: str, hostname: str, pid: int, started_at: datetime, now: datetime
) -> None:
    """Record that a worker is alive at ``now`` (one row per worker process)."""
    updated = WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=now)
    if not updated:
        WorkerHeartbeat.objects.create(
            worker_id=worker_id, hostname=hostname, pid=pid, started_at=started_at, beat_at=now
        )


def worker_stop_record(*, worker_id: str, now: datetime) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=now, stopped_at=now)
