"""Reads of the operation app: the health report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from amends.core.models import WorkerHeartbeat

_migrations_known_applied = False


def _unapplied_migrations() -> list[str]:
    """Migrations not yet applied. Once all are applied that stays true for this code."""
    global _migrations_known_applied
    if _migrations_known_applied:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    _migrations_known_applied = not unapplied
    return unapplied


def health_report(*, now: datetime) -> tuple[bool, dict[str, Any]]:
    """(healthy, report). Unhealthy when the database is unreachable or migrations are pending.

    A stale or missing worker heartbeat is reported but does not make the web tier unhealthy:
    a load balancer must not take every web process out because the worker stopped.
    """
    report: dict[str, Any] = {"time": now.isoformat()}
    stale_after = timedelta(seconds=settings.AMENDS_WORKER_STALE_AFTER)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        unapplied = _unapplied_migrations()
        beat = WorkerHeartbeat.objects.filter(stopped_at__isnull=True).order_by("-beat_at").first()
        alive = WorkerHeartbeat.objects.filter(
            stopped_at__isnull=True,
            beat_at__gte=now - stale_after,
        ).count()
    except DatabaseError as error:
        report["database"] = {"status": "unreachable", "error": type(error).__name__}
        report["status"] = "unhealthy"
        return False, report

    report["database"] = {"status": "ok", "vendor": connection.vendor}
    report["migrations"] = {"status": "ok" if not unapplied else "pending", "unapplied": unapplied}
    if beat is None:
        worker: dict[str, Any] = {
            "status": "never-seen",
            "last_heartbeat": None,
            "age_seconds": None,
        }
    else:
        age = (now - beat.beat_at).total_seconds()
        worker = {
            "status": "ok" if age <= stale_after.total_seconds() else "stale",
            "last_heartbeat": beat.beat_at.isoformat(),
            "age_seconds": round(age, 3),
            "alive": alive,
        }
    # Clocks the worker failed on and is retrying with back-off (it carries on with the
    # others): staff are alerted; the report says how many, and the status is degraded.
    failing = None
    if not unapplied:
        from amends.cases.worker import failing_clocks

        try:
            failing = failing_clocks()
        except DatabaseError:
            failing = None
    worker["failing_clocks"] = failing
    report["worker"] = worker
    healthy = not unapplied
    fine = worker["status"] == "ok" and not failing
    report["status"] = "ok" if healthy and fine else ("degraded" if healthy else "unhealthy")
    return healthy, report
