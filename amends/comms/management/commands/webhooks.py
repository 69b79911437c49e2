"""``amends webhooks listen``: a local receiver for trying webhooks out.

``amends webhooks listen [--host 127.0.0.1] [--port 9000] [--secret whsec_...]``
    Answers 204 to every POST and prints its event type, ``webhook-id`` and body; with the
    endpoint's secret it also checks the signature (with the Standard Webhooks library) and
    says whether it is valid. Register ``http://127.0.0.1:9000/`` as an endpoint (allowed
    outside production: ``AMENDS_WEBHOOK_ALLOW_LOCAL``). Stops on Ctrl-C.
"""

from __future__ import annotations

import binascii
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def signature_valid(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs the message under ``secret`` (the Standard Webhooks library's
    check, with its five-minute tolerance on the timestamp)."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": header}
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return True


class Command(BaseCommand):
    help = "Receive webhooks locally and print them (checking signatures with --secret)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listen = sub.add_parser("listen", help="a local receiver that prints what it gets")
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--port", type=int, default=9000)
        listen.add_argument("--secret", default="", help="the endpoint's whsec_ secret")

    def handle(self, *args: Any, **options: Any) -> None:
        out = self.stdout
        secret = options["secret"]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = min(int(self.headers.get("Content-Length") or 0), 1_000_000)
                body = self.rfile.read(length)
                msg_id = self.headers.get("webhook-id", "")
                stamp = self.headers.get("webhook-timestamp", "")
                try:
                    kind = json.loads(body).get("type", "?")
                except ValueError:
                    kind = "?"
                check = ""
                if secret:
                    ok = signature_valid(
                        secret, msg_id, stamp, body, self.headers.get("webhook-signature", "")
                    )
                    check = " signature valid" if ok else " SIGNATURE INVALID"
                out.write(f"{kind} {msg_id} at {stamp}{check}\n{body.decode(errors='replace')}")
                out.flush()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        try:
            server = ThreadingHTTPServer((options["host"], options["port"]), Handler)
        except OSError as error:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {error}"
            ) from None
        self.stderr.write(f"Listening on http://{options['host']}:{options['port']}/ (Ctrl-C)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
