"""gunicorn's logger for ``amends serve``: its lines as JSON, and an access log without people.

Each request is one JSON line carrying the method, the path without its query string, the
status, the length of the response body and the time taken; never the query string, the
referer, the user agent or the client's address, which may all carry personal data.
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from gunicorn import glogging

from amends.core.logging import JsonFormatter, without_query_strings


def request_path(environ: dict[str, Any]) -> str:
    """The request's path as the client sent it (WSGI passes it as latin-1), no query string."""
    raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    try:
        path = str(raw.encode("latin-1").decode("utf-8", "replace"))
    except UnicodeEncodeError:
        path = str(raw)
    return without_query_strings(path)  # and a private case link's token masked


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    """``logger_class`` for gunicorn: JSON error-log lines, and JSON access lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = JsonFormatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not getattr(self, "access_log_enabled", True):
            return
        try:
            status = resp.status
            if isinstance(status, str):
                status = status.split(None, 1)[0]
            sent = getattr(resp, "sent", None)
            self.access_log.info(
                "request",
                extra={
                    "method": environ.get("REQUEST_METHOD", "-"),
                    "path": request_path(environ),
                    "status": int(status),
                    "length": sent if isinstance(sent, int) else None,
                    "duration_ms": round(request_time.total_seconds() * 1000, 1),
                },
            )
        except Exception:
            self.error(traceback.format_exc())
