"""A complaints team's day in a real browser: Debian's Chromium through Playwright, against
``amends serve`` on the test database. Playwright's ``expect`` waits for the page to get
there; nothing reads a snapshot right after an action."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from amends.cases.models import Case
from tests.console.conftest import assert_accessible, browser_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/amends-shots")


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def action(page: Any, key: str) -> Any:
    """Open the action's form (a <details> on the case page) and return it."""
    form = page.locator(f"details#{key}")
    form.locator("summary").click()
    return form


def test_a_call_logged_by_an_adviser_is_resolved_and_closed_by_a_handler(
    demo: None, web_server: str, page: Any, browser: Any
) -> None:
    browser_sign_in(page, web_server, "v4voip-adviser")
    # An adviser with no case of their own starts on the cases nobody has yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Unassigned")
    assert_accessible(page)
    shot(page, "console-queues")

    page.get_by_role("link", name="New case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New case from a call or a letter")
    assert_accessible(page)
    shot(page, "console-new-case")
    page.get_by_label("What kind of case").select_option("complaint")
    page.get_by_label("How it reached us").select_option("phone")
    page.get_by_label("In a few words").fill("Broadband drops every evening")
    page.get_by_label("Name", exact=True).fill("Alex Caller")
    page.get_by_label("Company name (optional)").fill("Caller Plumbing Ltd")
    page.get_by_label("Phone (optional)").fill("01495 111222")
    page.get_by_label("How they want to hear from us").select_option("phone")
    page.get_by_label("I did this check").check()
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator(".notice")).to_contain_text("opened")
    reference = Case.objects.get(summary="Broadband drops every evening").reference
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    expect(page.locator("#needs-title")).to_have_text("How to reach Alex Caller")
    assert_accessible(page)
    shot(page, "console-case-new")

    form = action(page, "assign")
    handler_user = User.objects.get(username="v4voip-case_handler")
    form.get_by_label("Handler").select_option(str(handler_user.pk))
    form.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator(".notice")).to_contain_text("Assign a handler: done.")

    handler = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
    try:
        browser_sign_in(handler, web_server, "v4voip-case_handler")
        expect(handler.get_by_role("link", name=reference)).to_be_visible()
        handler.get_by_role("link", name=reference).click()
        form = action(handler, "propose_resolution")
        form.get_by_label("What we propose").fill("A new router and a £20 credit.")
        form.get_by_role("button", name="Send the proposal").click()
        expect(handler.locator(".tag").nth(1)).to_have_text("Resolution proposed")
        form = action(handler, "accept_resolution")
        form.get_by_label("Who told us").fill("Alex Caller")
        form.get_by_label("How they told us").select_option("phone")
        form.get_by_role("button", name="Record acceptance").click()
        expect(handler.locator(".tag").nth(1)).to_have_text("Resolved (customer accepted)")
        action(handler, "close").get_by_role("button", name="Close the case").click()
        expect(handler.locator(".tag").nth(1)).to_have_text("Closed")
        expect(handler.locator(".timeline")).to_contain_text("Closed")
        assert_accessible(handler)
        shot(handler, "console-case-closed")
    finally:
        handler.context.close()
    case = Case.objects.get(reference=reference)
    assert (case.state, case.acceptance_by, case.acceptance_how) == (
        "closed",
        "Alex Caller",
        "phone",
    )


def test_a_stale_page_shows_why_it_was_refused(
    demo: None, web_server: str, page: Any, browser: Any
) -> None:
    case = Case.objects.filter(provider__slug="v4voip", state="investigating").get()
    browser_sign_in(page, web_server, "v4voip-case_handler")
    page.goto(f"{web_server}/staff/cases/{case.reference}/")
    other = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
    try:
        browser_sign_in(other, web_server, "v4voip-manager")
        other.goto(f"{web_server}/staff/cases/{case.reference}/")
        form = action(other, "escalate")
        form.get_by_label("Why").fill("The customer asked for a manager.")
        form.get_by_role("button", name="Escalate", exact=True).click()
        expect(other.locator(".notice")).to_contain_text("Escalate: done.")
    finally:
        other.context.close()
    form = action(page, "propose_resolution")
    form.get_by_label("What we propose").fill("An apology.")
    form.get_by_role("button", name="Send the proposal").click()
    expect(page.get_by_role("alert")).to_contain_text("Someone else changed this case")
    assert_accessible(page)
    shot(page, "console-case-stale")
    case.refresh_from_db()
    assert case.state == "escalated"


