"""The simulator: the real services and worker on a virtual clock; a report from the database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from amends.cases.models import Case, Obligation
from amends.cases.simulator import Simulation, SimulationConfig, report
from amends.comms.models import OutboxMessage
from tests.cases.conftest import CODES
from tests.conftest import REPO, amends_command, amends_env


@pytest.mark.django_db
def test_simulated_complaints_keep_every_invariant_and_the_report_matches_the_rows() -> None:
    config = SimulationConfig(
        code_text=(CODES / "template.toml").read_text(),
        code_name="template.toml",
        complaints=60,
        days=63,
        handlers=2,
        seed=7,
    )
    simulation = Simulation(config)
    simulation.run()
    figures = report(simulation.provider, end=simulation.end, calendar=simulation.calendar)

    assert figures["ok"], figures["invariants"]
    assert figures["complaints"] == Case.objects.filter(kind="complaint").count()
    assert 55 <= figures["complaints"] <= 60  # a few may still be queries not yet converted
    letters = figures["adr_letters"]
    assert letters["total"] == OutboxMessage.objects.filter(kind="adr_letter").count()
    assert sum(letters["by_trigger"].values()) == letters["total"]
    assert (
        letters["by_trigger"].get("time", 0)
        == Obligation.objects.filter(kind="adr_letter", state="done").count()
    )
    assert letters["by_trigger"].get("deadlock", 0) >= 1
    resolve = figures["obligations"]["resolve"]
    assert resolve["met"] + resolve["breached"] + resolve["pending"] + resolve["cancelled"] == (
        Obligation.objects.filter(kind="resolve").count()
    )
    # With 2 handlers for ~1 complaint a day over 9 weeks, some complaints reach the ADR point.
    assert figures["invariants"]["one_adr_letter_by_the_adr_point"]["checked"] >= 1


@pytest.mark.subprocess
def test_amends_simulate_runs_in_a_scratch_database_and_prints_json(tmp_path: Path) -> None:
    result = subprocess.run(
        amends_command(
            "simulate",
            "--code",
            str(CODES / "iss.toml"),
            "--complaints",
            "40",
            "--days",
            "50",
            "--handlers",
            "2",
            "--seed",
            "3",
            "--json",
        ),
        env=amends_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["ok"] is True
    assert figures["run"]["complaints"] == 40
    assert set(figures["invariants"]) == {
        "no_complaint_closed_without_acceptance_or_adr_letter",
        "every_issued_adr_letter_is_in_the_outbox",
        "one_adr_letter_by_the_adr_point",
        "no_clock_left_pending_past_due",
        "every_breach_has_its_event_and_notice",
        "no_duplicate_effect",
        "audit_chain_verifies",
    }
    assert not (tmp_path / "var" / "amends.sqlite3").exists()  # never the real database


def test_simulate_rejects_a_missing_code_file(tmp_path: Path) -> None:
    result = subprocess.run(
        amends_command(
            "simulate", "--code", str(tmp_path / "nope.toml"), "--complaints", "1", "--days", "1"
        ),
        env=amends_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Cannot read" in result.stderr and "Traceback" not in result.stderr
