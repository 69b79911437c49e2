"""Public form submissions per second over HTTP, Amends beside django-helpdesk (issue 12).

Run from the repository root (PostgreSQL at 127.0.0.1:5432, trust auth)::

    python -m benchmarks.public [--write] [--clients 4] [--seconds 20] [--rounds 4]
        [--warmup 3] [--case-gets 100] [--databases sqlite,postgresql]
        [--filings 400] [--postgres postgres://root@127.0.0.1:5432/postgres]
        [--helpdesk-venv var/helpdesk-venv]

For each database it makes two scratch databases (``benchmarks.services.scratch_databases``:
temporary SQLite files, or two databases created on the PostgreSQL server and dropped
afterwards) and starts two servers on free loopback ports, each in its own process group:

* **Amends**: ``amends migrate``, ``amends demo``, then ``amends serve --workers 2`` (gunicorn,
  gthread, its default 4 threads per worker), with the environment ``tests/conftest.py``'s
  ``amends_env`` gives (its own ``AMENDS_VAR_DIR``, ``AMENDS_ENV=local``, ``DATABASE_URL``) and
  ``EMAIL_BACKEND`` Django's locmem backend, ``LOG_LEVEL=WARNING``, and
  ``DJANGO_SETTINGS_MODULE=benchmarks.public_settings`` (``config.settings`` with the public
  forms' rate limits raised: ``amends.portal.limits`` reads them from settings only). No
  ``amends worker`` runs: the acknowledgements stay in the outbox.
* **django-helpdesk 2.6.1** (its own virtualenv, ``benchmarks.services.helpdesk_python``):
  ``migrate``, one Queue open to public submission (as ``benchmarks/helpdesk_bench/run.py``
  makes it), then gunicorn with the same worker class, processes and threads (2 x 4), an
  access log to a file as Amends writes one, and ``HELPDESK_BENCH_CONN_MAX_AGE`` the
  ``CONN_MAX_AGE`` Amends uses on that database (0 on SQLite, 60 on PostgreSQL).

The load is a bounded closed loop: ``--clients`` threads, each a new visitor per submission
(its own cookies, one keep-alive connection per round), submit one complaint after another
for ``--seconds`` in all per server, split into ``--rounds`` rounds alternating between the two
servers (helpdesk, Amends, Amends, helpdesk, ...), so that what else the machine does falls on
both alike; the waiting server is idle. ``--warmup`` submissions per client on each server
come first and are not recorded. One submission is what a browser does to file one complaint,
the pages' HTML only (no static files):

* helpdesk: GET its public form (``/helpdesk/tickets/submit/``: the CSRF token), POST it, GET
  the ticket page its redirect names (3 requests);
* Amends: GET and POST each of the five question pages of ``/v4voip/complaint/`` in turn
  (each POST redirects to the next), GET the check-your-answers page and POST it (the case is
  opened), GET the confirmation (13 requests).

Any response other than the expected 200 or 302 (with the expected Location) fails the run.
Per server: submissions/s (completed submissions over the rounds' wall time), the median and
p95 seconds per submission, HTTP requests per submission, and the final POST alone (helpdesk's
one POST, Amends' check-your-answers POST). The target: Amends' submissions/s at least twice
helpdesk's.

Then the form submission alone (``--filings`` per server, 0 for none), in the same
alternating rounds: that many visitors are made ready first, not timed (Amends: every question
page answered and check-your-answers opened, so the session holds the answers; helpdesk: its
form opened, for the CSRF token), then ``--clients`` threads send them as fast as the server
answers: Amends' check-your-answers POST (the case is opened) and helpdesk's form POST, each
answered by its redirect (not followed). POSTs/s = POSTs over the wall time of the sending
only. This is "form submissions per second" read literally; the journey above is what one
customer costs in all.

Last, the customer's case page, ``/v4voip/case/<token>/``: one more complaint through the form,
its link read from the database (the acknowledgement's payload ``url`` in the outbox; never
printed), ``--case-gets`` GETs after 10 not recorded: the round trip seen by the client and the
server's own time from its access log (``duration_ms``).

Prints one JSON document on stdout (progress goes to stderr); ``--write`` also rewrites the
block of ``benchmarks/RESULTS.md`` between its markers.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from benchmarks._results import machine, write_block
from benchmarks.services import BODY, TITLE, base_env, helpdesk_python, log, scratch_databases

REPO = Path(__file__).resolve().parent.parent
HEADING = "## Public form submissions over HTTP (issue 12)"
BEGIN, END = "<!-- public:begin -->", "<!-- public:end -->"
INTRO = (
    "`python -m benchmarks.public --write` (`make bench-public`): a closed-loop load of "
    "complaints filed through the public form of `amends serve` over loopback, beside "
    "django-helpdesk's public ticket form under gunicorn, on the same machine in the same run; "
    "then the customer's case page. How it is measured: the module's docstring."
)
#: Issue 12's target: Amends' public submissions/s at least twice helpdesk's.
TARGET_RATIO = 2.0
SLUG, KIND = "v4voip", "complaint"
STEPS = ("about", "representative", "you", "contact", "needs")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
QUEUE_OPTION = re.compile(r'<select name="queue"[^>]*>.*?<option value="(\d+)"', re.S)

HELPDESK_SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from helpdesk.models import Queue
Queue.objects.get_or_create(
    slug="complaints",
    defaults={
        "title": "Complaints",
        "allow_public_submission": True,
        "email_address": "complaints@example.invalid",
    },
)
"""


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A server in its own process group (gunicorn's master and workers), output to a file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], logfile: Path) -> None:
        self.name = name
        self.logfile = logfile
        self.port = int(command[command.index("--bind") + 1].rsplit(":", 1)[1])
        self.base = f"127.0.0.1:{self.port}"
        self._out = logfile.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"{self.name} exited with {self.process.returncode}; see its log:\n"
                    + self.logfile.read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(f"http://{self.base}{path}", timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise SystemExit(f"{self.name} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Whatever the master left behind in its group (a worker it could not reap).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._out.close()


def run_checked(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


# --------------------------------------------------------------------------- the client


class HTTPFailure(Exception):
    pass


class Browser:
    """One visitor: a keep-alive connection and its cookies; counts its requests."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.conn = http.client.HTTPConnection(host, timeout=60)
        self.cookies: dict[str, str] = {}
        self.requests = 0

    def new_visitor(self) -> None:
        self.cookies = {}
        self.requests = 0

    def close(self) -> None:
        self.conn.close()

    def request(
        self, method: str, path: str, data: Sequence[tuple[str, str]] | None = None
    ) -> tuple[int, str, str]:
        """(status, Location, body) of one request; any status but 200 or 302 raises."""
        headers = {"Host": self.host, "User-Agent": "amends-bench"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # Django's CSRF check for HTTPS only compares Referer/Origin; sent as a browser would.
            headers["Origin"] = f"http://{self.host}"
            headers["Referer"] = f"http://{self.host}{path}"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed the kept-alive connection before this request: once more
                # on a new one (the request was not received).
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, timeout=60)
                if attempt == 2:
                    raise
        self.requests += 1
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        if response.status not in (200, 302):
            raise HTTPFailure(f"{method} {redact(path)}: {response.status}")
        return response.status, response.headers.get("Location", ""), text


def redact(path: str) -> str:
    return re.sub(r"/case/[^/]+/", "/case/<token>/", path.split("?", 1)[0])


def _expect(
    result: tuple[int, str, str], status: int, location: str | None = None
) -> tuple[int, str, str]:
    code, where, _ = result
    if code != status:
        raise HTTPFailure(f"expected {status}, got {code}: {result[2][:2000]}")
    if location is not None and urlsplit(where).path != location:
        raise HTTPFailure(f"expected a redirect to {location}, got {redact(where)}")
    return result


def _token(page: str) -> str:
    found = CSRF.search(page)
    if found is None:
        raise HTTPFailure("no CSRF token on the page")
    return found.group(1)


def amends_answers(serial: int) -> dict[str, list[tuple[str, str]]]:
    """What a customer answers on each question page (as tests/portal/test_public_forms.py)."""
    return {
        "about": [("summary", TITLE), ("description", BODY), ("website", "")],
        "representative": [("acting_for", "no")],
        "you": [
            ("contact_name", "Priya Shah"),
            ("customer_type", "small_business"),
            ("business_name", "Shah Dental"),
            ("account_number", ""),
        ],
        "contact": [
            ("email", f"customer{serial}@example.invalid"),
            ("phone", "01632 960 001"),
            ("postal_address", "1 High Street\nLondon NW10 1AA"),
            ("preferred_contact", "email"),
        ],
        "needs": [("other_language", "")],
    }


def amends_submit(browser: Browser, serial: int) -> float:
    """File one complaint through Amends' public form; return the final POST's seconds."""
    ready = amends_prepare(browser, serial)
    began = time.perf_counter()
    _, sent, _ = _expect(browser.request("POST", ready.path, ready.data), 302, ready.location)
    final = time.perf_counter() - began
    _, _, page = _expect(browser.request("GET", urlsplit(sent).path), 200)
    if 'class="reference"' not in page:
        raise HTTPFailure("the confirmation shows no reference")
    return final


def helpdesk_submit(browser: Browser, serial: int) -> float:
    """File one ticket through helpdesk's public form; return the POST's seconds."""
    ready = helpdesk_prepare(browser, serial)
    began = time.perf_counter()
    _, where, _ = _expect(browser.request("POST", ready.path, ready.data), 302, ready.location)
    final = time.perf_counter() - began
    target = urlsplit(where)
    _, _, page = _expect(browser.request("GET", f"{target.path}?{target.query}"), 200)
    if TITLE not in page:
        raise HTTPFailure("helpdesk's ticket page does not show the ticket")
    return final


Submit = Callable[[Browser, int], float]


# --------------------------------------------------------------------------- the filing POST alone


@dataclass
class Prepared:
    """A visitor ready to send: their cookies, the form's CSRF token and what to post."""

    cookies: dict[str, str]
    path: str
    data: list[tuple[str, str]]
    location: str


def amends_prepare(browser: Browser, serial: int) -> Prepared:
    """Answer every question page and open check-your-answers: all but the sending."""
    answers = amends_answers(serial)
    base = f"/{SLUG}/{KIND}/"
    path = base
    for index, step in enumerate(STEPS):
        _, _, page = _expect(browser.request("GET", path), 200)
        following = f"{base}{STEPS[index + 1]}/" if index + 1 < len(STEPS) else f"{base}check/"
        data = [("csrfmiddlewaretoken", _token(page)), *answers[step]]
        _, path, _ = _expect(browser.request("POST", path, data), 302, following)
        path = urlsplit(path).path
    _, _, page = _expect(browser.request("GET", path), 200)
    return Prepared(
        dict(browser.cookies),
        path,
        [("csrfmiddlewaretoken", _token(page)), ("website", "")],
        f"{base}sent/",
    )


def helpdesk_prepare(browser: Browser, serial: int) -> Prepared:
    """Open helpdesk's form and fill it in: all but the sending."""
    path = "/helpdesk/tickets/submit/"
    _, _, page = _expect(browser.request("GET", path), 200)
    queue = QUEUE_OPTION.search(page)
    if queue is None:
        raise HTTPFailure("helpdesk's form offers no queue")
    data = [
        ("csrfmiddlewaretoken", _token(page)),
        ("queue", queue.group(1)),
        ("title", TITLE),
        ("body", BODY),
        ("priority", "3"),
        ("due_date", ""),
        ("submitter_email", f"customer{serial}@example.invalid"),
    ]
    return Prepared(dict(browser.cookies), path, data, "/helpdesk/view/")


Prepare = Callable[[Browser, int], Prepared]


def _in_threads(clients: int, work: Callable[[Browser], None], host: str) -> list[str]:
    errors: list[str] = []

    def client() -> None:
        browser = Browser(host)
        try:
            work(browser)
        except Exception as error:  # noqa: BLE001 - any failure fails the run, reported
            errors.append(f"{type(error).__name__}: {error}"[:3000])
        finally:
            browser.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def filing(
    host: str, prepare: Prepare, tally: Tally, *, clients: int, count: int, first_serial: int
) -> None:
    """``count`` visitors made ready (untimed), then sent by ``clients`` threads as fast as
    the server answers: the form submissions alone, each a POST answered by its redirect."""
    ready: list[Prepared] = []
    serials = iter(range(first_serial, first_serial + count))
    lock = threading.Lock()

    def make(browser: Browser) -> None:
        while True:
            with lock:
                serial = next(serials, None)
            if serial is None:
                return
            browser.new_visitor()
            item = prepare(browser, serial)
            with lock:
                ready.append(item)

    tally.errors += _in_threads(clients, make, host)
    if tally.errors:
        return

    def send(browser: Browser) -> None:
        while True:
            with lock:
                if not ready:
                    return
                item = ready.pop()
            browser.new_visitor()
            browser.cookies = dict(item.cookies)
            began = time.perf_counter()
            _expect(browser.request("POST", item.path, item.data), 302, item.location)
            took = time.perf_counter() - began
            with tally.lock:
                tally.final.append(took)
                tally.seconds.append(took)
                tally.requests.append(1)

    began = time.perf_counter()
    tally.errors += _in_threads(clients, send, host)
    tally.wall += time.perf_counter() - began


def filing_figures(tally: Tally) -> dict[str, Any]:
    done = len(tally.final)
    return {
        "posts": done,
        "wall_s": round(tally.wall, 3),
        "posts_per_s": done / tally.wall if tally.wall else None,
        "median_ms": statistics.median(tally.final) * 1000 if done else None,
        "p95_ms": (_pct(tally.final, 0.95) or 0) * 1000 if done else None,
        "errors": len(tally.errors),
        "first_errors": tally.errors[:3],
    }


class Tally:
    """What the clients of one server did, over all its rounds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: list[float] = []
        self.final: list[float] = []
        self.requests: list[int] = []
        self.errors: list[str] = []
        self.wall = 0.0
        self.serial = 0

    def next_serial(self) -> int:
        with self.lock:
            self.serial += 1
            return self.serial


def load(host: str, submit: Submit, tally: Tally, *, clients: int, seconds: float) -> None:
    """``clients`` threads, each submitting one complaint after another until ``seconds``
    have passed (a submission begun is finished); adds to ``tally``."""
    deadline = time.perf_counter() + seconds

    def client() -> None:
        browser = Browser(host)
        try:
            while time.perf_counter() < deadline:
                browser.new_visitor()
                began = time.perf_counter()
                final = submit(browser, tally.next_serial())
                took = time.perf_counter() - began
                with tally.lock:
                    tally.seconds.append(took)
                    tally.final.append(final)
                    tally.requests.append(browser.requests)
        except Exception as error:  # noqa: BLE001 - any failure fails the run, reported
            with tally.lock:
                tally.errors.append(f"{type(error).__name__}: {error}"[:3000])
        finally:
            browser.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.wall += time.perf_counter() - began


def warm(host: str, submit: Submit, clients: int, per_client: int) -> None:
    scratch = Tally()

    def work(browser: Browser) -> None:
        for _ in range(per_client):
            browser.new_visitor()
            submit(browser, 10**6 + scratch.next_serial())

    errors = _in_threads(clients, work, host)
    if errors:
        raise SystemExit(f"warm-up failed on {host}: {errors[0]}")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def figures(tally: Tally) -> dict[str, Any]:
    done = len(tally.seconds)
    return {
        "submissions": done,
        "wall_s": round(tally.wall, 3),
        "submissions_per_s": done / tally.wall if tally.wall else None,
        "median_s": statistics.median(tally.seconds) if done else None,
        "p95_s": _pct(tally.seconds, 0.95),
        "requests_per_submission": statistics.mean(tally.requests) if done else None,
        "requests_per_s": sum(tally.requests) / tally.wall if tally.wall else None,
        "final_post_median_ms": statistics.median(tally.final) * 1000 if done else None,
        "final_post_p95_ms": (_pct(tally.final, 0.95) or 0) * 1000 if done else None,
        "errors": len(tally.errors),
        "first_errors": tally.errors[:3],
    }


# --------------------------------------------------------------------------- the case page


def latest_link(database_url: str) -> tuple[str, str]:
    """The path of the newest acknowledgement's private link (read, never printed) and the
    case's reference."""
    query = (
        "SELECT payload FROM comms_outboxmessage WHERE kind = 'acknowledgement' "
        "ORDER BY id DESC LIMIT 1"
    )
    if database_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(database_url.split("sqlite:///", 1)[1])) as db:
            row = db.execute(query).fetchone()
    else:
        import psycopg

        with psycopg.connect(database_url) as db:
            row = db.execute(query).fetchone()
    if row is None:
        raise SystemExit("no acknowledgement in the outbox")
    payload = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return urlsplit(str(payload["url"])).path, str(payload["reference"])


def case_page(host: str, database_url: str, logfile: Path, gets: int) -> dict[str, Any]:
    browser = Browser(host)
    try:
        browser.new_visitor()
        amends_submit(browser, 9 * 10**6)
        path, reference = latest_link(database_url)
        browser.new_visitor()
        for _ in range(10):
            _, _, page = _expect(browser.request("GET", path), 200)
        if reference not in page:
            raise SystemExit("the case page shows no reference")
        times: list[float] = []
        for _ in range(gets):
            began = time.perf_counter()
            _expect(browser.request("GET", path), 200)
            times.append(time.perf_counter() - began)
    finally:
        browser.close()
    time.sleep(0.5)  # the access lines are written after the response
    server: list[float] = []
    for line in logfile.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if (
                isinstance(entry, dict)
                and entry.get("method") == "GET"
                and re.fullmatch(rf"/{SLUG}/case/[^/]+/", str(entry.get("path", "")))
            ):
                server.append(float(entry["duration_ms"]))
    server = server[-gets:]
    return {
        "gets": gets,
        "round_trip_median_ms": statistics.median(times) * 1000,
        "round_trip_p95_ms": (_pct(times, 0.95) or 0) * 1000,
        "server_median_ms": statistics.median(server) if server else None,
        "server_p95_ms": _pct(server, 0.95) if server else None,
        "server_lines": len(server),
    }


# --------------------------------------------------------------------------- one database


def amends_environment(var: Path, database_url: str) -> dict[str, str]:
    env = base_env()
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.public_settings",
        DATABASE_URL=database_url,
        AMENDS_VAR_DIR=str(var),
        AMENDS_ENV="local",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    return env


@contextlib.contextmanager
def servers(
    tmp: Path, vendor: str, amends_url: str, helpdesk_url: str, python: Path
) -> Iterator[tuple[Server, Server]]:
    # As tests/conftest.py runs it: ``-m`` puts the repository (benchmarks.public_settings)
    # on the path, which the console script would not.
    amends = [sys.executable, "-m", "amends.cli"]
    env = amends_environment(tmp / "var", amends_url)
    log(f"  amends: migrate, demo ({vendor})")
    run_checked([*amends, "migrate", "--verbosity", "0"], env, "amends migrate")
    run_checked([*amends, "demo"], env, "amends demo")

    helpdesk_env = base_env()
    helpdesk_env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.helpdesk_bench.settings",
        HELPDESK_BENCH_DATABASE_URL=helpdesk_url,
        HELPDESK_BENCH_DIR=str(tmp / "helpdesk"),
        HELPDESK_BENCH_CONN_MAX_AGE="0" if vendor == "sqlite" else "60",
        PYTHONUNBUFFERED="1",
    )
    log(f"  helpdesk: migrate, public queue ({vendor})")
    run_checked([str(python), "-c", HELPDESK_SETUP], helpdesk_env, "helpdesk setup")

    started: list[Server] = []
    try:
        amends_port = free_port()
        bind = f"127.0.0.1:{amends_port}"
        started.append(
            Server(
                "amends serve",
                [*amends, "serve", "--bind", bind, "--workers", "2"],
                env,
                tmp / "amends-serve.log",
            )
        )
        helpdesk_bind = f"127.0.0.1:{free_port()}"
        started.append(
            Server(
                "helpdesk gunicorn",
                [
                    str(python),
                    "-m",
                    "gunicorn",
                    "--bind",
                    helpdesk_bind,
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--graceful-timeout",
                    "10",
                    "--access-logfile",
                    "-",
                    "--no-control-socket",
                    "django.core.wsgi:get_wsgi_application()",
                ],
                helpdesk_env,
                tmp / "helpdesk-gunicorn.log",
            )
        )
        started[0].wait_ready(f"/{SLUG}/")
        started[1].wait_ready("/helpdesk/tickets/submit/")
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def server_versions(python: Path) -> dict[str, str]:
    code = (
        "import sys, json; from importlib.metadata import version as v; "
        "print(json.dumps({'python': sys.version.split()[0], 'django': v('django'), "
        "'gunicorn': v('gunicorn'), 'helpdesk': v('django-helpdesk')}))"
    )
    helpdesk = json.loads(run_checked([str(python), "-c", code], base_env(), "versions"))
    from importlib.metadata import version

    return {
        "amends_python": sys.version.split()[0],
        "amends_django": version("django"),
        "amends_gunicorn": version("gunicorn"),
        "helpdesk_python": helpdesk["python"],
        "helpdesk_django": helpdesk["django"],
        "helpdesk_gunicorn": helpdesk["gunicorn"],
        "django_helpdesk": helpdesk["helpdesk"],
    }


def database_server(vendor: str, url: str) -> str:
    if vendor == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    import psycopg

    with psycopg.connect(url) as db:
        row = db.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def run_database(vendor: str, args: argparse.Namespace, python: Path) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="amends-bench-public-") as folder,
        scratch_databases(vendor, args.postgres, Path(folder)) as (amends_url, helpdesk_url),
    ):
        tmp = Path(folder)
        with servers(tmp, vendor, amends_url, helpdesk_url, python) as (amends, helpdesk):
            sides: dict[str, tuple[Server, Submit, Tally]] = {
                "helpdesk": (helpdesk, helpdesk_submit, Tally()),
                "amends": (amends, amends_submit, Tally()),
            }
            for name, (server, submit, _) in sides.items():
                log(f"  {name}: warm-up ({args.warmup} submissions per client)")
                warm(server.base, submit, args.clients, args.warmup)
            order = ["helpdesk", "amends", "amends", "helpdesk"]
            rounds = [order[i % 4] for i in range(2 * args.rounds)]
            per_round = args.seconds / args.rounds
            for number, name in enumerate(rounds, 1):
                server, submit, tally = sides[name]
                log(f"  round {number}/{len(rounds)}: {name}, {per_round:g} s")
                load(server.base, submit, tally, clients=args.clients, seconds=per_round)
                if tally.errors:
                    break
            result = {name: figures(tally) for name, (_, _, tally) in sides.items()}
            result["database"] = database_server(vendor, amends_url)
            if not any(result[n]["errors"] for n in sides):
                log(f"  amends: case page, {args.case_gets} GETs")
                result["case_page"] = case_page(
                    amends.base, amends_url, amends.logfile, args.case_gets
                )
            a, h = result["amends"]["submissions_per_s"], result["helpdesk"]["submissions_per_s"]
            result["ratio"] = a / h if a and h else None
            result["target_met"] = bool(result["ratio"] and result["ratio"] >= TARGET_RATIO)
            if args.filings and not any(result[n]["errors"] for n in sides):
                result["filing"] = _filings(args, amends, helpdesk)
            return result


