from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from amends.core.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo data (providers, codes, staff, cases); running it twice changes nothing."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded when AMENDS_ENV=production.")
        summary = demo_load()
        if summary.created:
            self.stdout.write("Demo data loaded: " + ", ".join(summary.created) + ".")
        else:
            self.stdout.write("Demo data already present; nothing changed.")
        self.stdout.write(
            f"Demo logins (local use only; every password is {summary.logins[0].password}):"
        )
        for login in summary.logins:
            self.stdout.write(f"  {login.username:<24} {login.role}")
