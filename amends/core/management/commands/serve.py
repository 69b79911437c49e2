import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from gunicorn.app.base import BaseApplication

from amends.core.access_log import JsonLogger


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from config.wsgi import application

        return application


class Command(BaseCommand):
    help = "Serve the web application with gunicorn (several processes; SIGTERM stops it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=os.environ.get("AMENDS_BIND", "127.0.0.1:8000"),
            help="address:port to listen on (env AMENDS_BIND; default %(default)s)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", "2")),
            help="web processes (env WEB_CONCURRENCY; default %(default)s)",
        )
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))

    def handle(self, *args: Any, **options: Any) -> None:
        _Gunicorn(
            {
                "bind": options["bind"],
                "workers": options["workers"],
                "threads": options["threads"],
                "accesslog": "-",
                # JSON lines: method, path without query string, status, length, duration;
                # never the query string, referer or user agent (they carry personal data).
                "logger_class": JsonLogger,
                "graceful_timeout": 10,
                "proc_name": "amends-web",
                # Several servers may run on one host: no shared control socket in $HOME.
                "control_socket_disable": True,
            }
        ).run()