def _filings(args: argparse.Namespace, amends: Server, helpdesk: Server) -> dict[str, Any]:
    """The form submission alone (the POST that files), in alternating rounds."""
    sides: dict[str, tuple[Server, Prepare, Tally]] = {
        "helpdesk": (helpdesk, helpdesk_prepare, Tally()),
        "amends": (amends, amends_prepare, Tally()),
    }
    order = ["helpdesk", "amends", "amends", "helpdesk"]
    rounds = [order[i % 4] for i in range(2 * args.rounds)]
    per_round = max(1, args.filings // args.rounds)
    for number, name in enumerate(rounds, 1):
        server, prepare, tally = sides[name]
        log(f"  filing round {number}/{len(rounds)}: {name}, {per_round} POSTs")
        filing(
            server.base,
            prepare,
            tally,
            clients=args.clients,
            count=per_round,
            first_serial=2 * 10**6 + number * per_round,
        )
        if tally.errors:
            break
    out: dict[str, Any] = {name: filing_figures(t) for name, (_, _, t) in sides.items()}
    a, h = out["amends"]["posts_per_s"], out["helpdesk"]["posts_per_s"]
    out["ratio"] = a / h if a and h else None
    out["target_met"] = bool(out["ratio"] and out["ratio"] >= TARGET_RATIO)
    return out


def source() -> dict[str, Any]:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()

    return {"head": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--short"))}


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = helpdesk_python(Path(args.helpdesk_venv).resolve())
    report: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "git": source(),
        "versions": server_versions(python),
        "clients": args.clients,
        "seconds_per_server": args.seconds,
        "rounds_per_server": args.rounds,
        "warmup_per_client": args.warmup,
        "target_ratio": TARGET_RATIO,
        "databases": {},
    }
    for vendor in args.databases.split(","):
        log(f"{vendor}:")
        report["databases"][vendor] = run_database(vendor, args, python)
    report["errors"] = sum(
        d[side]["errors"] for d in report["databases"].values() for side in ("amends", "helpdesk")
    ) + sum(
        d["filing"][side]["errors"]
        for d in report["databases"].values()
        if "filing" in d
        for side in ("amends", "helpdesk")
    )
    return report


# --------------------------------------------------------------------------- RESULTS.md


def _f(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def section(report: dict[str, Any]) -> str:
    m, v, g = report["machine"], report["versions"], report["git"]
    lines = [
        f"Run {report['date']} on {m['nproc']} cores ({m['cpu']}, {m['ram']}); git "
        f"{g['head']}{' with uncommitted changes in the tree' if g['dirty'] else ''}. "
        f"Amends: Python {v['amends_python']}, Django {v['amends_django']}, gunicorn "
        f"{v['amends_gunicorn']}; django-helpdesk {v['django_helpdesk']} (Python "
        f"{v['helpdesk_python']}, Django {v['helpdesk_django']}, gunicorn "
        f"{v['helpdesk_gunicorn']}). Each server: 2 worker processes x 4 threads on loopback. "
        f"Load: {report['clients']} clients, a new visitor per submission, "
        f"{report['seconds_per_server']:g} s per server in {report['rounds_per_server']} "
        f"rounds alternating with the other server, after {report['warmup_per_client']} "
        "unrecorded submissions per client.",
        "",
        "| Database | Server | Submissions | Submissions/s | Median s | p95 s "
        "| Requests per submission | Requests/s | Final POST median ms | Errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for db in report["databases"].values():
        for name, label in (("helpdesk", "django-helpdesk"), ("amends", "Amends")):
            row = db[name]
            lines.append(
                f"| {db['database']} | {label} | {row['submissions']} | "
                f"{_f(row['submissions_per_s'])} | {_f(row['median_s'], 3)} | "
                f"{_f(row['p95_s'], 3)} | {_f(row['requests_per_submission'], 0)} | "
                f"{_f(row['requests_per_s'])} | {_f(row['final_post_median_ms'])} | "
                f"{row['errors']} |"
            )
    lines += [
        "",
        "| Database | Amends ÷ helpdesk, submissions/s | Target (≥ 2x) |",
        "|---|---:|---|",
    ]
    for db in report["databases"].values():
        verdict = "met" if db["target_met"] else "NOT met"
        lines.append(f"| {db['database']} | {_f(db['ratio'], 2)} | {verdict} |")
    filings = [db for db in report["databases"].values() if "filing" in db]
    if filings:
        lines += [
            "",
            "The form submission alone: visitors made ready first (Amends: every question page "
            "answered and check-your-answers opened; helpdesk: its form opened), not timed; then "
            f"{report['clients']} clients send them (Amends' check-your-answers POST, "
            "helpdesk's form POST), each answered by its redirect, in rounds alternating with "
            "the other server:",
            "",
            "| Database | Server | POSTs | POSTs/s | Median ms | p95 ms | Errors |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for db in filings:
            for name, label in (("helpdesk", "django-helpdesk"), ("amends", "Amends")):
                row = db["filing"][name]
                lines.append(
                    f"| {db['database']} | {label} | {row['posts']} | {_f(row['posts_per_s'])} "
                    f"| {_f(row['median_ms'])} | {_f(row['p95_ms'])} | {row['errors']} |"
                )
        lines += [
            "",
            "| Database | Amends ÷ helpdesk, form submissions (POSTs)/s | Target (≥ 2x) |",
            "|---|---:|---|",
        ]
        for db in filings:
            verdict = "met" if db["filing"]["target_met"] else "NOT met"
            lines.append(f"| {db['database']} | {_f(db['filing']['ratio'], 2)} | {verdict} |")
    lines += [
        "",
        "Customer's case page (`/<slug>/case/<token>/`, a link made through the form), "
        "GETs after 10 unrecorded:",
        "",
        "| Database | GETs | Server median ms | Server p95 ms | Round trip median ms "
        "| Round trip p95 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for db in report["databases"].values():
        c = db.get("case_page")
        if c:
            lines.append(
                f"| {db['database']} | {c['gets']} | {_f(c['server_median_ms'])} | "
                f"{_f(c['server_p95_ms'])} | {_f(c['round_trip_median_ms'])} | "
                f"{_f(c['round_trip_p95_ms'])} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/RESULTS.md")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="per server, all rounds")
    parser.add_argument("--rounds", type=int, default=4, help="per server")
    parser.add_argument("--warmup", type=int, default=3, help="submissions per client")
    parser.add_argument("--case-gets", type=int, default=100)
    parser.add_argument(
        "--filings", type=int, default=400, help="form submissions alone per server (0: none)"
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432/postgres")
    parser.add_argument("--helpdesk-venv", default=str(REPO / "var" / "helpdesk-venv"))
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(report, indent=2))
    if report["errors"]:
        log(f"FAILED: {report['errors']} client(s) stopped on an error (see first_errors)")
        return 1
    if args.write:
        write_block(begin=BEGIN, end=END, heading=HEADING, intro=INTRO, text=section(report))
        log("benchmarks/RESULTS.md updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
