"""The README's API session for real: ``amends serve`` and ``amends worker`` in their own
processes, a webhook receiver started here; a token registers an endpoint, opens a case, acts
on it, and the receiver gets each event once, signed, in order. And the docs page lists every
endpoint with its examples, in a real browser, accessibly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from amends.api.api import api as ninja_api
from tests.api.conftest import Tokens
from tests.conftest import (
    REPO,
    amends_command,
    amends_env,
    assert_accessible,
    stop_process,
)


class Receiver:
    """An HTTP server that keeps every request it is sent."""

    def __init__(self) -> None:
        self.hits: list[dict[str, Any]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.arrived:
                    receiver.hits.append(
                        {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                    receiver.arrived.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait_for(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.hits) < count and time.monotonic() < deadline:
                self.arrived.wait(timeout=1)
            return list(self.hits)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    made.thread.start()
    try:
        yield made
    finally:
        made.server.shutdown()
        made.server.server_close()


@pytest.fixture
def worker(test_database_url: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = amends_env(tmp_path, DATABASE_URL=test_database_url, AMENDS_WORKER_INTERVAL="0.2")
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        amends_command("worker"), env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        stop_process(process)
        log.close()


def http(
    method: str, url: str, token: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def verify(secret: str, hit: dict[str, Any]) -> bool:
    """The Standard Webhooks signature, recomputed from the scheme (not its library)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    headers = hit["headers"]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + hit["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, g) for g in given)


def test_a_crm_opens_a_case_acts_and_receives_the_webhooks(
    tokens_committed: Tokens,
    web_server: str,
    worker: subprocess.Popen[bytes],
    receiver: Receiver,
) -> None:
    api = f"{web_server}/api/v1"
    token = tokens_committed.full
    status, _, endpoint = http(
        "POST",
        f"{api}/webhooks/endpoints",
        token,
        {"url": receiver.url, "types": ["case.opened", "case.state_changed"]},
    )
    assert status == 201, endpoint
    secret = endpoint["secret"]
    status, headers, case = http(
        "POST",
        f"{api}/cases",
        token,
        {
            "kind": "complaint",
            "channel": "phone",
            "first_received_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
            "summary": "Broadband drops every evening",
            "customer": {"contact_name": "Priya Shah", "email": "priya@shahdental.example"},
        },
        Idempotency_Key="crm-call-1",
    )
    assert status == 201, case
    reference = case["reference"]
    status, headers, read = http("GET", f"{api}/cases/{reference}", token)
    assert status == 200
    status, _, acted = http(
        "POST", f"{api}/cases/{reference}/acknowledge", token, {}, If_Match=headers["ETag"]
    )
    assert status == 200, acted
    status, _, acted = http(
        "POST",
        f"{api}/cases/{reference}/assign",
        token,
        {"handler_id": read["customer"]["id"] and _handler_id(api, token)},
        If_Match=f'"{acted["version"]}"',
    )
    assert status == 200, acted

    hits = receiver.wait_for(3)
    assert len(hits) == 3, [h["body"] for h in hits]
    bodies = [json.loads(h["body"]) for h in hits]
    assert [b["type"] for b in bodies] == [
        "case.opened",
        "case.state_changed",
        "case.state_changed",
    ]
    assert [b["data"]["event"].get("to") for b in bodies[1:]] == ["acknowledged", "assigned"]
    assert all(b["data"]["case"]["reference"] == reference for b in bodies)
    assert all(verify(secret, h) for h in hits)
    assert len({h["headers"]["webhook-id"] for h in hits}) == 3
    for hit in hits:
        assert abs(int(hit["headers"]["webhook-timestamp"]) - time.time()) < 300
    # Nothing more arrives: each event once.
    time.sleep(1.5)
    assert len(receiver.hits) == 3
    status, _, log = http("GET", f"{api}/webhooks/endpoints/{endpoint['id']}/deliveries", token)
    assert status == 200
    assert [d["status"] for d in log["items"]] == ["sent", "sent", "sent"]


def _handler_id(api: str, token: str) -> int:
    status, _, staff = http("GET", f"{api}/staff", token)
    assert status == 200
    return next(m["user_id"] for m in staff if m["role"] in ("case_handler", "manager"))


def test_the_docs_page_lists_every_endpoint_with_examples(
    web_server: str, page: Any, tmp_path: Path
) -> None:
    schema = ninja_api.get_openapi_schema()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    page.goto(f"{web_server}/api/v1/docs")
    expect(page.locator("article.op")).to_have_count(len(operations))
    for op in operations:
        article = page.locator(f"article#{op['operationId']}")
        expect(article).to_contain_text(op["summary"])
        expect(article).to_contain_text("curl -X")
    create = page.locator("article#cases_create")
    expect(create).to_contain_text("Priya Shah")  # the example request body
    expect(create).to_contain_text("Scope: write")
    expect(page.locator("article#cases_get")).to_contain_text("Scope: read")
    expect(page.locator("article#webhook_endpoints_create")).to_contain_text("Scope: webhooks")
    page.get_by_role("link", name="POST Open a case").click()
    expect(page).to_have_url(f"{web_server}/api/v1/docs#cases_create")
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=False)
