"""``amends mail``: inbound mail (the MTA pipe, the IMAP poller) and the local mail catcher.

``amends mail ingest [--provider SLUG] [--mailbox KIND] [--recipient ADDR] < message.eml``
    For an MTA pipe (Postfix ``pipe(8)``, Exim's ``pipe`` transport). The raw message is stored
    and committed before anything reads it. Exit status: 0 when stored (also for a duplicate,
    and for a message that cannot be read: it is quarantined with its reason), 75
    (EX_TEMPFAIL, sysexits.h) when it could not be stored (the database or the file store is
    unavailable): the mail server keeps it and tries again. Never another status for a
    message it could read.
``amends mail poll [--provider SLUG] [--loop] [--interval S]``
    Every active IMAP mailbox: store and commit each message, move it to the processed
    folder, place it. Exit 1 when a mailbox could not be read, 75 when the database is down.
``amends mail process``
    Place messages stored but not yet read (after a crash or an outage).
``amends mail mailbox --provider SLUG --kind KIND --address ADDR [...]``
    Add or change a provider's mailbox (secrets stay in the environment: name the variables).
``amends mail catcher [--host H] [--port P] [--directory DIR]``
    A local SMTP server that keeps every message Amends sends, for trying things out.
"""

from __future__ import annotations

import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

#: sysexits.h: a temporary failure; the mail server keeps the message and retries.
EX_TEMPFAIL = 75
EX_USAGE = 64
MAILBOX_KINDS = ("complaints", "queries", "support", "abuse")


