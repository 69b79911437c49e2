"""``amends run``: migrate, load the demo data, then run the web server and the worker together.

This is what ``make run`` calls. The two children run in their own sessions so that Ctrl-C
reaches only this process, which then stops both in order (SIGTERM, then SIGKILL after 15 s).
"""

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
        parser.add_argument("--bind", default="127.0.0.1:8000")
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
            self.style.SUCCESS(f"Amends is running on http://{options['bind']}/  (Ctrl-C stops it)")
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
