"""The simulator's messages through the real sender: every email of a simulated quarter
delivered once to a real SMTP server, across a worker killed mid-send.

How a crash is bounded: a row is claimed under a lease (``AMENDS_EMAIL_LEASE``) before it is
sent, and recorded sent after the server accepted it. A worker killed between the server's
acceptance and the record leaves the row claimed; after the lease it is sent again with the
same Message-ID. So a crash costs at most one extra copy of the one message in flight per
worker process, which a mail client shows as the same message (same Message-ID)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from amends.cases.simulator import Simulation, SimulationConfig, report
from amends.comms.models import OutboxMessage
from amends.comms.sender import lease, outbox_email_sweep
from tests.cases.conftest import CODES
from tests.comms.conftest import SmtpServer
from tests.conftest import REPO, amends_command, amends_env, stop_process


@pytest.mark.subprocess
@pytest.mark.django_db(transaction=True)
def test_every_simulated_email_is_delivered_once_across_a_sigkill(
    smtp_server: SmtpServer, test_database_url: str, tmp_path: Path
) -> None:
    config = SimulationConfig(
        code_text=(CODES / "iss.toml").read_text(),
        code_name="iss.toml",
        complaints=20,
        days=56,
        handlers=2,
        seed=11,
        emails=True,
    )
    simulation = Simulation(config)
    simulation.run()
    figures = report(simulation.provider, end=simulation.end, calendar=simulation.calendar)
    assert figures["ok"], figures["invariants"]  # every due letter in the outbox once
    emails = OutboxMessage.objects.filter(channel__in=["email", "staff"])
    assert emails.count() >= 40, emails.count()
    # One row per cause: no two rows of one case say the same thing for the same occasion.
    keys = Counter(emails.values_list("key", flat=True))
    assert max(keys.values()) == 1

    smtp_server.handler.plan = ["ok"] * 7 + ["hold"]
    env = amends_env(
        tmp_path,
        DATABASE_URL=test_database_url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_server.port),
    )
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        amends_command("worker", "--interval", "0.2"),
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert smtp_server.handler.holding.wait(90), (tmp_path / "worker.log").read_text()
        os.kill(worker.pid, signal.SIGKILL)  # mid-send: the server holds the 8th message
        worker.wait(30)
    finally:
        smtp_server.handler.release.set()
        stop_process(worker)
        log.close()
    assert worker.returncode == -signal.SIGKILL

    # A new worker (here: the same sweep in this process) after the lease sends the rest.
    later = timezone.now() + lease() + timedelta(seconds=1)
    for _ in range(100):
        if outbox_email_sweep(later) == 0:
            break
    rows = list(OutboxMessage.objects.filter(channel__in=["email", "staff"]))
    assert {row.status for row in rows} == {"sent"}, Counter(row.status for row in rows)
    received = Counter(smtp_server.handler.message_ids())
    assert set(received) == {row.message_id for row in rows}  # every one, nothing else
    twice = [mid for mid, n in received.items() if n > 1]
    assert len(twice) <= 1 and max(received.values()) <= 2, received.most_common(3)
