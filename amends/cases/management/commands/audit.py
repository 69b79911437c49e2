from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from amends.cases.services import audit_verify
from amends.providers.models import Provider


class Command(BaseCommand):
    help = "Audit trail tools. `amends audit verify [--provider SLUG]` checks every hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="check the hash chains; exit 1 on a broken link")
        verify.add_argument("--provider", help="only this provider (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        providers = Provider.objects.order_by("slug")
        if options.get("provider"):
            providers = providers.filter(slug=options["provider"])
            if not providers.exists():
                self.stderr.write(f"No provider with slug {options['provider']!r}.")
                raise SystemExit(2)
        broken = 0
        for provider in providers:
            result = audit_verify(provider_id=provider.pk)
            if result.broken is None:
                self.stdout.write(f"{provider.slug}: {result.checked} events, chain intact")
            else:
                broken += 1
                self.stdout.write(
                    f"{provider.slug}: BROKEN at event {result.broken.sequence}: "
                    f"{result.broken.reason} ({result.checked} events before it verified)"
                )
        if broken:
            raise SystemExit(1)
