"""The ``amends`` console script: fronts Django's management commands.

``amends serve``, ``amends worker``, ``amends run``, ``amends migrate``, ``amends demo`` ...
are the same as ``python manage.py <command>``. A configuration mistake (say
``AMENDS_ENV=production`` without ``SECRET_KEY``) is one line on stderr and exit status 2,
not a traceback.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = sys.argv[1:] if argv is None else argv
    try:
        # Load the settings (and the apps) here, where a mistake can be reported plainly;
        # Django would otherwise raise it from deep inside the command machinery.
        django.setup()
    except ImproperlyConfigured as error:
        sys.stderr.write(f"amends: configuration error: {error}\n")
        return 2
    execute_from_command_line(["amends", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
