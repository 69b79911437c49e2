"""``amends code check FILE [--json] [--on DATE]`` and ``amends code render FILE ...``.

``check`` reports every finding (rule id, severity, path, message, source) of a code file
against the rules in force on ``--on`` (default: today in Europe/London). ``render`` publishes
the customer-facing code as HTML, PDF or plain text, to ``-o OUT`` or standard output; a code
with errors renders only with ``--draft``. Exit statuses: 0 fine, 1 errors (or a refused
render), 2 an unreadable or invalid file, 64 a usage error (sysexits' EX_USAGE: a missing
argument, an unknown option, a malformed ``--on``); see :mod:`amends.codes.services`. What
the published code leaves out (an ADR scheme's contact detail that is not verified, a channel
without a value) is printed on stderr for the provider, one "Not published: ..." line each.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from amends.codes.render import withheld_notices
from amends.codes.services import (
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    code_check,
    code_render,
)
from amends.domain.codes import CodeFileError, load_code
from amends.domain.regulation import C4_START


def _iso_date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    if day < C4_START:
        raise argparse.ArgumentTypeError(
            f"Amends holds the rules from {C4_START.isoformat()} (General Condition C4), got {text}"
        )
    return day


class Command(BaseCommand):
    help = "Check a complaints Code of Practice file against the law, or publish it."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def run_from_argv(self, argv: list[str]) -> None:
        # argparse exits 2 on a usage error, the status that means "unreadable file" here:
        # parse first, and give usage errors their own status.
        parser = self.create_parser(argv[0], argv[1])
        try:
            parser.parse_args(argv[2:])
        except CommandError as error:  # raised by Django's sub-parsers
            sys.stderr.write(f"{parser.format_usage()}amends code: {error}\n")
            raise SystemExit(EXIT_USAGE) from None
        except SystemExit as exit:  # argparse's own usage error (or --help, status 0)
            if exit.code == 2:
                raise SystemExit(EXIT_USAGE) from None
            raise
        super().run_from_argv(argv)

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{check,render}")

        check = actions.add_parser(
            "check",
            help="report every defect of a code file (exit 1 on any error)",
            description=(
                "Check a code file against the rules in force on a date. Exit 0 when there is "
                "no error, 1 when there is, 2 when the file cannot be read or is not a valid "
                "code."
            ),
        )
        check.add_argument("file", help="the code file (TOML)")
        check.add_argument("--json", action="store_true", help="print the findings as JSON")
        check.add_argument(
            "--on",
            type=_iso_date,
            metavar="DATE",
            help="check against the rules in force on this date (default: today)",
        )

        render = actions.add_parser(
            "render",
            help="publish the customer-facing code as HTML, PDF or text",
            description=(
                "Write the customer-facing code from a code file. A code with errors is "
                "refused (exit 1) unless --draft is given; a draft says DRAFT on every page "
                "and lists the problems."
            ),
        )
        render.add_argument("file", help="the code file (TOML)")
        render.add_argument(
            "--format", choices=("html", "pdf", "text"), default="html", help="default: html"
        )
        render.add_argument(
            "-o", "--output", metavar="OUT", help="write to this file (default: standard output)"
        )
        render.add_argument(
            "--draft", action="store_true", help="render even with errors, marked DRAFT"
        )
        render.add_argument(
            "--on",
            type=_iso_date,
            metavar="DATE",
            help="apply the rules in force on this date (default: today)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        on: date = options.get("on") or timezone.localdate()
        if options["action"] == "check":
            result = code_check(options["file"], on=on, as_json=bool(options.get("json")))
            if result.stdout:
                self.stdout.write(result.stdout, ending="")
            if result.stderr:
                self.stderr.write(result.stderr, ending="")
            self._finish(result.status)
            return

        rendered = code_render(
            options["file"], fmt=options["format"], on=on, draft=bool(options.get("draft"))
        )
        if rendered.stderr:
            self.stderr.write(rendered.stderr, ending="")
        if rendered.content is not None:
            self._notify_withheld(options["file"])
            self._write(rendered.content, options.get("output"), options["format"])
        self._finish(rendered.status)

    def _notify_withheld(self, path: str) -> None:
        """Tell the provider what the published code leaves out, and why."""
        try:
            code = load_code(path)
        except CodeFileError:  # pragma: no cover - the render has just loaded it
            return
        for notice in withheld_notices(code):
            self.stderr.write(notice)

    def _write(self, content: bytes, output: str | None, fmt: str) -> None:
        if output:
            try:
                Path(output).write_bytes(content)
            except OSError as error:
                self.stderr.write(f"cannot write {output}: {error.strerror or error}")
                self._finish(EXIT_UNREADABLE)
            return
        if fmt != "pdf":
            self.stdout.write(content.decode("utf-8"), ending="")
            return
        stream = getattr(self.stdout, "_out", None)
        buffer = getattr(stream, "buffer", None)
        if buffer is None or (stream is sys.stdout and sys.stdout.isatty()):
            self.stderr.write("a PDF goes to a file: give -o OUT")
            self._finish(EXIT_UNREADABLE)
            return
        buffer.write(content)
        buffer.flush()

    def _finish(self, status: int) -> None:
        if status == EXIT_OK:
            return
        if getattr(self, "_called_from_command_line", False):
            self.stdout.flush()
            self.stderr.flush()
            sys.exit(status)
        raise CommandError(f"code command finished with status {status}", returncode=status)
