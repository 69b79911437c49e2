"""``amends code check`` and ``amends code render``: output, exit statuses, dates, files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amends.codes import SHIPPED_CODES
from amends.codes.render import withheld_notices
from amends.domain.codes import load_code
from amends.domain.regulation import COMMUNICATIONS_OMBUDSMAN
from tests.conftest import REPO, amends_env

DATA = Path(__file__).resolve().parent / "data"


def run(*args: str) -> tuple[int, str, str]:
    """Run ``code`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("code", *args, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def check_json(*args: str) -> tuple[int, dict[str, Any]]:
    status, out, _ = run("check", "--json", *args)
    return status, json.loads(out)


def rule_ids(payload: dict[str, Any]) -> set[str]:
    return {finding["rule_id"] for finding in payload["findings"]}


# --------------------------------------------------------------------------- check


def test_the_template_passes_with_no_error_and_no_warning() -> None:
    status, out, err = run("check", str(SHIPPED_CODES["template"]), "--on", "2026-11-21")
    assert status == 0
    assert "no errors, no warnings (rules in force on 2026-11-21)" in out
    assert err == ""


def test_check_reports_v4voip_defects_one_finding_per_group() -> None:
    status, out, _ = run("check", str(SHIPPED_CODES["v4voip"]), "--on", "2026-11-21")
    assert status == 1
    assert 'ERROR   ADR-001  adr.after = "8 weeks"' in out
    # V4VoIP serves small businesses only: the basic-rate rule (CCR reg. 41) protects
    # consumers, so its 0845 line is a warning here (an error in a code for home customers).
    assert 'WARNING CH-003  channels[4].value = "0845 034 3910"' in out
    assert "ERROR   ADR-007  adr.states_free" in out
    assert 'WARNING ADR-004  adr.scheme = "Ombudsman Services"' in out
    assert "Source: C4.ADR.TIME, Ofcom statement of 9 July 2025" in out
    groups = out.strip().split("\n\n")
    assert groups[0].startswith(str(SHIPPED_CODES["v4voip"]))
    assert groups[-1].endswith("warnings.")
    for group in groups[1:-1]:
        assert group.startswith(("ERROR", "WARNING"))
        assert "Source: " in group


def test_check_json_is_a_list_of_findings_and_a_summary() -> None:
    status, payload = check_json(str(SHIPPED_CODES["iss"]), "--on", "2026-11-21")
    assert status == 1
    assert payload["on"] == "2026-11-21" and payload["readable"] is True
    assert {"ADR-001", "ADR-003", "ADR-007"} <= rule_ids(payload)
    summary = payload["summary"]
    assert summary["passed"] is False and summary["exit_status"] == 1
    assert summary["errors"] == sum(f["severity"] == "error" for f in payload["findings"])
    ofcom = next(f for f in payload["findings"] if f["rule_id"] == "ADR-003")
    assert ofcom["path"] == "adr.scheme" and ofcom["value"] == "Ofcom"
    assert ofcom["source"]["rule"] == "C4.3" and ofcom["source"]["url"].startswith("https://")


@pytest.mark.parametrize("name", ["v4voip", "iss"])
def test_before_8_april_2026_eight_weeks_is_not_an_error(name: str) -> None:
    _, before = check_json(str(SHIPPED_CODES[name]), "--on", "2026-03-01")
    _, after = check_json(str(SHIPPED_CODES[name]), "--on", "2026-04-08")
    assert "ADR-001" not in rule_ids(before) and "ADR-002" in rule_ids(before)
    assert "ADR-001" in rule_ids(after)


def test_without_on_the_check_uses_today(settings: Any) -> None:
    from django.utils import timezone

    _, payload = check_json(str(SHIPPED_CODES["template"]))
    assert payload["on"] == timezone.localdate().isoformat()


def test_a_code_with_only_warnings_exits_0_and_reports_them() -> None:
    status, out, _ = run("check", str(DATA / "warnings_only.toml"), "--on", "2026-11-21")
    assert status == 0
    # The fixture does not say whom it serves: SCP-001 (no scope is assumed or published).
    assert "0 errors, 5 warnings" in out
    assert "WARNING META-001" in out and "WARNING SCP-001" in out


def test_the_passing_and_failing_fixtures() -> None:
    status, payload = check_json(str(DATA / "passing.toml"), "--on", "2026-11-21")
    assert (status, payload["findings"]) == (0, [])
    status, payload = check_json(str(DATA / "failing.toml"), "--on", "2026-11-21")
    assert status == 1
    assert {"CH-003", "ADR-001", "ADR-003", "ADR-007", "ADR-008", "RES-001"} <= rule_ids(payload)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("bad_syntax.toml", "line 6, column 10: TOML syntax error"),
        ("invalid.toml", "channels[0].type: expected 'phone'"),
        ("invalid.toml", "case_kinds.complaint.promises[0].within: expected a duration such as"),
        ("invalid.toml", "channels[1].vlaue: unknown key; expected one of: type, value"),
        ("invalid.toml", "provider.name: expected a value, got nothing"),
        ("absent.toml", "cannot be read"),
    ],
)
def test_an_unreadable_or_invalid_file_exits_2_with_the_paths(fixture: str, expected: str) -> None:
    status, out, err = run("check", str(DATA / fixture))
    assert status == 2
    assert out == ""
    assert expected in err


def test_an_unreadable_file_in_json(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    status, payload = check_json(str(path))
    assert status == 2
    assert payload["readable"] is False and payload["reason"] == "unreadable"
    assert payload["problems"][0]["message"].startswith("expected UTF-8")
    status, payload = check_json(str(DATA / "invalid.toml"))
    assert status == 2 and payload["reason"] == "invalid"
    paths = {problem["path"] for problem in payload["problems"]}
    assert {"adr.states_free", "working_hours.opens", "code.effective_from"} <= paths


@pytest.mark.parametrize("bad", ["21/11/2026", "2026-13-01", "2017-01-01"])
def test_a_bad_on_date_is_refused(bad: str) -> None:
    with pytest.raises(CommandError, match="--on"):
        call_command("code", "check", str(SHIPPED_CODES["template"]), "--on", bad)


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize("fmt", ["html", "pdf", "text"])
def test_render_writes_each_format(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"code.{fmt}"
    status, stdout, stderr = run(
        "render", str(SHIPPED_CODES["template"]), "--format", fmt, "-o", str(out)
    )
    assert (status, stdout) == (0, "")
    # Only what the published code leaves out goes to stderr (for the provider).
    assert stderr.splitlines() == list(withheld_notices(load_code(SHIPPED_CODES["template"])))
    content = out.read_bytes()
    if fmt == "pdf":
        assert content.startswith(b"%PDF")
    elif fmt == "html":
        assert content.startswith(b"<!DOCTYPE html>")
    else:
        assert content.startswith(b"Example Telecom: Complaints Code of Practice")


def test_render_text_goes_to_standard_output() -> None:
    status, out, _ = run("render", str(SHIPPED_CODES["template"]), "--format", "text")
    assert status == 0
    assert "Taking your complaint to an independent scheme" in out


def test_a_code_with_errors_is_refused_without_draft(tmp_path: Path) -> None:
    out = tmp_path / "v4voip.html"
    status, stdout, stderr = run("render", str(SHIPPED_CODES["v4voip"]), "-o", str(out))
    assert status == 1
    assert stdout == ""
    assert not out.exists()
    assert "has 4 errors: it cannot be published" in stderr
    assert "ADR-001" in stderr and "--draft" in stderr


def test_a_draft_renders_marked_draft(tmp_path: Path) -> None:
    out = tmp_path / "iss.pdf"
    status, _, _ = run(
        "render", str(SHIPPED_CODES["iss"]), "--format", "pdf", "--draft", "-o", str(out)
    )
    assert status == 0
    assert out.read_bytes().startswith(b"%PDF")
    status, html, _ = run("render", str(SHIPPED_CODES["iss"]), "--draft")
    assert status == 0
    assert "DRAFT: not for publication" in html and "ADR-003" in html


def test_render_tells_the_provider_on_stderr_what_is_not_published(tmp_path: Path) -> None:
    out = tmp_path / "v4voip.txt"
    path = str(SHIPPED_CODES["v4voip"])
    status, stdout, stderr = run(
        "render", path, "--format", "text", "--draft", "--on", "2026-11-21", "-o", str(out)
    )
    assert (status, stdout) == (0, "")
    lines = stderr.splitlines()
    assert lines and all(line.startswith("Not published: ") for line in lines)
    published = out.read_text(encoding="utf-8").split("=" * 72, 1)[1]
    adr = load_code(path).adr
    assert adr is not None
    withheld = [c for c in COMMUNICATIONS_OMBUDSMAN.contacts if c.evidence != "V"]
    for contact in withheld:  # today the textphone 0330 440 1600 (evidence "U")
        line = next(line for line in lines if contact.value in line)
        assert "is unverified" in line or "is from a secondary source" in line
        assert contact.value not in published
        if any(given.value == contact.value for given in adr.contacts):
            assert "Your code gives the same" in line  # V4VoIP's own file gives it too
    assert any("(channels[3]) has no address" in line for line in lines)
    # The same notices are what the draft lists for the provider.
    assert all(" ".join(line.split()) in " ".join(out.read_text().split()) for line in lines)


def test_render_an_invalid_file_exits_2() -> None:
    status, out, err = run("render", str(DATA / "invalid.toml"), "--draft")
    assert status == 2 and out == ""
    assert "is not a valid code of practice" in err


def test_render_applies_the_rules_of_the_on_date() -> None:
    _, before, _ = run(
        "render", str(SHIPPED_CODES["v4voip"]), "--format", "text", "--draft", "--on", "2026-03-01"
    )
    _, after, _ = run(
        "render", str(SHIPPED_CODES["v4voip"]), "--format", "text", "--draft", "--on", "2026-11-21"
    )
    assert "not resolved 8 weeks after" in before
    assert "not resolved 6 weeks after" in after


# --------------------------------------------------------------------------- the console script


@pytest.mark.subprocess
def test_the_amends_console_script_exits_0_1_and_2(tmp_path: Path) -> None:
    env = amends_env(tmp_path)

    def amends(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "amends.cli", "code", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    clean = amends("check", "amends/codes/template.toml")
    assert clean.returncode == 0, clean.stderr
    assert "no errors, no warnings" in clean.stdout
    seed = amends("check", "amends/codes/v4voip.toml", "--on", "2026-11-21")
    assert seed.returncode == 1
    assert "ADR-001" in seed.stdout and "CommandError" not in seed.stderr
    broken = amends("check", str(DATA / "bad_syntax.toml"))
    assert broken.returncode == 2
    assert "line 6, column 10" in broken.stderr and "Traceback" not in broken.stderr
    pdf = amends(
        "render", "amends/codes/template.toml", "--format", "pdf", "-o", str(tmp_path / "t.pdf")
    )
    assert pdf.returncode == 0, pdf.stderr
    assert (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["check"], id="no-file"),
        pytest.param(["check", "x.toml", "--on", "2026-13-01"], id="bad-date"),
        pytest.param(["check", "x.toml", "--bogus"], id="unknown-option"),
        pytest.param([], id="no-action"),
        pytest.param(["render", "x.toml", "--format", "docx"], id="bad-format"),
    ],
)
def test_a_usage_error_has_its_own_exit_status_64_and_no_traceback(
    args: list[str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "amends.cli", "code", *args],
        env=amends_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 64, result.stderr
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_an_unreadable_file_still_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "amends.cli", "code", "check", str(tmp_path / "none.toml")],
        env=amends_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "cannot be read" in result.stderr