def test_search_and_a_mistyped_reference_in_the_browser(
    demo: None, web_server: str, page: Any
) -> None:
    case = Case.objects.filter(provider__slug="v4voip", state="assigned").get()
    browser_sign_in(page, web_server, "v4voip-manager")
    wrong = case.reference[:-1] + ("A" if case.reference[-1] != "A" else "B")
    page.get_by_label("Find a case").fill(wrong)
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("typing mistake")
    page.get_by_role("link", name=case.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    assert_accessible(page)


def test_the_deadlock_path_puts_the_adr_letter_in_the_print_queue(
    demo: None, web_server: str, page: Any
) -> None:
    from amends.cases.models import Customer
    from amends.comms.models import OutboxMessage

    case = Case.objects.filter(provider__slug="v4voip", state="investigating").get()
    Customer.objects.filter(pk=case.customer_id).update(
        preferred_contact="letter",
        postal_address="7 Station Road\nEbbw Vale\nNP23 6HB",
        access_needs=["large_print"],
    )
    browser_sign_in(page, web_server, "v4voip-case_handler")
    page.goto(f"{web_server}/staff/cases/{case.reference}/")
    expect(page.locator(".panel-needs")).to_contain_text("Large print")
    form = action(page, "declare_deadlock")
    form.get_by_label("Our final position").fill("The charges are correct under the contract.")
    form.get_by_label("An offer that stays open (optional)").fill("A £15 goodwill credit.")
    form.get_by_role("button", name="Record deadlock and issue the ADR letter").click()
    expect(page.locator(".tag").nth(1)).to_have_text("ADR letter issued")
    expect(page.locator(".timeline")).to_contain_text("ADR letter")
    shot(page, "console-case-deadlock")
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert (letter.channel, letter.status, letter.formats) == ("post", "queued", ["large_print"])

    page.get_by_role("link", name="Letters to post").click()
    expect(page.get_by_role("link", name=case.reference)).to_be_visible()
    assert_accessible(page)
    shot(page, "console-print-queue-adr")


def test_a_letter_entered_three_days_after_it_arrived_counts_from_its_arrival(
    demo: None, web_server: str, page: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from amends.domain.obligations import LONDON

    arrived = (
        (timezone.now() - timedelta(days=3))
        .astimezone(LONDON)
        .replace(hour=9, minute=30, second=0, microsecond=0)
    )
    browser_sign_in(page, web_server, "v4voip-adviser")
    page.get_by_role("link", name="New case").click()
    page.get_by_label("How it reached us").select_option("post")
    page.get_by_label("When the call was taken or the letter arrived").fill(
        arrived.strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("In a few words").fill("Letter about a double charge")
    page.get_by_label("Name", exact=True).fill("Jo Writer")
    page.get_by_label("Postal address (optional)").fill("3 Market Street\nEbbw Vale\nNP23 6HC")
    page.get_by_label("How they want to hear from us").select_option("letter")
    page.get_by_role("button", name="Open the case").click()
    # More than an hour ago: the form asks why, keeps what was typed, links the field.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Say why the case is entered later")
    assert_accessible(page)
    summary.get_by_role("link").click()
    expect(page.get_by_label("Why it is entered later (optional)")).to_be_focused()
    expect(page.get_by_label("In a few words")).to_have_value("Letter about a double charge")
    page.get_by_label("Why it is entered later (optional)").fill("letter arrived Friday")
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator(".notice")).to_contain_text("opened")
    case = Case.objects.get(summary="Letter about a double charge")
    assert case.first_received_at == arrived
    expect(page.locator("main")).to_contain_text(
        f"{arrived:%a} {arrived.day} {arrived:%b} {arrived:%Y}, 09:30"
    )
    shot(page, "console-letter-entered-later")


def test_an_existing_customer_is_found_as_the_adviser_types(
    demo: None, web_server: str, page: Any
) -> None:
    known = Case.objects.filter(provider__slug="v4voip", state="assigned").get().customer
    browser_sign_in(page, web_server, "v4voip-adviser")
    page.get_by_role("link", name="New case").click()
    page.get_by_label("Find an existing customer").fill(known.contact_name)
    choice = page.get_by_role("radio", name=re.compile(re.escape(known.contact_name)))
    expect(choice).to_be_visible()  # swapped in by htmx, no page load
    choice.check()
    page.get_by_label("How it reached us").select_option("phone")
    page.get_by_label("In a few words").fill("Calling again about the same line")
    page.get_by_role("button", name="Open the case").click()
    expect(page.locator(".notice")).to_contain_text("opened")
    assert Case.objects.get(summary="Calling again about the same line").customer_id == known.pk
    assert_accessible(page)
