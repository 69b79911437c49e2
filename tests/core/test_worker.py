"""The worker: heartbeat every pass, sweeps called with the time, clean stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from amends.core.models import WorkerHeartbeat
from amends.core.worker import Worker
from tests.conftest import REPO, amends_command, amends_env

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_each_pass_records_a_heartbeat_at_the_time_given() -> None:
    # The clock is read at start, once per pass (no sweeps), and at stop.
    times = iter(
        [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=5), T0 + timedelta(seconds=6)]
    )
    worker = Worker(interval=0.01, sweeps=[], clock=lambda: next(times))
    worker.run(max_ticks=2)
    beat = WorkerHeartbeat.objects.get(worker_id=worker.worker_id)
    assert beat.started_at == T0
    assert beat.stopped_at == T0 + timedelta(seconds=6)
    assert beat.beat_at == T0 + timedelta(seconds=6)
    assert WorkerHeartbeat.objects.count() == 1


@pytest.mark.django_db
def test_sweeps_receive_now_and_a_failing_pass_does_not_stop_the_loop() -> None:
    seen: list[datetime] = []

    def flaky(now: datetime) -> int:
        seen.append(now)
        if len(seen) == 1:
            raise RuntimeError("first pass fails")
        return 0

    worker = Worker(interval=0.01, sweeps=[flaky], clock=lambda: T0)
    worker.run(max_ticks=3)
    assert seen == [T0, T0, T0]


@pytest.mark.django_db
def test_a_stop_request_ends_the_loop_before_the_next_pass() -> None:
    calls: list[datetime] = []
    worker = Worker(interval=60, sweeps=[], clock=lambda: T0)

    def stop_after_first(now: datetime) -> int:
        calls.append(now)
        worker.request_stop(signal.SIGTERM, None)
        return 0

    worker.sweeps = [stop_after_first]
    started = time.monotonic()
    worker.run()
    assert calls == [T0]
    assert time.monotonic() - started < 30  # did not sleep the 60 s interval
    assert WorkerHeartbeat.objects.get().stopped_at == T0


@pytest.mark.subprocess
def test_amends_worker_beats_and_stops_cleanly_on_sigterm(
    test_database_url: str, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        amends_command("worker", "--interval", "0.2"),
        env=amends_env(tmp_path, DATABASE_URL=test_database_url),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not WorkerHeartbeat.objects.filter(pid=process.pid).exists():
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "no heartbeat within 30 s"
            time.sleep(0.1)
        first = WorkerHeartbeat.objects.get(pid=process.pid).beat_at
        while WorkerHeartbeat.objects.get(pid=process.pid).beat_at == first:
            assert time.monotonic() < deadline, "the heartbeat did not advance"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    beat = WorkerHeartbeat.objects.get(pid=process.pid)
    assert beat.stopped_at is not None
    output = process.stdout.read().decode() if process.stdout else ""
    assert '"message": "worker stopped"' in output


def test_worker_refuses_a_non_positive_interval(tmp_path: Path) -> None:
    result = subprocess.run(
        amends_command("worker", "--interval", "0"),
        env=amends_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--interval must be a positive number of seconds" in result.stderr
