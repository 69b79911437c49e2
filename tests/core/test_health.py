"""/healthz: database, migrations and the worker's heartbeat."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from amends.core.services import worker_heartbeat_record, worker_stop_record
from tests.conftest import REPO, amends_command, amends_env, free_port, stop_process, wait_for_http

pytestmark = pytest.mark.django_db


def get_health(client: Client) -> tuple[int, dict[str, object]]:
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content)


def test_health_is_200_with_database_and_migrations_ok(client: Client) -> None:
    status, body = get_health(client)
    assert status == 200
    assert body["database"] == {"status": "ok", "vendor": body["database"]["vendor"]}  # type: ignore[index]
    assert body["migrations"] == {"status": "ok", "unapplied": []}


def test_health_reports_a_worker_never_seen(client: Client) -> None:
    status, body = get_health(client)
    assert status == 200
    assert body["worker"] == {
        "status": "never-seen",
        "last_heartbeat": None,
        "age_seconds": None,
        "failing_clocks": 0,
    }
    assert body["status"] == "degraded"


def test_health_reports_the_latest_heartbeat_and_its_age(client: Client) -> None:
    beat = timezone.now() - timedelta(seconds=3)
    worker_heartbeat_record(
        worker_id="h:1:a", hostname="h", pid=1, started_at=beat - timedelta(minutes=5), now=beat
    )
    status, body = get_health(client)
    worker = body["worker"]
    assert status == 200
    assert isinstance(worker, dict)
    assert worker["status"] == "ok"
    assert worker["last_heartbeat"] == beat.isoformat()
    assert 3 <= worker["age_seconds"] < 60
    assert worker["alive"] == 1
    assert body["status"] == "ok"


def test_a_stale_heartbeat_is_reported_but_keeps_the_web_tier_healthy(client: Client) -> None:
    beat = timezone.now() - timedelta(minutes=10)
    worker_heartbeat_record(worker_id="h:1:a", hostname="h", pid=1, started_at=beat, now=beat)
    status, body = get_health(client)
    assert status == 200
    assert body["worker"]["status"] == "stale"  # type: ignore[index]
    assert body["status"] == "degraded"


def test_a_stopped_worker_is_not_counted_alive(client: Client) -> None:
    now = timezone.now()
    worker_heartbeat_record(worker_id="h:1:a", hostname="h", pid=1, started_at=now, now=now)
    worker_stop_record(worker_id="h:1:a", now=now)
    _, body = get_health(client)
    assert body["worker"]["status"] == "never-seen"  # type: ignore[index]


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgres://root@127.0.0.1:1/amends", id="postgresql-port-closed"),
        pytest.param("sqlite:////nonexistent-amends-dir/db.sqlite3", id="sqlite-file-unreachable"),
    ],
)
def test_health_is_503_when_the_database_is_unreachable(tmp_path: Path, url: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        amends_command("serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"),
        env=amends_env(tmp_path, DATABASE_URL=url),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process) == 503
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        body = json.loads(caught.value.read())
        assert body["database"]["status"] == "unreachable"
        assert body["status"] == "unhealthy"
    finally:
        stop_process(process)
