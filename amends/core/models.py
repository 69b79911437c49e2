"""Operational records: one heartbeat row per running worker process."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of one worker process (host, pid, start), for /healthz."""

    worker_id = models.CharField(max_length=200, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return self.worker_id
