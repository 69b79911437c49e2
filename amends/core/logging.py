"""JSON log lines: a constant message plus ids in ``extra``; never names, addresses or bodies.

Request logs name the method and the path, never the query string: an admin search
(``/admin/cases/customer/?q=...``) or a link a customer followed would otherwise put a name or
an e-mail address into every log line about it. ``JsonFormatter`` strips query strings from the
records of the loggers that describe requests (Django's ``django.request``, ``django.server``
and ``django.security``, gunicorn's ``gunicorn.error`` and ``gunicorn.access``) and writes the
``request`` attribute Django attaches to them as ``"METHOD /path"``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Loggers whose messages quote request paths or request lines.
REQUEST_LOGGERS = ("django.request", "django.server", "django.security", "gunicorn")

# A path (or URL) followed by a query string: everything from "?" to the next white space goes.
_QUERY_STRING = re.compile(r"(/[^\s?]*)\?\S*")


# A customer's private case link (``/<provider>/case/<token>/``): whoever reads the token can
# open the case, so it never reaches a log line.
_CASE_TOKEN = re.compile(r"(/case/)[A-Za-z0-9_-]{16,}")


def without_query_strings(text: str) -> str:
    """``text`` with the query string cut from every path or URL in it, and every private
    case link's token replaced by ``<token>``."""
    return _CASE_TOKEN.sub(r"\1<token>", _QUERY_STRING.sub(r"\1", text))


def request_summary(request: object) -> str | None:
    """``"GET /path"`` for a Django request (never its query string); None for anything else."""
    method = getattr(request, "method", None)
    path = getattr(request, "path", None)
    if isinstance(method, str) and isinstance(path, str):
        return f"{method} {without_query_strings(path)}"
    return None


def _describes_requests(record: logging.LogRecord) -> bool:
    return any(
        record.name == name or record.name.startswith(name + ".") for name in REQUEST_LOGGERS
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        redact = _describes_requests(record)
        message = record.getMessage()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": without_query_strings(message) if redact else message,
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            if key == "request":
                # Django's HttpRequest (whose str() is the full URL), or runserver's socket.
                summary = request_summary(value)
                if summary is not None:
                    entry[key] = summary
                continue
            entry[key] = (
                without_query_strings(value) if redact and isinstance(value, str) else value
            )
        if record.exc_info:
            exception = self.formatException(record.exc_info)
            entry["exception"] = without_query_strings(exception) if redact else exception
        return json.dumps(entry, default=str)