class Command(BaseCommand):
    help = "Inbound mail: ingest (MTA pipe), poll (IMAP), process, mailbox; and the catcher."
    # An MTA pipe runs this once per message: no system checks (they take time, and a check
    # that touched the database would fail before the message is even read).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        ingest = sub.add_parser("ingest", help="store one message read from standard input")
        ingest.add_argument("--provider", help="the provider's slug")
        ingest.add_argument(
            "--mailbox", choices=MAILBOX_KINDS, help="what the mailbox is for (default: complaints)"
        )
        ingest.add_argument(
            "--recipient",
            action="append",
            default=[],
            help="the envelope recipient (Postfix: ${recipient}); routes to its mailbox",
        )

        poll = sub.add_parser("poll", help="fetch the providers' IMAP mailboxes")
        poll.add_argument("--provider", help="only this provider's mailboxes")
        poll.add_argument("--loop", action="store_true", help="keep polling until Ctrl-C")
        poll.add_argument(
            "--interval", type=float, default=60.0, help="seconds between polls (--loop)"
        )
        poll.add_argument("--timeout", type=float, default=30.0, help="IMAP timeout, seconds")

        sub.add_parser("process", help="place messages stored but not yet read")

        box = sub.add_parser("mailbox", help="add or change a provider's mailbox")
        box.add_argument("--provider", required=True)
        box.add_argument("--kind", required=True, choices=MAILBOX_KINDS)
        box.add_argument("--address", required=True)
        box.add_argument("--imap-host", default="")
        box.add_argument("--imap-port", type=int, default=None)
        box.add_argument("--security", choices=("ssl", "starttls", "plain"), default="ssl")
        box.add_argument("--imap-user", default="")
        box.add_argument("--folder", default="INBOX")
        box.add_argument("--processed-folder", default="Amends-Processed")
        box.add_argument(
            "--auth",
            choices=("password", "oauth2_microsoft", "oauth2_google"),
            default="password",
        )
        box.add_argument("--password-env", default="", help="the variable holding the password")
        box.add_argument("--client-id", default="")
        box.add_argument("--client-secret-env", default="")
        box.add_argument("--refresh-token-env", default="")
        box.add_argument("--tenant", default="", help="Microsoft 365 tenant id or domain")
        box.add_argument("--token-url", default="")
        box.add_argument("--inactive", action="store_true")

        catcher = sub.add_parser("catcher", help="a local SMTP server that keeps what is sent")
        catcher.add_argument("--host", default="127.0.0.1")
        catcher.add_argument("--port", type=int, default=1025)
        catcher.add_argument(
            "--directory", default=str(Path(settings.VAR_DIR) / "mail"), help="where to keep it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        getattr(self, f"_{action}")(options)

    # -------------------------------------------------------------------- ingest

    def _ingest(self, options: dict[str, Any]) -> None:
        try:
            raw = sys.stdin.buffer.read()
        except OSError as error:
            raise CommandError(
                f"cannot read the message ({error})", returncode=EX_TEMPFAIL
            ) from None
        try:
            from amends.comms.intake import ingest

            stored, row = ingest(
                raw=raw,
                provider_slug=options["provider"],
                mailbox_kind=options["mailbox"],
                recipients=options["recipient"],
            )
        except DatabaseError as error:
            raise CommandError(
                f"database unavailable, not stored; try again later ({type(error).__name__})",
                returncode=EX_TEMPFAIL,
            ) from None
        except Exception as error:  # noqa: BLE001 - never lose a message: let the MTA retry
            raise CommandError(
                f"not stored; try again later ({type(error).__name__}: {error})",
                returncode=EX_TEMPFAIL,
            ) from None
        if not stored.created:
            self.stdout.write(f"inbound {stored.inbound_id}: already stored (a duplicate)")
            return
        if row is None:
            self.stdout.write(f"inbound {stored.inbound_id}: stored; it will be read later")
            return
        where = f" ({row.case.reference})" if row.case is not None else ""
        why = f": {row.quarantine_reason}" if row.status == "quarantined" else ""
        self.stdout.write(f"inbound {row.pk}: {row.get_status_display().lower()}{where}{why}")

    # -------------------------------------------------------------------- poll

    def _poll(self, options: dict[str, Any]) -> None:
        from amends.comms.intake import poll_all

        stop = {"now": False}

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop["now"] = True

        if options["loop"]:
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
        failed = False
        while True:
            try:
                results = poll_all(provider_slug=options["provider"], timeout=options["timeout"])
            except DatabaseError as error:
                raise CommandError(
                    f"database unavailable ({type(error).__name__})", returncode=EX_TEMPFAIL
                ) from None
            if not results:
                self.stdout.write("no IMAP mailbox is configured (see amends mail mailbox)")
            for mailbox_id, result in sorted(results.items()):
                if result.errors:
                    failed = True
                    self.stderr.write(f"mailbox {mailbox_id}: {'; '.join(result.errors)}")
                else:
                    self.stdout.write(
                        f"mailbox {mailbox_id}: {result.stored} stored, "
                        f"{result.duplicates} already stored, {result.moved} moved, "
                        f"{result.placed} placed"
                    )
            if not options["loop"]:
                break
            deadline = time.monotonic() + options["interval"]
            while not stop["now"] and time.monotonic() < deadline:
                time.sleep(0.2)
            if stop["now"]:
                break
        if failed and not options["loop"]:
            raise CommandError("a mailbox could not be read", returncode=1)

    # -------------------------------------------------------------------- process

    def _process(self, options: dict[str, Any]) -> None:
        from django.utils import timezone

        from amends.comms.intake import inbound_sweep

        try:
            placed = inbound_sweep(timezone.now(), limit=10_000, min_age=timedelta(0))
        except DatabaseError as error:
            raise CommandError(
                f"database unavailable ({type(error).__name__})", returncode=EX_TEMPFAIL
            ) from None
        self.stdout.write(f"{placed} stored message(s) placed")

    # -------------------------------------------------------------------- mailbox

    def _mailbox(self, options: dict[str, Any]) -> None:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        from amends.comms.models import Mailbox
        from amends.providers.models import Provider

        provider = Provider.objects.filter(slug=options["provider"]).first()
        if provider is None:
            raise CommandError(f"no provider {options['provider']!r}", returncode=EX_USAGE)
        try:
            validate_email(options["address"])
        except ValidationError:
            raise CommandError("--address is not an email address", returncode=EX_USAGE) from None
        if options["auth"] != "password" and not options["client_id"]:
            raise CommandError("OAuth 2.0 needs --client-id", returncode=EX_USAGE)
        port = (
            options["imap_port"] or {"ssl": 993, "starttls": 143, "plain": 143}[options["security"]]
        )
        mailbox, created = Mailbox.objects.update_or_create(
            address=options["address"].lower(),
            defaults={
                "provider": provider,
                "kind": options["kind"],
                "active": not options["inactive"],
                "imap_host": options["imap_host"],
                "imap_port": port,
                "imap_security": options["security"],
                "imap_user": options["imap_user"],
                "imap_folder": options["folder"],
                "processed_folder": options["processed_folder"],
                "auth": options["auth"],
                "password_env": options["password_env"],
                "oauth2_client_id": options["client_id"],
                "oauth2_client_secret_env": options["client_secret_env"],
                "oauth2_refresh_token_env": options["refresh_token_env"],
                "oauth2_tenant": options["tenant"],
                "oauth2_token_url": options["token_url"],
            },
        )
        fed = f"polled at {mailbox.imap_host}:{port}" if mailbox.imap_host else "fed by the pipe"
        self.stdout.write(
            f"mailbox {mailbox.pk} {'added' if created else 'changed'}: "
            f"{provider.slug} {mailbox.kind}, {fed}"
        )

    # -------------------------------------------------------------------- catcher

    def _catcher(self, options: dict[str, Any]) -> None:
        try:
            from amends.comms.catcher import serve_catcher
        except ModuleNotFoundError as error:
            if error.name != "amends.comms.catcher":
                raise
            raise CommandError(
                "the mail catcher is not part of this version of Amends "
                "(amends/comms/catcher.py is missing); use EMAIL_BACKEND="
                "django.core.mail.backends.console.EmailBackend to print mail instead",
                returncode=1,
            ) from None
        serve_catcher(
            host=options["host"], port=options["port"], directory=Path(options["directory"])
        )
