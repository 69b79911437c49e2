"""``amends token``: a provider's API tokens from the command line (the console's API page
does the same).

``amends token create --as USERNAME --name NAME --scope read --scope write [--scope webhooks]``
    A new token of the provider USERNAME administers, made in that administrator's name
    (recorded as its maker). The token is printed once, on stdout, and never again.
``amends token list --as USERNAME``
    The provider's tokens: id, prefix, name, scopes, made, last used, revoked.
``amends token revoke --as USERNAME ID``
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from amends.cases.actors import actor_for_staff
from amends.cases.errors import CaseError
from amends.domain.access import ApiScope


class Command(BaseCommand):
    help = "Make, list and revoke a provider's API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token and print it once")
        create.add_argument("--as", dest="username", required=True, help="an administrator")
        create.add_argument("--name", required=True, help="what uses it (e.g. CRM)")
        create.add_argument(
            "--scope",
            action="append",
            choices=[s.value for s in ApiScope],
            required=True,
            help="read, write or webhooks (repeat for several)",
        )
        listing = sub.add_parser("list", help="the provider's tokens")
        listing.add_argument("--as", dest="username", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("--as", dest="username", required=True)
        revoke.add_argument("token_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        from django.contrib.auth.models import User

        from amends.providers.tokens import api_token_create, api_token_list, api_token_revoke

        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}.")
        try:
            actor = actor_for_staff(user)
            now = timezone.now()
            if options["action"] == "create":
                token, raw = api_token_create(
                    actor=actor, name=options["name"], scopes=options["scope"], now=now
                )
                self.stderr.write(
                    f"Token {token.pk} ({', '.join(token.scopes)}) made; it is shown once:"
                )
                self.stdout.write(raw)
            elif options["action"] == "list":
                for t in api_token_list(actor=actor):
                    used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
                    revoked = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
                    self.stdout.write(
                        f"{t.pk}\t{t.prefix}...\t{t.name}\t{','.join(t.scopes)}\t"
                        f"made {t.created_at:%Y-%m-%d %H:%M}\tused {used}\t{revoked}"
                    )
            else:
                api_token_revoke(actor=actor, token_id=options["token_id"], now=now)
                self.stderr.write(f"Token {options['token_id']} revoked.")
        except CaseError as refused:
            raise CommandError(refused.message) from None
