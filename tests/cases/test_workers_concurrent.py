"""Four real worker processes over 2,000 due ADR letters, one killed with SIGKILL mid-run:
every letter is written exactly once and none is missed."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from amends.cases.events import audit_verify
from amends.cases.models import Case, Customer, Event, Obligation
from amends.comms.models import OutboxMessage
from amends.domain.codes import Nation
from amends.domain.reference import make_reference
from amends.providers.models import CaseCounter, Provider
from amends.providers.services import code_version_activate, provider_create
from tests.cases.conftest import CODES, london
from tests.conftest import REPO, amends_command, amends_env

pytestmark = pytest.mark.subprocess

CASES = 2000


def seed_due_letters(n: int) -> Provider:
    """n complaints whose only pending clock is an ADR letter already due."""
    provider = provider_create(
        slug="load",
        name="Load",
        nation=Nation.ENGLAND_AND_WALES,
        reference_prefix="LD",
        adr_scheme="communications-ombudsman",
    )
    version = code_version_activate(
        provider=provider,
        content=(CODES / "iss.toml").read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=london(2026, 1, 1, 9),
    )
    received = london(2026, 9, 1, 10)
    customer = Customer.objects.create(
        provider=provider, contact_name="Load test", created_at=received
    )
    cases = Case.objects.bulk_create(
        Case(
            provider=provider,
            customer=customer,
            code_version=version,
            reference=make_reference("LD", 2026, i + 1),
            kind="complaint",
            state="investigating",
            channel="phone",
            first_received_at=received,
            entered_at=received,
            summary="load",
            acknowledged_at=received,
            first_contact_at=received,
            handler_introduced_at=received,
            updates_agreed_at=received,
        )
        for i in range(n)
    )
    CaseCounter.objects.filter(provider=provider).update(last_serial=n)
    Obligation.objects.bulk_create(
        Obligation(
            provider=provider,
            case=case,
            key="adr_letter",
            kind="adr_letter",
            due_at=received + timedelta(days=42),
            state="pending",
            origin="law",
            rule_id="C4.ADR.TIME",
            action="issue_adr_letter",
        )
        for case in cases
    )
    User.objects.create_user("load-manager")
    return provider


def test_four_workers_one_killed_every_letter_exactly_once(
    test_database_url: str, tmp_path: Path
) -> None:
    provider = seed_due_letters(CASES)
    env = amends_env(tmp_path, DATABASE_URL=test_database_url)
    workers = [
        subprocess.Popen(
            amends_command("worker", "--interval", "0.2"),
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"w{i}.log").open("wb"),
        )
        for i in range(4)
    ]
    try:
        deadline = time.monotonic() + 240
        while OutboxMessage.objects.filter(kind="adr_letter").count() < CASES // 5:
            assert time.monotonic() < deadline, "workers made no progress"
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)  # mid-run, possibly mid-transaction
        assert workers[0].wait(timeout=10) == -signal.SIGKILL
        while Obligation.objects.filter(provider=provider, state="pending").exists():
            assert time.monotonic() < deadline, "some due letters were never issued"
            assert all(w.poll() is None for w in workers[1:]), "a surviving worker died"
            time.sleep(0.2)
    finally:
        # Every worker ends with the test, whatever failed (the first may not have been killed).
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    letters = OutboxMessage.objects.filter(provider=provider, kind="adr_letter")
    assert letters.count() == CASES
    assert letters.values("case").distinct().count() == CASES
    assert (
        Obligation.objects.filter(provider=provider, key="adr_letter", state="done").count()
        == CASES
    )
    assert Case.objects.filter(provider=provider, state="adr_letter_issued").count() == CASES
    issued = Event.objects.filter(provider=provider, kind="issue_adr_letter")
    assert issued.count() == CASES
    assert issued.values("case").distinct().count() == CASES
    assert audit_verify(provider_id=provider.pk).broken is None
    assert all(w.returncode == 0 for w in workers[1:])
