from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """SQLite's append-only trigger asks ``amends_purge_allowed()`` (see the migration
    ``0003_event_append_only``); a connection without it cannot delete events at all."""
    if connection.vendor == "sqlite":
        from amends.cases.events import purge_allowed

        connection.connection.create_function(
            "amends_purge_allowed", 0, lambda: 1 if purge_allowed() else 0
        )


class CasesConfig(AppConfig):
    name = "amends.cases"
    label = "cases"

    def ready(self) -> None:
        connection_created.connect(_register_sqlite_functions, dispatch_uid="amends-sqlite-fns")
