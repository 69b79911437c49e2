"""One lock order for every writer: real worker processes and real handler processes on the
same cases at the same time, and not one deadlock, integrity error or lost clock.

The defect this keeps: the worker's ``FOR UPDATE OF obligation, case SKIP LOCKED`` kept the
obligation row locked when it skipped the case, then waited for the provider ledger a handler
held while the handler waited for that obligation ("deadlock detected" on PostgreSQL). Now
every writer locks the case, then its clocks, then the ledger last.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from django.utils import timezone

from amends.cases.actions import case_open, customer_create
from amends.cases.actors import staff_actor
from amends.cases.clocks import mirror
from amends.cases.events import audit_verify
from amends.cases.models import Case, Obligation
from amends.domain.access import Role
from amends.domain.codes import CaseKind, ChannelType, Nation
from amends.providers.services import code_version_activate, provider_create, staff_create
from tests.cases.conftest import CODES, london
from tests.conftest import REPO, amends_command, amends_env

pytestmark = pytest.mark.subprocess

CASES = 40
HANDLERS = 2
WORKERS = 2


def seed() -> tuple[list[int], list[str]]:
    provider = provider_create(
        slug="locks",
        name="Locks",
        nation=Nation.ENGLAND_AND_WALES,
        reference_prefix="LK",
        adr_scheme="communications-ombudsman",
    )
    code_version_activate(
        provider=provider,
        content=(CODES / "v4voip.toml").read_text(),
        effective_from=date(2020, 1, 1),
        activated_by=None,
        now=london(2026, 1, 1, 9),
    )
    manager = staff_create(provider=provider, username="locks-manager", role=Role.MANAGER)
    names = []
    for n in range(HANDLERS):
        staff_create(provider=provider, username=f"locks-h{n}", role=Role.MANAGER, manager=manager)
        names.append(f"locks-h{n}")
    actor = staff_actor(manager)
    ids = []
    received = london(2026, 9, 1, 10)
    now = timezone.now()
    for n in range(CASES):
        customer = customer_create(provider=provider, now=received, contact_name=f"Customer {n}")
        case = case_open(
            provider=provider,
            customer=customer,
            kind=CaseKind.COMPLAINT,
            channel=ChannelType.PHONE,
            first_received_at=received,
            summary="Lock order",
            now=now,
            actor=actor,
            first_received_note="letter found in the post room",
        )
        ids.append(case.pk)
    return ids, names


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_workers_and_handlers_on_the_same_cases_never_deadlock(
    test_database_url: str, tmp_path: Path
) -> None:
    ids, handlers = seed()
    env = amends_env(tmp_path, DATABASE_URL=test_database_url)
    logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
    workers = [
        subprocess.Popen(
            amends_command("worker", "--interval", "0.1"),
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        for log in logs
    ]
    try:
        # Every case's clocks (acknowledge, first contact, resolution, ADR letter...) are
        # long overdue: the workers breach, escalate and issue letters while the handlers
        # update, note and escalate the very same cases.
        runs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "tests/cases/concurrent_handler.py",
                    name,
                    ",".join(map(str, ids)),
                    "3",
                ],
                env=env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for name in handlers
        ]
        outcomes = []
        for run in runs:
            out, err = run.communicate(timeout=600)
            assert run.returncode == 0, (out.decode()[-3000:], err.decode()[-3000:])
            outcomes.append(json.loads(out))
        deadline = time.monotonic() + 300  # generous: CI runs on a loaded machine
        while Obligation.objects.filter(
            case_id__in=ids, state="pending", due_at__lt=timezone.now()
        ).exists():
            assert time.monotonic() < deadline, "the workers left due clocks behind"
            assert all(w.poll() is None for w in workers), "a worker died"
            time.sleep(0.2)
    finally:
        for worker in workers:
            stop(worker)
    assert sum(o["ok"] for o in outcomes) >= CASES * HANDLERS  # real work was done
    assert all(not o["errors"] for o in outcomes)
    for log in logs:
        text = log.read_text()
        assert "deadlock" not in text.lower(), text[-2000:]
        assert "could not act" not in text, text[-2000:]
    assert all(w.returncode == 0 for w in workers)
    # Every case's mirror of its clocks is exactly its rows; the chain verifies.
    for case in Case.objects.filter(pk__in=ids):
        rows = {o.key: mirror(o) for o in Obligation.objects.filter(case=case)}
        assert case.clocks == rows, case.reference
    provider_id = Case.objects.get(pk=ids[0]).provider_id
    assert audit_verify(provider_id=provider_id).broken is None
