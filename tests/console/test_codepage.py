"""The Code of Practice pages: the version in force with its findings (the provider's own,
never another's), the published copy as HTML and PDF, the history, and a new version checked
without being stored, then activated with its effective date by a role that may manage the
code (refused to others by the page and by the service)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from amends.cases.actors import actor_for_staff
from amends.cases.errors import CaseError, ErrorCode
from amends.codes.staff import (
    code_candidate_activate,
    code_candidate_check,
    code_digest,
    code_version_get_for_staff,
    today_in_london,
)
from amends.providers.models import CodeVersion
from tests.console.conftest import assert_accessible, browser_sign_in, signed_in

CODES = Path(__file__).resolve().parents[2] / "amends" / "codes"
SHOTS = Path("/tmp/amends-shots")
URL = "/staff/code/"
NEW = "/staff/code/new/"


def candidate(version: str = "2.0") -> str:
    """V4VoIP's shipped code with its four errors put right and a version: warnings only."""
    text = (CODES / "v4voip.toml").read_text()
    for old, new in (
        ('value = "0845 034 3910"', 'value = "0345 034 3901"'),
        ('after = "8 weeks"', 'after = "6 weeks"\nstates_free = true'),
        (
            'value = ["Ombudsman Services: Communications", "PO Box 730"]',
            'value = ["Communications Ombudsman", "PO Box 730", "Warrington", "WA4 6WU"]',
        ),
        ("[code]\n", f'[code]\nversion = "{version}"\n'),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    return text


def in_force(slug: str) -> CodeVersion:
    version = CodeVersion.objects.filter(provider__slug=slug).order_by("-effective_from").first()
    assert version is not None
    return version


def actor(username: str) -> Any:
    return actor_for_staff(User.objects.get(username=username))


def today() -> date:
    return today_in_london(timezone.now())


# --------------------------------------------------------------------------- reading


def test_the_code_page_shows_the_version_in_force_and_its_findings(
    client: Client, demo: None
) -> None:
    ours, theirs = in_force("v4voip"), in_force("iss")
    response = signed_in(client, "v4voip-adviser").get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1>") == 1
    assert ours.sha256 in html
    assert ours.version in html
    assert "1 January 2024" in html  # the effective date
    # Findings by severity, each with its rule id and the path to the value.
    errors = html.index("<caption>Errors")
    warnings = html.index("<caption>Warnings")
    assert errors < html.index("ADR-001") < warnings
    assert "<code>adr.after</code>" in html
    assert warnings < html.index("META-001")
    assert '<th scope="row" class="nowrap">ADR-001</th>' in html
    # The published code, and the history with the version in force marked.
    assert 'href="/staff/code/published.html"' in html
    assert 'href="/staff/code/published.pdf"' in html
    assert f'href="/staff/code/versions/{ours.pk}/"' in html
    assert "In force</strong>" in html
    # Never ISS's.
    assert theirs.sha256 not in html
    assert f"/staff/code/versions/{theirs.pk}/" not in html
    # An adviser reads it but is not offered the upload.
    assert 'href="/staff/code/new/"' not in html


def test_each_provider_sees_its_own_code(client: Client, demo: None) -> None:
    html = signed_in(client, "iss-admin").get(URL).content.decode()
    assert in_force("iss").sha256 in html
    assert in_force("v4voip").sha256 not in html
    assert 'href="/staff/code/new/"' in html


def test_the_published_code_as_html_and_pdf(client: Client, demo: None) -> None:
    signed_in(client, "v4voip-case_handler")
    page = client.get("/staff/code/published.html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert "V4VoIP Ltd" in page.content.decode()
    assert "Infinity System Solutions" not in page.content.decode()
    # The version in force has errors: it is a DRAFT that lists them, never a clean copy.
    assert "DRAFT" in page.content.decode()
    pdf = client.get("/staff/code/published.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_another_providers_version_is_not_found(client: Client, demo: None) -> None:
    theirs, ours = in_force("iss"), in_force("v4voip")
    signed_in(client, "v4voip-admin")
    assert client.get(f"/staff/code/versions/{ours.pk}/").status_code == 200
    assert client.get(f"/staff/code/versions/{theirs.pk}/").status_code == 404
    assert client.get(f"/staff/code/published.html?version={theirs.pk}").status_code == 404
    assert client.get(f"/staff/code/published.pdf?version={theirs.pk}").status_code == 404
    assert client.get("/staff/code/published.html?version=x").status_code == 404
    with pytest.raises(CaseError) as refused:
        code_version_get_for_staff(actor=actor("v4voip-admin"), pk=theirs.pk, now=timezone.now())
    assert refused.value.code is ErrorCode.NOT_FOUND


def test_signing_in_is_needed(client: Client, demo: None) -> None:
    for url in (URL, NEW, "/staff/code/published.pdf"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/")


# --------------------------------------------------------------------------- who may upload


@pytest.mark.parametrize("role", ["adviser", "case_handler", "manager", "director"])
def test_a_role_that_may_not_manage_the_code_cannot_upload(
    client: Client, demo: None, role: str
) -> None:
    before = CodeVersion.objects.count()
    signed_in(client, f"v4voip-{role}")
    assert client.get(NEW).status_code == 403
    response = client.post(
        NEW,
        {
            "action": "activate",
            "content": candidate(),
            "checked_sha256": code_digest(candidate()),
            "effective_from": today().isoformat(),
        },
    )
    assert response.status_code == 403
    assert CodeVersion.objects.count() == before


def test_a_check_under_rules_older_than_gc_c4_is_refused_by_field(demo: None) -> None:
    from datetime import date

    with pytest.raises(CaseError) as refused:
        code_candidate_check(
            actor=actor("v4voip-admin"),
            content=candidate(),
            now=timezone.now(),
            on=date(2018, 9, 30),
        )
    assert refused.value.code is ErrorCode.INVALID
    assert refused.value.field == "on"


def test_the_service_refuses_a_role_that_may_not_manage_the_code(demo: None) -> None:
    handler, now = actor("v4voip-case_handler"), timezone.now()
    with pytest.raises(CaseError) as refused:
        code_candidate_check(actor=handler, content=candidate(), now=now)
    assert refused.value.code is ErrorCode.FORBIDDEN
    before = CodeVersion.objects.count()
    with pytest.raises(CaseError) as refused:
        code_candidate_activate(
            actor=handler,
            content=candidate(),
            effective_from=today(),
            checked_sha256=code_digest(candidate()),
            now=now,
        )
    assert refused.value.code is ErrorCode.FORBIDDEN
    assert CodeVersion.objects.count() == before


def test_the_compliance_lead_may_upload_too(client: Client, demo: None) -> None:
    assert signed_in(client, "v4voip-compliance").get(NEW).status_code == 200


# --------------------------------------------------------------------------- a new version


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (('after = "6 weeks"', 'after = "six weeks"'), "adr.after"),
        (('type = "phone"', 'type = "pigeon"'), "channels[0].type"),
        (("[code]", "[code"), "line 11, column 6"),
    ],
)
def test_a_broken_code_is_refused_with_the_path_to_the_bad_value(
    client: Client, demo: None, change: tuple[str, str], path: str
) -> None:
    before = CodeVersion.objects.count()
    text = candidate().replace(*change, 1)
    response = signed_in(client, "v4voip-admin").post(NEW, {"action": "check", "content": text})
    assert response.status_code == 400
    html = response.content.decode()
    summary = html[html.index('role="alert"') : html.index("<h1>")]
    assert "There is a problem" in summary
    assert 'href="#content"' in summary
    assert path in summary
    assert 'id="content"' in html
    assert 'aria-invalid="true"' in html
    # What was typed is kept (escaped as text in the box).
    assert "six weeks" in html or "pigeon" in html or "[code\n" in html
    assert "<title>Error: " in html
    assert CodeVersion.objects.count() == before


def test_an_empty_text_is_refused(client: Client, demo: None) -> None:
    response = signed_in(client, "v4voip-admin").post(NEW, {"action": "check", "content": " "})
    assert response.status_code == 400
    assert "Paste the code" in response.content.decode()


def test_a_valid_candidate_is_checked_without_being_stored_then_activated(
    client: Client, demo: None
) -> None:
    before = CodeVersion.objects.count()
    signed_in(client, "v4voip-admin")
    text = candidate("2.0")
    response = client.post(NEW, {"action": "check", "content": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert CodeVersion.objects.count() == before  # checking stores nothing
    assert "0 errors and 19 warnings" in html
    assert "<caption>Errors" not in html
    assert '<th scope="row" class="nowrap">ADR-004</th>' in html
    assert 'value="activate"' in html
    digest = re.search(r'name="checked_sha256" value="([0-9a-f]{64})"', html)
    assert digest is not None and digest.group(1) == code_digest(text)

    later = today() + timedelta(days=30)
    response = client.post(
        NEW,
        {
            "action": "activate",
            "content": text.replace("\n", "\r\n"),  # as a browser sends it
            "checked_sha256": digest.group(1),
            "effective_from": later.isoformat(),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == URL
    assert CodeVersion.objects.count() == before + 1
    stored = CodeVersion.objects.get(provider__slug="v4voip", version="2.0")
    assert stored.effective_from == later
    assert stored.content == text
    assert stored.sha256 == code_digest(text)
    assert stored.activated_by == User.objects.get(username="v4voip-admin")

    page = client.get(URL).content.decode()
    assert "Version 2.0 of the code is activated: it takes effect on" in page
    assert f"Takes effect on {later.day} {later:%B %Y}" in page
    # The version in force is still the old one until then.
    old = CodeVersion.objects.get(provider__slug="v4voip", effective_from=date(2024, 1, 1))
    in_force_today = page[: page.index("All versions")]
    assert old.sha256 in in_force_today
    assert stored.sha256 not in in_force_today
    assert CodeVersion.objects.filter(provider__slug="iss").count() == 1


def test_a_version_activated_today_is_in_force(client: Client, demo: None) -> None:
    signed_in(client, "v4voip-admin")
    text = candidate("3.0")
    response = client.post(
        NEW,
        {
            "action": "activate",
            "content": text,
            "checked_sha256": code_digest(text),
            "effective_from": today().isoformat(),
        },
    )
    assert response.status_code == 302
    page = client.get(URL).content.decode()
    assert "it is in force from today" in page
    stored = CodeVersion.objects.get(provider__slug="v4voip", version="3.0")
    assert stored.sha256 in page[: page.index("All versions")]
    published = client.get("/staff/code/published.html").content.decode()
    assert "Version 3.0" in published
    assert "DRAFT" not in published


def test_an_effective_date_in_the_past_is_refused(client: Client, demo: None) -> None:
    before = CodeVersion.objects.count()
    text = candidate()
    yesterday = today() - timedelta(days=1)
    response = signed_in(client, "v4voip-admin").post(
        NEW,
        {
            "action": "activate",
            "content": text,
            "checked_sha256": code_digest(text),
            "effective_from": yesterday.isoformat(),
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#effective_from"' in html
    assert "today" in html and "or later" in html
    assert f'value="{yesterday.isoformat()}"' in html  # what was typed is kept
    assert CodeVersion.objects.count() == before


def test_a_code_with_errors_cannot_be_activated(client: Client, demo: None) -> None:
    before = CodeVersion.objects.count()
    text = (CODES / "v4voip.toml").read_text()
    signed_in(client, "v4voip-admin")
    checked = client.post(NEW, {"action": "check", "content": text})
    assert checked.status_code == 200
    assert "<caption>Errors (4)" in checked.content.decode()
    assert 'value="activate"' not in checked.content.decode()
    response = client.post(
        NEW,
        {
            "action": "activate",
            "content": text + "\n# changed\n",
            "checked_sha256": code_digest(text + "\n# changed\n"),
            "effective_from": today().isoformat(),
        },
    )
    assert response.status_code == 400
    assert "4 errors: fix them before activating it" in response.content.decode()
    assert CodeVersion.objects.count() == before


def test_a_text_changed_since_it_was_checked_is_not_activated(client: Client, demo: None) -> None:
    before = CodeVersion.objects.count()
    response = signed_in(client, "v4voip-admin").post(
        NEW,
        {
            "action": "activate",
            "content": candidate("2.1"),
            "checked_sha256": code_digest(candidate("2.0")),
            "effective_from": today().isoformat(),
        },
    )
    assert response.status_code == 400
    assert "changed since it was checked" in response.content.decode()
    assert CodeVersion.objects.count() == before


def test_the_same_text_and_date_twice_is_refused(demo: None) -> None:
    admin, now, text = actor("v4voip-admin"), timezone.now(), candidate()
    when = today() + timedelta(days=3)
    version = code_candidate_activate(
        actor=admin, content=text, effective_from=when, checked_sha256=code_digest(text), now=now
    )
    assert version.effective_from == when
    with pytest.raises(CaseError) as refused:
        code_candidate_activate(
            actor=admin,
            content=text,
            effective_from=when,
            checked_sha256=code_digest(text),
            now=now,
        )
    assert refused.value.field == "content"


def test_a_file_is_checked_and_its_text_kept(client: Client, demo: None) -> None:
    before = CodeVersion.objects.count()
    upload = SimpleUploadedFile("v4voip-2.toml", candidate().encode(), "application/toml")
    response = signed_in(client, "v4voip-admin").post(
        NEW, {"action": "check", "content": "", "file": upload}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "0 errors and 19 warnings" in html
    assert "Customer Line" in html  # the file's text is now in the box
    assert CodeVersion.objects.count() == before

    broken = SimpleUploadedFile("broken.toml", b"format = 1\n[code\n", "application/toml")
    response = client.post(NEW, {"action": "check", "file": broken})
    assert response.status_code == 400
    assert 'href="#file"' in response.content.decode()
    assert "broken.toml is not valid TOML" in response.content.decode()

    latin = SimpleUploadedFile("latin.toml", "name = 'caf\xe9'".encode("latin-1"), "text/plain")
    response = client.post(NEW, {"action": "check", "file": latin})
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()


# --------------------------------------------------------------------------- in a browser


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_administrator_checks_and_activates_a_new_version(web_server: str, page: Any) -> None:
    from amends.core.demo import demo_load

    demo_load()
    before = CodeVersion.objects.filter(provider__slug="v4voip").count()
    browser_sign_in(page, web_server, "v4voip-admin", next_path=URL)
    expect(page.get_by_role("heading", level=1)).to_have_text("Code of Practice")
    expect(page.get_by_role("table", name="Errors (4)")).to_be_visible()
    assert_accessible(page)
    shot(page, "code")

    page.get_by_role("link", name="Upload a new version").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New version of the code")
    assert_accessible(page)

    # A broken text first: the summary names the path to the bad value.
    page.get_by_label("The code's TOML text").fill(candidate().replace('"6 weeks"', '"6 wks"'))
    page.get_by_role("button", name="Check").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("adr.after")
    assert_accessible(page)
    shot(page, "code_new_error")
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("The code's TOML text")).to_be_focused()

    # The changed code: checked, its warnings shown, nothing stored.
    page.get_by_label("The code's TOML text").fill(candidate("2.0"))
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("0 errors and 19 warnings")).to_be_visible()
    expect(page.get_by_role("table", name="Warnings (19)")).to_be_visible()
    assert CodeVersion.objects.filter(provider__slug="v4voip").count() == before
    assert_accessible(page)
    shot(page, "code_new_checked")

    later = today() + timedelta(days=14)
    page.get_by_label("Date it takes effect").fill(later.isoformat())
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Code of Practice")
    expect(page.get_by_role("status")).to_contain_text("Version 2.0 of the code is activated")
    history = page.get_by_role("table", name=re.compile("Versions of the code"))
    row = history.get_by_role("row").filter(has_text="2.0")
    expect(row).to_contain_text(f"Takes effect on {later.day} {later:%B %Y}")
    expect(history.get_by_role("cell", name="In force", exact=True)).to_have_count(1)
    assert_accessible(page)
    shot(page, "code_activated")
    stored = CodeVersion.objects.get(provider__slug="v4voip", version="2.0")
    assert stored.effective_from == later
