"""``amends run``: migrate, load the demo data, then run the web server and the worker together.

This is what ``make run`` calls. The two children run in their own sessions so that Ctrl-C
reaches only this process, which then stops both in order (SIGTERM, then SIGKILL after 15 s).
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

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if not options["no_demo"]:
            call_command("demo", stdout=self.stdout)

        base = [sys.executable, "-m", "amends.cli"]
        children = {
            "web": subprocess.Popen(
                [*base, "serve", "--bind", options["bind"]], start_new_session=True
            ),
            "worker": subprocess.Popen([*base, "worker"], start_new_session=True),
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"Amends is running on {bind_url(options['bind'])}  (Ctrl-C stops it)"
            )
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
