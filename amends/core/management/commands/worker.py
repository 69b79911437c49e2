from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from amends.core.worker import Worker, configured_lane, configured_sweeps


class Command(BaseCommand):
    help = "Run the background worker: heartbeat and due work, until SIGTERM or Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.AMENDS_WORKER_INTERVAL,
            help="seconds to sleep when a pass found nothing to do (default %(default)s)",
        )
        parser.add_argument(
            "--ticks", type=int, default=None, help="stop after this many passes (for scripts)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0:
            self.stderr.write("--interval must be a positive number of seconds")
            raise SystemExit(2)
        worker = Worker(
            interval=options["interval"], sweeps=configured_sweeps(), lane=configured_lane()
        )
        worker.install_signal_handlers()
        worker.run(max_ticks=options["ticks"])
