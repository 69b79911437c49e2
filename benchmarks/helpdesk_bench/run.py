"""django-helpdesk's public ticket form, timed the way benchmarks.services times Amends.

Started by ``python -m benchmarks.services`` with the helpdesk virtualenv's python::

    DJANGO_SETTINGS_MODULE=benchmarks.helpdesk_bench.settings \\
    HELPDESK_BENCH_DATABASE_URL=sqlite:///tmp/x.sqlite3 HELPDESK_BENCH_DIR=/tmp/x \\
        var/helpdesk-venv/bin/python -m benchmarks.helpdesk_bench.run --calls 300

Migrates the scratch database, creates one Queue open to public submission, then, per call,
does what helpdesk's public create-ticket view (``helpdesk.views.public.CreateTicketView``)
does with a valid POST: ``PublicTicketForm(data=..., files=..., readonly_fields=[""])`` (the
kwargs its ``get_form_kwargs`` passes without query string), ``form.is_valid()``, then
``form.save(user=None)`` (an anonymous visitor): the ticket, its follow-up, the e-mail to the
submitter (rendered and sent to the locmem backend) and the new-ticket signal. Not included,
as on the Amends side, is the request around it: the view's ``get_initial`` look-ups, the
spam check (a no-op without akismet installed) and the redirect. Prints one JSON object;
with ``--serve`` (how benchmarks.services runs it) the calls are made as stdin says, in
batches alternating with Amends' intake, before that object (see ``serve`` there).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.services import BODY, TITLE, Subject, log, measure, serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--counted", type=int, default=20)
    parser.add_argument("--serve", action="store_true", help="driven through stdin (serve)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core import mail
    from django.core.management import call_command
    from django.db import connection
    from django.utils.datastructures import MultiValueDict
    from helpdesk.forms import PublicTicketForm
    from helpdesk.models import FollowUp, Queue, Ticket

    log(f"  helpdesk: migrate ({connection.vendor})")
    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(
        title="Complaints",
        slug="complaints",
        allow_public_submission=True,
        email_address="complaints@example.invalid",
    )
    serial = iter(range(1, 10**9))

    def prepare(n: int) -> list[dict[str, str]]:
        # What the browser posts: every field of the public form, due date left empty.
        return [
            {
                "queue": str(queue.pk),
                "title": TITLE,
                "body": BODY,
                "priority": "3",
                "due_date": "",
                "submitter_email": f"customer{next(serial)}@example.invalid",
            }
            for _ in range(n)
        ]

    def call(data: dict[str, str]) -> Any:
        form = PublicTicketForm(data=data, files=MultiValueDict(), readonly_fields=[""])
        if not form.is_valid():
            raise SystemExit(f"helpdesk form refused: {form.errors.as_json()}")
        return form.save(user=None)

    log("  helpdesk: PublicTicketForm + is_valid + save")
    if args.serve:
        figures = serve(Subject(prepare, call))
    else:
        figures = measure(prepare, call, calls=args.calls, warmup=args.warmup, counted=args.counted)
    made = next(serial) - 1
    tickets = Ticket.objects.count()
    followups = FollowUp.objects.count()
    mails = len(getattr(mail, "outbox", []))
    if not tickets == followups == made:
        raise SystemExit(f"expected {made} tickets and follow-ups: {tickets}, {followups}")

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            server = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            cursor.execute("SELECT sqlite_version()")
            server = f"SQLite {cursor.fetchone()[0]}"
    print(
        json.dumps(
            {
                "side": "django-helpdesk",
                "database": server,
                "versions": {
                    "python": sys.version.split()[0],
                    "django": django.get_version(),
                    "helpdesk": version("django-helpdesk"),
                },
                "form": figures,
                "tickets": tickets,
                "emails_per_ticket": mails / made,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
