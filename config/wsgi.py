"""WSGI entry point for gunicorn (``amends serve`` uses it)."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # A configuration mistake (production without SECRET_KEY, ...) is one line, not a
    # traceback. gunicorn prints an AppImportError's message and stops (exit 4) instead of
    # starting one failing worker after another.
    if "gunicorn" not in sys.modules:
        raise
    from gunicorn.errors import AppImportError

    raise AppImportError(f"amends: configuration error: {error}") from None
