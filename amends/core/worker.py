"""The worker loop: record a heartbeat, run every sweep, sleep; stop cleanly on SIGTERM/SIGINT.

Sweeps are plain callables ``sweep(now) -> int`` (how many items they handled), named by
dotted path in ``settings.AMENDS_WORKER_SWEEPS``. Later issues add the obligation and outbox
sweeps; each claims only what is due, so a sweep's cost grows with the work due, not with the
number of open cases. Several workers may run at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string

from amends.core.services import worker_heartbeat_record, worker_stop_record

log = logging.getLogger("amends.worker")

Sweep = Callable[[datetime], int]


def configured_sweeps() -> list[Sweep]:
    return [import_string(path) for path in getattr(settings, "AMENDS_WORKER_SWEEPS", [])]


def configured_lane() -> list[Sweep]:
    """Sweeps that wait on the outside world (webhook receivers): run in their own thread, so
    a receiver that answers slowly or never cannot delay a clock or a letter."""
    return [import_string(path) for path in getattr(settings, "AMENDS_WORKER_LANE_SWEEPS", [])]


class Worker:
    def __init__(
        self,
        *,
        interval: float,
        sweeps: list[Sweep],
        clock: Callable[[], datetime] = timezone.now,
        lane: list[Sweep] | None = None,
    ) -> None:
        self.interval = interval
        self.sweeps = sweeps
        self.lane = lane or []
        self.clock = clock
        self.stop_requested = threading.Event()
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.worker_id = f"{self.hostname}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.started_at = clock()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("worker stop requested", extra={"worker_id": self.worker_id, "signal": signum})
        self.stop_requested.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def tick(self) -> int:
        """One pass: heartbeat, then each sweep. Returns the number of items handled."""
        if not connection.in_atomic_block:  # (tests run the loop inside a transaction)
            close_old_connections()  # drop connections the database closed meanwhile
        now = self.clock()
        worker_heartbeat_record(
            worker_id=self.worker_id,
            hostname=self.hostname,
            pid=self.pid,
            started_at=self.started_at,
            now=now,
        )
        handled = 0
        for sweep in self.sweeps:
            if self.stop_requested.is_set():
                break
            handled += sweep(self.clock())
        return handled

    def _run_lane(self) -> None:
        """The lane's loop (its own thread and database connection) until the worker stops."""
        try:
            while not self.stop_requested.is_set():
                handled = 0
                for sweep in self.lane:
                    if self.stop_requested.is_set():
                        break
                    try:
                        close_old_connections()  # (one the database dropped: a new one)
                        handled += sweep(self.clock())
                    except Exception:
                        # Like a failed tick: logged, and the lane goes on (a thread that
                        # ended here would stop every webhook until the worker restarts).
                        log.exception(
                            "worker lane pass failed", extra={"worker_id": self.worker_id}
                        )
                if handled == 0:
                    self.stop_requested.wait(self.interval)
        finally:
            connection.close()

    def run(self, *, max_ticks: int | None = None) -> None:
        log.info("worker started", extra={"worker_id": self.worker_id, "pid": self.pid})
        lane: threading.Thread | None = None
        if self.lane:
            lane = threading.Thread(target=self._run_lane, name="worker-lane", daemon=True)
            lane.start()
        ticks = 0
        while not self.stop_requested.is_set():
            try:
                handled = self.tick()
            except Exception:
                # One failed pass must not kill the loop: log it (ids only) and try again.
                log.exception("worker tick failed", extra={"worker_id": self.worker_id})
                handled = 0
            ticks += 1
            if max_ticks is not None and ticks >= max_ticks:
                break
            if handled == 0:
                self.stop_requested.wait(self.interval)
        self.stop_requested.set()
        if lane is not None:
            lane.join(timeout=60)
        worker_stop_record(worker_id=self.worker_id, now=self.clock())
        log.info("worker stopped", extra={"worker_id": self.worker_id, "ticks": ticks})
