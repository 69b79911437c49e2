"""The public pages in a real browser against ``amends serve``: a complaint filed with the mouse
and with the keyboard only, axe-core on every page, and a screenshot of each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from amends.cases.models import Case
from amends.comms.models import OutboxMessage
from amends.core.demo import demo_load
from tests.conftest import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/amends-shots")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"public-{name}.png"), full_page=True)


def fill_complaint_with_mouse(page: Any, base: str, *, check: bool = True) -> None:
    page.goto(f"{base}/v4voip/")
    if check:
        assert_accessible(page)
        shot(page, "home")
    page.get_by_role("link", name="Make a complaint").click()
    expect(page.get_by_role("heading", name="Tell us about your complaint")).to_be_visible()
    expect(page.get_by_text("We aim to resolve it by")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "about")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "about-errors")
    page.get_by_role("link", name="Say in a few words what it is about.").click()
    expect(page.get_by_label("In a few words, what is it about?")).to_be_focused()
    page.get_by_label("In a few words, what is it about?").fill("Line keeps dropping")
    page.get_by_label("Tell us what happened").fill("Calls drop after a minute since 3 March.")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Are you acting for someone else?")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "representative")
    page.get_by_label("No, it is about my own account").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "you")
    page.get_by_label("Your full name").fill("Priya Shah")
    page.get_by_label("Business name (if any)").fill("Shah Dental")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="How can we contact you?")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "contact")
    page.get_by_label("Email address").fill("priya@shah-dental.example")
    page.get_by_label("By email").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Your accessibility needs")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "needs")
    page.get_by_label("Letters in large print").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name=re.compile("Check your answers"))).to_be_visible()
    expect(page.get_by_text("Priya Shah")).to_be_visible()
    if check:
        assert_accessible(page)
        shot(page, "check")


def test_file_a_complaint_with_the_mouse(web_server: str, page: Any) -> None:
    demo_load()
    before = Case.objects.count()
    fill_complaint_with_mouse(page, web_server)
    # Change one answer from check-your-answers.
    page.get_by_role("link", name="Change your name").click()
    expect(page.get_by_label("Your full name")).to_have_value("Priya Shah")
    page.get_by_label("Your full name").fill("Priya Patel")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Priya Patel")).to_be_visible()
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", name="Complaint sent")).to_be_visible()
    case = Case.objects.select_related("customer").latest("pk")
    assert Case.objects.count() == before + 1
    assert case.customer.contact_name == "Priya Patel"
    assert case.channel == "web_form"
    expect(page.locator(".reference")).to_have_text(case.reference)
    expect(page.get_by_text("We have sent you an email confirming this")).to_be_visible()
    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    token = re.search(r"/v4voip/case/([\w-]+)/", ack.body_text)
    assert token is not None
    assert token.group(1) not in page.content()
    assert_accessible(page)
    shot(page, "sent")


def test_file_a_complaint_with_the_keyboard_only(web_server: str, page: Any) -> None:
    demo_load()
    before = Case.objects.count()
    page.goto(f"{web_server}/v4voip/complaint/")

    def tab_to(locator: Any, limit: int = 25) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if locator.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"never reached {locator}")

    def cont() -> None:
        tab_to(page.get_by_role("button", name="Continue"))
        page.keyboard.press("Enter")

    tab_to(page.get_by_label("In a few words, what is it about?"))
    page.keyboard.type("No dial tone")
    page.keyboard.press("Tab")
    page.keyboard.type("Since Monday there is no dial tone on our main line.")
    cont()
    expect(page.get_by_role("heading", name="Are you acting for someone else?")).to_be_visible()
    tab_to(page.get_by_label("No, it is about my own account"))
    page.keyboard.press("Space")
    expect(page.get_by_label("No, it is about my own account")).to_be_checked()
    cont()
    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    tab_to(page.get_by_label("Your full name"))
    page.keyboard.type("Keyboard User")
    cont()
    expect(page.get_by_role("heading", name="How can we contact you?")).to_be_visible()
    tab_to(page.get_by_label("Email address"))
    page.keyboard.type("keys@example.org")
    tab_to(page.get_by_label("By email"))
    page.keyboard.press("Space")
    cont()
    expect(page.get_by_role("heading", name="Your accessibility needs")).to_be_visible()
    tab_to(page.get_by_label("Calls through Relay UK (text relay)"))
    page.keyboard.press("Space")
    cont()
    expect(page.get_by_role("heading", name=re.compile("Check your answers"))).to_be_visible()
    tab_to(page.get_by_role("button", name="Send"), limit=40)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Complaint sent")).to_be_visible()
    assert Case.objects.count() == before + 1
    case = Case.objects.select_related("customer").latest("pk")
    assert case.customer.access_needs == ["relay_uk"]


def test_published_code_and_other_kinds_are_accessible(web_server: str, page: Any) -> None:
    demo_load()
    page.goto(f"{web_server}/v4voip/code/")
    expect(page.get_by_role("link", name="Download the code as a PDF")).to_be_visible()
    assert_accessible(page)
    shot(page, "code")
    page.goto(f"{web_server}/v4voip/support/")
    expect(
        page.get_by_text("Do you have a support and maintenance contract with us?")
    ).to_be_visible()
    assert_accessible(page)
    shot(page, "support")
    page.goto(f"{web_server}/iss/")
    assert_accessible(page)
    shot(page, "iss-home")
    page.goto(f"{web_server}/iss/complaint/")
    assert_accessible(page)
    shot(page, "iss-about")
