"""``amends mail poll`` against a real IMAP server: Debian's dovecot, started by each test in a
throwaway configuration (passwd-file users, maildir, a free port; XOAUTH2 checked by dovecot's
oauth2 passdb against a token endpoint of the test's own) and stopped whatever happens."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.core.files.storage import default_storage
from imap_tools import BaseMailBox, MailBoxUnencrypted

from amends.cases.models import Case
from amends.comms import intake
from amends.comms.intake import poll_all
from amends.comms.models import InboundMessage, Mailbox
from tests.cases.conftest import World, make_world
from tests.conftest import REPO, amends_command, amends_env, free_port

EML = Path(__file__).parent / "eml"
USER = "complaints@v4voip.example"
PASSWORD = "imap-test-password"
PROCESSED = "Amends-Processed"


@dataclass
class TokenServer:
    """The identity platform's token endpoint (``/token``) and the introspection endpoint
    dovecot asks whether a bearer token is good (``/introspect``)."""

    port: int
    good_tokens: dict[str, str] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    issue: str = "access-token-1"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _token_handler(state: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if self.path == "/token":
                state.requests.append(form)
                body = {"access_token": state.issue, "token_type": "Bearer", "expires_in": 3600}
            else:
                token = form.get("token", [""])[0]
                user = state.good_tokens.get(token, "")
                body = {"active": "true" if user else "false", "username": user}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@dataclass
class Dovecot:
    port: int
    tokens: TokenServer
    log: Path

    def client(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(
            USER, PASSWORD, initial_folder="INBOX"
        )

    def deliver(self, raw: bytes, when: datetime | None = None) -> None:
        with self.client() as box:
            box.append(raw, "INBOX", dt=when or datetime(2026, 11, 23, 10, 15, 30, tzinfo=UTC))

    def count(self, folder: str) -> int:
        with self.client() as box:
            if not box.folder.exists(folder):
                return 0
            box.folder.set(folder)
            return len(box.uids("ALL"))


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    text = log.read_text() if log.exists() else "(no log)"
    raise AssertionError(f"dovecot did not start on port {port}:\n{text}")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        pytest.fail("dovecot is not installed: apt-get install dovecot-imapd (.ci/run installs it)")
    # Under /tmp (not pytest's 0700 directory): dovecot's unprivileged processes must reach it.
    root = Path(tempfile.mkdtemp(prefix="amends-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        mail_user = pwd.getpwnam("nobody")
        mail_group = grp.getgrgid(mail_user.pw_gid).gr_name
        service_users = ""
    else:  # dovecot as an ordinary user runs everything as that user
        mail_user = pwd.getpwuid(os.getuid())
        mail_group = grp.getgrgid(os.getgid()).gr_name
        service_users = (
            f"default_login_user = {mail_user.pw_name}\n"
            f"default_internal_user = {mail_user.pw_name}\n"
            f"default_internal_group = {mail_group}\n"
        )
    (root / "mail").mkdir()
    if os.geteuid() == 0:
        os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    tokens = TokenServer(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _token_handler(tokens))
    tokens.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (root / "oauth2.conf.ext").write_text(
        "introspection_mode = post\n"
        f"introspection_url = {tokens.url}/introspect\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    port = free_port()
    log = root / "dovecot.log"
    (root / "dovecot.conf").write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {log}
{service_users}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, process, log)
        yield Dovecot(port=port, tokens=tokens, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        server.shutdown()
        server.server_close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "files"


def _mailbox(world: World, dovecot: Dovecot, **fields: Any) -> Mailbox:
    values: dict[str, Any] = {
        "provider": world.provider,
        "kind": "complaints",
        "address": USER,
        "imap_host": "127.0.0.1",
        "imap_port": dovecot.port,
        "imap_security": "plain",
        "password_env": "AMENDS_TEST_IMAP_PASSWORD",
        "processed_folder": PROCESSED,
    }
    values.update(fields)
    return Mailbox.objects.create(**values)


@pytest.fixture
def world(db: None, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setenv("AMENDS_TEST_IMAP_PASSWORD", PASSWORD)
    return make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")


def eml(name: str) -> bytes:
    return (EML / name).read_bytes()


NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


def now() -> datetime:
    return NOW


@pytest.mark.django_db
def test_poll_stores_each_message_moves_it_and_places_it(world: World, dovecot: Dovecot) -> None:
    mailbox = _mailbox(world, dovecot)
    dovecot.deliver(eml("new_complaint.eml"))
    dovecot.deliver(eml("rfc2047_headers.eml"))
    no_received = b"From: Jo <jo@example.co.uk>\r\nSubject: Line dead\r\n\r\nNo dial tone.\r\n"
    dovecot.deliver(no_received, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    (result,) = poll_all(now=now).values()
    assert (result.stored, result.moved, result.placed, result.errors) == (3, 3, 3, [])
    assert dovecot.count("INBOX") == 0 and dovecot.count(PROCESSED) == 3
    rows = InboundMessage.objects.order_by("pk")
    assert [r.source for r in rows] == ["imap"] * 3
    assert all(r.status == "opened" and r.mailbox_id == mailbox.pk for r in rows)
    # Arrival: the receiving server's Received line, else the IMAP server's internal date.
    assert rows[0].case is not None
    assert rows[0].case.first_received_at == datetime(2026, 11, 23, 10, 15, 7, tzinfo=UTC)
    assert rows[2].arrived_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with default_storage.open(rows[1].raw.name, "rb") as handle:
        assert handle.read().replace(b"\r\n", b"\n") == eml("rfc2047_headers.eml")
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at == NOW and mailbox.last_error == ""
    (again,) = poll_all(now=now).values()
    assert (again.stored, again.moved) == (0, 0)


@pytest.mark.django_db
def test_a_crash_between_storing_and_moving_stores_nothing_twice(
    world: World, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    _mailbox(world, dovecot)
    dovecot.deliver(eml("new_complaint.eml"))
    dovecot.deliver(eml("no_message_id.eml"))

    def crash(self: BaseMailBox, *args: Any, **kwargs: Any) -> None:
        raise ConnectionResetError("the poller died before the move")

    with monkeypatch.context() as patch:
        patch.setattr(BaseMailBox, "move", crash)
        (first,) = poll_all(now=now).values()
    assert first.errors == ["ConnectionResetError: the poller died before the move"]
    assert (first.stored, first.moved) == (2, 0)
    # Stored and committed, still in the folder: nothing was taken away before it was safe.
    assert InboundMessage.objects.count() == 2
    assert dovecot.count("INBOX") == 2
    (second,) = poll_all(now=now).values()
    assert (second.stored, second.duplicates, second.moved) == (0, 2, 2)
    assert InboundMessage.objects.count() == 2
    assert dovecot.count("INBOX") == 0
    # The sweep at the end of the poll placed what the crash left unread.
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"opened"}
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_the_same_message_delivered_twice_is_stored_once(world: World, dovecot: Dovecot) -> None:
    _mailbox(world, dovecot)
    dovecot.deliver(eml("gmail_reply.eml"))
    dovecot.deliver(eml("gmail_reply.eml"))
    dovecot.deliver(eml("no_message_id.eml"))
    dovecot.deliver(eml("no_message_id.eml"))
    (result,) = poll_all(now=now).values()
    assert (result.stored, result.duplicates, result.moved) == (2, 2, 4)
    assert InboundMessage.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_login_is_recorded_on_the_mailbox_and_nothing_is_lost(
    world: World, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = _mailbox(world, dovecot)
    dovecot.deliver(eml("new_complaint.eml"))
    monkeypatch.setenv("AMENDS_TEST_IMAP_PASSWORD", "wrong")
    (result,) = poll_all(now=now).values()
    assert result.errors == ["the IMAP server refused the login (AUTHENTICATIONFAILED)"]
    mailbox.refresh_from_db()
    assert mailbox.last_error == "the IMAP server refused the login (AUTHENTICATIONFAILED)"
    assert dovecot.count("INBOX") == 1
    monkeypatch.delenv("AMENDS_TEST_IMAP_PASSWORD")
    (unset,) = poll_all(now=now).values()
    assert unset.errors == [
        "the environment variable AMENDS_TEST_IMAP_PASSWORD (the IMAP password) is not set"
    ]


@pytest.mark.django_db
def test_google_oauth2_logs_in_with_xoauth2_using_a_refreshed_token(
    world: World, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_SECRET", "client-secret")
    monkeypatch.setenv("GOOGLE_REFRESH", "refresh-1")
    _mailbox(
        world,
        dovecot,
        auth="oauth2_google",
        password_env="",
        oauth2_client_id="client-1.apps.googleusercontent.com",
        oauth2_client_secret_env="GOOGLE_SECRET",
        oauth2_refresh_token_env="GOOGLE_REFRESH",
        oauth2_token_url=f"{dovecot.tokens.url}/token",
    )
    dovecot.tokens.issue = "ya29.google-token"
    dovecot.tokens.good_tokens = {"ya29.google-token": USER}
    dovecot.deliver(eml("new_complaint.eml"))
    (result,) = poll_all(now=now).values()
    assert (result.stored, result.errors) == (1, [])
    (request,) = dovecot.tokens.requests
    assert request["grant_type"] == ["refresh_token"]
    assert request["refresh_token"] == ["refresh-1"]
    assert request["client_id"] == ["client-1.apps.googleusercontent.com"]
    assert "method=XOAUTH2" in dovecot.log.read_text()


@pytest.mark.django_db
def test_microsoft_365_oauth2_uses_client_credentials_and_a_bad_token_is_refused(
    world: World, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("M365_SECRET", "client-secret")
    mailbox = _mailbox(
        world,
        dovecot,
        auth="oauth2_microsoft",
        password_env="",
        oauth2_client_id="11111111-2222-3333-4444-555555555555",
        oauth2_client_secret_env="M365_SECRET",
        oauth2_tenant="contoso.onmicrosoft.com",
    )
    url, form = intake.oauth2_token_request(mailbox)
    assert url == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "https://outlook.office365.com/.default"
    Mailbox.objects.filter(pk=mailbox.pk).update(oauth2_token_url=f"{dovecot.tokens.url}/token")
    dovecot.tokens.issue = "eyJ0eXAi.m365-token"
    dovecot.tokens.good_tokens = {}  # the server does not accept it
    (refused,) = poll_all(now=now).values()
    assert refused.errors == ["the IMAP server refused the login (AUTHENTICATIONFAILED)"]
    dovecot.tokens.good_tokens = {"eyJ0eXAi.m365-token": USER}
    (accepted,) = poll_all(now=now).values()
    assert accepted.errors == []
    assert dovecot.tokens.requests[-1]["grant_type"] == ["client_credentials"]


@pytest.mark.subprocess
def test_the_poll_command_exits_0_and_1_when_a_mailbox_cannot_be_read(
    test_database_url: str, dovecot: Dovecot, tmp_path: Path
) -> None:
    world = make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")
    _mailbox(world, dovecot)
    dovecot.deliver(eml("new_complaint.eml"))
    env = amends_env(
        tmp_path,
        DATABASE_URL=test_database_url,
        AMENDS_FILES_DIR=str(tmp_path / "files"),
        AMENDS_TEST_IMAP_PASSWORD=PASSWORD,
    )
    done = subprocess.run(
        amends_command("mail", "poll"), env=env, cwd=REPO, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"1 stored, 0 already stored, 1 moved, 1 placed" in done.stdout
    assert InboundMessage.objects.get().status == "opened"
    env["AMENDS_TEST_IMAP_PASSWORD"] = "wrong"
    failed = subprocess.run(
        amends_command("mail", "poll"), env=env, cwd=REPO, capture_output=True, timeout=120
    )
    assert failed.returncode == 1
    assert b"refused the login" in failed.stderr
