"""What ``amends code check`` and ``amends code render`` do, apart from argument parsing.

Exit statuses (the same for both):

* 0: done; for ``check``, no error (warnings allowed).
* 1: ``check`` found at least one error; ``render`` refused a code with errors (without
  ``--draft``).
* 2: the file cannot be used: it cannot be read, is not UTF-8, is not valid TOML, or does not
  validate as a code (a missing key, a wrong type, an unknown key, a malformed duration). Such a
  file has no findings to report, only the problems with their paths, so it is "unreadable"
  in the sense of the issue; ``--json`` prints them as JSON too.

The functions return what to print and the status; they never read the clock (the command
passes ``on``) and never exit.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from amends.codes.render import Format, build_document, render
from amends.domain.checks import Finding, Severity, check_code, summary
from amends.domain.codes import Code, CodeFileError, load_code

__all__ = [
    "EXIT_ERRORS",
    "EXIT_OK",
    "EXIT_UNREADABLE",
    "EXIT_USAGE",
    "CheckResult",
    "RenderResult",
    "code_check",
    "code_render",
    "format_findings",
]

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_UNREADABLE = 2
#: A usage error (a missing argument, an unknown option, a malformed --on): sysexits.h's
#: EX_USAGE, so that a pipeline can tell "I called it wrongly" from "the file is bad".
EXIT_USAGE = 64

_WIDTH = 88


@dataclass(frozen=True)
class CheckResult:
    status: int
    stdout: str
    stderr: str = ""


@dataclass(frozen=True)
class RenderResult:
    status: int
    content: bytes | None
    stderr: str = ""


def _counts(findings: tuple[Finding, ...]) -> str:
    counts = summary(findings)
    errors, warnings = counts["errors"], counts["warnings"]
    if not errors and not warnings:
        return "no errors, no warnings"
    return (
        f"{errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )


def format_findings(filename: str, findings: tuple[Finding, ...], on: date) -> str:
    """The text report: a heading, then per finding its severity, id, path, message, source."""
    lines = [f"{filename}: {_counts(findings)} (rules in force on {on.isoformat()})"]
    lines.extend(_finding_lines(findings))
    if findings:
        lines.append("")
        lines.append(f"{_counts(findings)}.")
    return "\n".join(lines) + "\n"


def _finding_lines(findings: tuple[Finding, ...]) -> list[str]:
    lines: list[str] = []
    for finding in findings:
        lines.append("")
        where = finding.path + (f" = {json.dumps(finding.value)}" if finding.value else "")
        lines.append(f"{finding.severity.value.upper():7} {finding.rule_id}  {where}")
        lines.extend(
            textwrap.wrap(finding.message, _WIDTH, initial_indent="  ", subsequent_indent="  ")
        )
        lines.extend(
            textwrap.wrap(
                f"Source: {finding.law}, {finding.source}",
                _WIDTH,
                initial_indent="  ",
                subsequent_indent="    ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return lines


def _unreadable_json(error: CodeFileError, on: date) -> str:
    return json.dumps(
        {
            "file": error.filename,
            "on": on.isoformat(),
            "readable": False,
            "reason": error.reason,
            "problems": [{"path": p.path, "message": p.message} for p in error.problems],
            "findings": [],
            "summary": None,
        },
        indent=2,
        ensure_ascii=False,
    )


def _load(path: str | Path) -> Code:
    return load_code(path)


def code_check(path: str | Path, *, on: date, as_json: bool = False) -> CheckResult:
    try:
        code = _load(path)
    except CodeFileError as error:
        if as_json:
            return CheckResult(EXIT_UNREADABLE, _unreadable_json(error, on) + "\n")
        return CheckResult(EXIT_UNREADABLE, "", str(error) + "\n")
    findings = check_code(code, on=on)
    counts = summary(findings)
    status = EXIT_ERRORS if counts["errors"] else EXIT_OK
    if as_json:
        payload = {
            "file": code.filename,
            "on": on.isoformat(),
            "readable": True,
            "findings": [finding.to_dict() for finding in findings],
            "summary": {
                **counts,
                "passed": status == EXIT_OK,
                "exit_status": status,
            },
        }
        return CheckResult(status, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return CheckResult(status, format_findings(code.filename, findings, on))


def code_render(path: str | Path, *, fmt: Format, on: date, draft: bool = False) -> RenderResult:
    try:
        code = _load(path)
    except CodeFileError as error:
        return RenderResult(EXIT_UNREADABLE, None, str(error) + "\n")
    findings = check_code(code, on=on)
    errors = tuple(f for f in findings if f.severity is Severity.ERROR)
    if errors and not draft:
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        message = (
            f"{code.filename} has {count}: it cannot be published until they are fixed. Pass "
            "--draft for a copy marked DRAFT that lists them.\n"
            + "\n".join(_finding_lines(errors))
            + "\n"
        )
        return RenderResult(EXIT_ERRORS, None, message)
    document = build_document(code, on=on, findings=findings, draft=draft)
    return RenderResult(EXIT_OK, render(document, fmt))
