"""``amends run``: migrate, load the demo data, then run the web server and the worker together.

This is what ``make run`` calls. The children run in their own sessions so that Ctrl-C
reaches only this process, which then stops them in order (SIGTERM, then SIGKILL after 15 s).

Email: unless ``EMAIL_HOST`` or ``EMAIL_PORT`` is set in the environment (a real SMTP server,
see the README), a local mail catcher (``amends mail catcher``) runs beside them on
127.0.0.1:1025 and the worker sends to it, so every message the demo writes lands as an
``.eml`` file in ``var/mail/`` and nothing reaches anyone's inbox. ``--no-mail-catcher``
leaves Django's settings as they are.
"""

import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrate, load demo data and run the web server and worker together (Ctrl-C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=os.environ.get("AMENDS_BIND", "127.0.0.1:8000"),
            help="address:port the web server listens on (env AMENDS_BIND; default %(default)s)",
        )
        parser.add_argument("--no-demo", action="store_true", help="skip loading the demo data")
        parser.add_argument(
            "--no-mail-catcher",
            action="store_true",
            help="do not start the local mail catcher (it starts unless EMAIL_HOST or "
            "EMAIL_PORT is set)",
        )
        parser.add_argument(
            "--mail-catcher-port",
            type=int,
            default=int(os.environ.get("AMENDS_CATCHER_PORT", "1025")),
            help="port of the local mail catcher (env AMENDS_CATCHER_PORT; default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not options["no_demo"]:
            call_command("demo", stdout=self.stdout)

        base = [sys.executable, "-m", "amends.cli"]
        catch = catcher_wanted(os.environ, disabled=options["no_mail_catcher"])
        port = options["mail_catcher_port"]
        children: dict[str, subprocess.Popen[bytes]] = {}
        worker_env = dict(os.environ)
        if catch:
            children["mail catcher"] = subprocess.Popen(
                [*base, "mail", "catcher", "--port", str(port)], start_new_session=True
            )
            worker_env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port))
        children["web"] = subprocess.Popen(
            [*base, "serve", "--bind", options["bind"]], start_new_session=True
        )
        children["worker"] = subprocess.Popen(
            [*base, "worker"], start_new_session=True, env=worker_env
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Amends is running on {bind_url(options['bind'])}  (Ctrl-C stops it)"
            )
        )
        if catch:
            self.stdout.write(
                f"Email goes to the local mail catcher on 127.0.0.1:{port}: each message is "
                "a file in var/mail/ (letters to post wait in the print queue)."
            )
        self.stdout.flush()

        stopping = False

        def request_stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)

        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"The {name} process exited with code {child.returncode}.")
                    exit_code = 1
                    stopping = True
            time.sleep(0.2)

        self.stdout.write("Stopping the web server and the worker...")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("Stopped.")
        if exit_code:
            raise SystemExit(exit_code)


def catcher_wanted(environ: Any, *, disabled: bool) -> bool:
    """Whether ``amends run`` starts the local mail catcher: not when told not to, and not
    when the environment names an SMTP server (then the worker sends there)."""
    if disabled:
        return False
    return not (environ.get("EMAIL_HOST") or environ.get("EMAIL_PORT"))


def bind_url(bind: str) -> str:
    """The URL a browser on this host opens for gunicorn's ``--bind`` address.

    ``HOST:PORT`` and ``[V6]:PORT`` as given; a wildcard address (``0.0.0.0``, ``[::]``) is
    reached through the loopback address and named as well; ``unix:PATH`` is a socket path.
    """
    if bind.startswith("unix:"):
        return f"{bind} (a Unix socket)"
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():  # gunicorn's "HOST" alone means port 8000
        host, port = bind, "8000"
    if host in {"", "0.0.0.0"}:
        return f"http://127.0.0.1:{port}/ (listening on all IPv4 addresses, {bind})"
    if host == "[::]":
        return f"http://[::1]:{port}/ (listening on all addresses, {bind})"
    return f"http://{host}:{port}/"
