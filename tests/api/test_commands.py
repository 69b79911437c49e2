"""``amends token`` and ``amends webhooks listen``."""

from __future__ import annotations

import io
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from amends.comms.webhooks import new_secret, sign
from amends.providers.models import ApiToken
from amends.providers.tokens import api_token_authenticate
from tests.api.conftest import Tokens
from tests.conftest import REPO, amends_command, amends_env, free_port, stop_process


def test_token_create_prints_it_once_and_revoke_ends_it(tokens: Tokens) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "token", "create", "--as", "v4voip-admin", "--name", "Billing", "--scope", "write",
        stdout=out, stderr=err,
    )  # fmt: skip
    raw = out.getvalue().strip()
    token = api_token_authenticate(raw, now=timezone.now())
    assert token is not None and token.name == "Billing" and token.scopes == ["write"]
    assert raw not in err.getvalue()
    listing = io.StringIO()
    call_command("token", "list", "--as", "v4voip-admin", stdout=listing)
    assert "Billing" in listing.getvalue() and raw not in listing.getvalue()
    call_command("token", "revoke", "--as", "v4voip-admin", str(token.pk), stderr=io.StringIO())
    assert api_token_authenticate(raw, now=timezone.now()) is None
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_token_commands_refuse_who_may_not(tokens: Tokens) -> None:
    with pytest.raises(CommandError, match="may not"):
        call_command(
            "token", "create", "--as", "v4voip-handler", "--name", "X", "--scope", "read",
            stdout=io.StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="No user"):
        call_command("token", "list", "--as", "nobody", stdout=io.StringIO())
    iss_token = ApiToken.objects.filter(provider=tokens.iss).first()
    assert iss_token is not None
    with pytest.raises(CommandError, match="No such token"):
        call_command(
            "token", "revoke", "--as", "v4voip-admin", str(iss_token.pk), stderr=io.StringIO()
        )


def test_webhooks_listen_prints_events_and_checks_signatures(tmp_path: Path) -> None:
    port = free_port()
    secret = new_secret()
    output = (tmp_path / "listen.out").open("wb")
    process = subprocess.Popen(
        amends_command("webhooks", "listen", "--port", str(port), "--secret", secret),
        env=amends_env(tmp_path),
        cwd=REPO,
        stdout=output,
        stderr=subprocess.DEVNULL,
    )
    try:
        body = '{"type":"case.opened","data":{}}'
        at = datetime.now(UTC)

        def post(signature: str) -> int:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/",
                data=body.encode(),
                method="POST",
                headers={
                    "webhook-id": "msg_1",
                    "webhook-timestamp": str(int(at.timestamp())),
                    "webhook-signature": signature,
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)

        deadline = time.monotonic() + 30
        while True:
            try:
                assert post(sign(secret, "msg_1", at, body)) == 204
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert post("v1,AAAA") == 204
    finally:
        stop_process(process)
        output.close()
    printed: Any = (tmp_path / "listen.out").read_text()
    assert "case.opened msg_1" in printed
    assert "signature valid" in printed
    assert "SIGNATURE INVALID" in printed
