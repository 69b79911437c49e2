from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from amends.cases.events import audit_checkpoint_write, audit_verify, checkpoint_path
from amends.providers.models import Provider


class Command(BaseCommand):
    help = (
        "Audit trail tools. `amends audit verify [--provider SLUG]` checks every chain; "
        "`amends audit checkpoint` writes a sealed checkpoint of each chain's head now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="check the chains; exit 1 on a broken link")
        verify.add_argument("--provider", help="only this provider (slug)")
        checkpoint = sub.add_parser(
            "checkpoint", help="append a sealed checkpoint of each chain head (run daily)"
        )
        checkpoint.add_argument("--provider", help="only this provider (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        providers = Provider.objects.order_by("slug")
        if options.get("provider"):
            providers = providers.filter(slug=options["provider"])
            if not providers.exists():
                self.stderr.write(f"No provider with slug {options['provider']!r}.")
                raise SystemExit(2)
        if options["subcommand"] == "checkpoint":
            for provider in providers:
                written = audit_checkpoint_write(provider_id=provider.pk, now=timezone.now())
                where = checkpoint_path(provider.pk)
                if written is None:
                    self.stdout.write(f"{provider.slug}: head unchanged since the last checkpoint")
                else:
                    self.stdout.write(
                        f"{provider.slug}: checkpoint at event {written.sequence} -> {where}"
                    )
            return
        broken = 0
        for provider in providers:
            result = audit_verify(provider_id=provider.pk)
            if result.broken is None:
                self.stdout.write(
                    f"{provider.slug}: {result.checked} events, chain intact "
                    f"({result.checkpoints} checkpoints agree)"
                )
            else:
                broken += 1
                self.stdout.write(
                    f"{provider.slug}: BROKEN at event {result.broken.sequence}: "
                    f"{result.broken.reason} ({result.checked} events before it verified)"
                )
        if broken:
            raise SystemExit(1)
