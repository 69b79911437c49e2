"""Logs carry ids, never personal data: no query string, referer or user agent in any line."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils.log import ServerFormatter

from amends.core.logging import JsonFormatter

PERSONAL = ("Acme", "Widgets", "Pat", "pat@example.com", "Example", "?q=", "?name=", "?email=")
BROWSER = "Mozilla/5.0 (Pat Example's laptop)"
REFERER = "https://search.example/?q=Pat+Example"


def fetch(opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(
        url, data=data, headers={"User-Agent": BROWSER, "Referer": REFERER}
    )
    try:
        with opener.open(request, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def sign_in_to_admin(opener: urllib.request.OpenerDirector, base: str) -> None:
    # This process hashes with a fast test hasher; the server verifies with the real ones.
    hasher = PBKDF2PasswordHasher()
    User.objects.create_superuser(username="root-admin", password=None)
    User.objects.filter(username="root-admin").update(
        password=hasher.encode("s3cret-pass", hasher.salt())
    )
    with opener.open(f"{base}/admin/login/", timeout=10) as response:
        form = response.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert match, form
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": match.group(1),
            "username": "root-admin",
            "password": "s3cret-pass",
            "next": "/admin/",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/admin/login/", data=data, headers={"Referer": f"{base}/admin/login/"}
    )
    with opener.open(request, timeout=10) as response:
        assert response.url.endswith("/admin/"), response.url


def access_lines(log: Path) -> list[dict[str, object]]:
    lines = []
    for line in log.read_text().splitlines():
        if '"gunicorn.access"' in line:
            lines.append(json.loads(line))
    return lines


@pytest.mark.subprocess
def test_server_logs_are_json_without_query_strings_or_client_text(
    web_server: str, web_server_log: Path
) -> None:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    sign_in_to_admin(opener, web_server)
    # The status is not the point (a 500 logs the request too, with its traceback).
    search_status = fetch(opener, f"{web_server}/admin/cases/customer/?q=Acme+Widgets")
    assert fetch(opener, f"{web_server}/healthz?name=Pat+Example") == 200
    assert fetch(opener, f"{web_server}/nowhere.html?email=pat@example.com") == 404
    token = "Zx9_private-link-token-0123456789abcdefABCDEF"
    assert fetch(opener, f"{web_server}/v4voip/case/{token}/") == 404

    # gunicorn writes the access line once the response is sent: wait for the last one.
    deadline = time.monotonic() + 15
    last = "/v4voip/case/<token>/"
    while not any(line.get("path") == last for line in access_lines(web_server_log)):
        assert time.monotonic() < deadline, web_server_log.read_text()
        time.sleep(0.1)

    text = web_server_log.read_text()
    for word in PERSONAL:
        assert word not in text, (word, text)
    assert token not in text  # a private case link opens the case: never logged
    assert "Mozilla" not in text and "search.example" not in text

    # Every access line is one JSON object: method, path, status, length, duration; no more.
    access = {(line["method"], line["path"]): line for line in access_lines(web_server_log)}
    search = access[("GET", "/admin/cases/customer/")]
    assert search["status"] == search_status
    assert isinstance(search["length"], int) and search["length"] > 0
    assert isinstance(search["duration_ms"], float) and search["duration_ms"] >= 0
    assert access[("GET", "/healthz")]["status"] == 200
    assert access[("GET", "/nowhere.html")]["status"] == 404
    assert access[("GET", "/v4voip/case/<token>/")]["status"] == 404
    assert access[("POST", "/admin/login/")]["status"] == 302
    for line in access.values():
        assert set(line) == {
            "time",
            "level",
            "logger",
            "message",
            "method",
            "path",
            "status",
            "length",
            "duration_ms",
        }

    # Django's own warning for the 404 names the path, without the query string.
    not_found = [
        json.loads(line)
        for line in text.splitlines()
        if '"django.request"' in line and "Not Found" in line
    ]
    assert [entry["message"] for entry in not_found] == ["Not Found: /nowhere.html"]
    assert not_found[0]["request"] == "GET /nowhere.html"
    assert not_found[0]["status_code"] == 404


def test_request_records_lose_their_query_strings() -> None:
    """django.request and django.server (runserver) records as the JSON formatter writes them:
    the query string cut from the message, the request named by method and path only."""
    request = RequestFactory().get("/admin/cases/customer/", {"q": "Acme Widgets"})
    records = [
        logging.makeLogRecord(
            {
                "name": "django.request",
                "levelno": logging.WARNING,
                "levelname": "WARNING",
                "msg": "Not Found: %s",
                "args": ("/admin/cases/customer/?q=Acme+Widgets",),
                "request": request,
                "status_code": 404,
            }
        ),
        logging.makeLogRecord(
            {
                "name": "django.server",
                "levelno": logging.INFO,
                "levelname": "INFO",
                "msg": '"%s" %s %s',
                "args": ("GET /admin/cases/customer/?q=Acme+Widgets HTTP/1.1", "200", "5120"),
                "request": object(),
                "status_code": 200,
            }
        ),
        logging.makeLogRecord(
            {
                "name": "django.request",
                "levelno": logging.ERROR,
                "levelname": "ERROR",
                "msg": "Internal Server Error: http://testserver/x?email=pat@example.com",
                "args": (),
            }
        ),
    ]
    lines = [json.loads(JsonFormatter().format(record)) for record in records]
    assert lines[0]["message"] == "Not Found: /admin/cases/customer/"
    assert lines[0]["request"] == "GET /admin/cases/customer/"
    assert lines[1]["message"] == '"GET /admin/cases/customer/ HTTP/1.1" 200 5120'
    assert "request" not in lines[1]
    assert lines[2]["message"] == "Internal Server Error: http://testserver/x"
    for word in PERSONAL:
        assert word not in json.dumps(lines)


def test_runserver_request_lines_are_written_by_the_json_formatter() -> None:
    """Django's own handler for django.server would print the request line, query and all."""
    logger = logging.getLogger("django.server")
    formatters = [type(handler.formatter) for handler in logger.handlers]  # pytest adds its own
    assert JsonFormatter in formatters
    assert ServerFormatter not in formatters
