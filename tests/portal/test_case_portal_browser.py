"""The customer's case page in a real browser against ``amends serve``: follow the link,
reply with a file, reject a proposal made through the console's service, ask to escalate,
ask for the ADR letter and download it; axe-core on every state of the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from amends.cases import actions
from amends.cases.actors import system_actor
from amends.cases.models import Case, Event
from amends.comms.models import InboundAttachment, InboundMessage, OutboxMessage
from amends.domain.codes import CaseKind, ChannelType
from amends.domain.lifecycle import Action
from tests.cases.conftest import World, make_world
from tests.conftest import assert_accessible

SHOTS = Path("/tmp/amends-shots")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"portal-{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_customer_follows_their_case_through_its_link(web_server: str, page: Any) -> None:
    world: World = make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")
    now = timezone.now()
    customer = actions.customer_create(
        provider=world.provider,
        now=now,
        contact_name="Pat Example",
        email="pat@example.com",
        preferred_contact="email",
    )
    case = actions.case_open(
        provider=world.provider,
        customer=customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.WEB_FORM,
        first_received_at=now,
        summary="Calls drop every evening",
        now=now,
        actor=system_actor(world.provider.pk),
        link_url_for=lambda t: f"/v4voip/case/{t}/",
    )
    url = f"{web_server}/v4voip/case/{case.link_token}/"  # type: ignore[attr-defined]

    # The link from the acknowledgement.
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    expect(page.locator("#state")).to_have_text("We have received it.")
    expect(page.locator("#next-steps")).to_contain_text(" on ")
    expect(page.locator("#scheme-contacts")).to_be_visible()
    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    expect(page.locator("#letters").get_by_role("link")).to_have_text(f"{ack.subject} (PDF)")
    assert_accessible(page)
    shot(page, "1-opened")

    # A file of the wrong kind: the error summary, linked to its field.
    page.get_by_label("Your message").fill("Here is my bill.")
    page.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}]
    )
    page.get_by_role("button", name="Send message").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("must be a PDF, JPEG, PNG or plain text")
    expect(page.locator("#reply-files-error")).to_be_visible()
    assert_accessible(page)
    shot(page, "2-upload-refused")
    summary.get_by_role("link").click()
    expect(page.locator("#reply-files")).to_be_focused()
    assert not InboundMessage.objects.exists()

    # A reply with a file.
    page.get_by_label("Your message").fill("Here is my bill.")
    page.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "bill.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("status")).to_contain_text("Your message has been sent")
    expect(page.locator("#writings")).to_contain_text("Here is my bill.")
    expect(page.locator("#writings")).to_contain_text("bill.pdf")
    inbound = InboundMessage.objects.get(case=case)
    assert inbound.source == "portal"
    assert InboundAttachment.objects.get(message=inbound).filename == "bill.pdf"

    # A handler proposes a resolution in the console (its service); the customer rejects it.
    world.act(case, Action.PROPOSE_RESOLUTION, timezone.now(), proposal="A credit of £5")
    page.reload()
    expect(page.get_by_role("heading", name="How we propose to put things right")).to_be_visible()
    expect(page.get_by_text("A credit of £5")).to_be_visible()
    assert_accessible(page)
    shot(page, "3-proposal")
    page.get_by_label("If you do not accept it, tell us why (optional)").fill("Too little")
    page.get_by_role("button", name="Reject this resolution").click()
    expect(page.get_by_role("status")).to_contain_text("You have rejected")
    expect(page.get_by_role("button", name="Reject this resolution")).to_have_count(0)
    rejected = Event.objects.get(case=case, kind="reject_resolution")
    assert rejected.data["how"] == "portal"

    # Escalation asked.
    page.get_by_label("Why do you want it escalated?").fill("Nobody has called me back")
    page.get_by_role("button", name="Ask to escalate").click()
    expect(page.get_by_role("status")).to_contain_text("escalated")
    assert Case.objects.get(pk=case.pk).escalation_level == 1
    assert_accessible(page)
    shot(page, "4-escalated")

    # The ADR letter: asked for, on the page at once, downloaded.
    page.get_by_role("button", name="Ask for your ADR letter").click()
    expect(page.get_by_role("status")).to_contain_text("Your ADR letter is ready")
    link = page.get_by_role("link", name="Your ADR letter (PDF)")
    expect(link).to_be_visible()
    assert_accessible(page)
    shot(page, "5-adr-letter")
    href = link.get_attribute("href")
    assert href is not None
    download = page.request.get(f"{web_server}{href}")
    assert download.status == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["cache-control"] == "no-store"
    assert download.body().startswith(b"%PDF")
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert href.endswith(f"/letters/{letter.pk}.pdf")

    # A link that does not work, and the page that sends a new one.
    page.goto(f"{web_server}/v4voip/case/{'x' * 43}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    assert_accessible(page)
    shot(page, "6-not-found")
    page.get_by_role("link", name="Ask for a new link to your case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Get a new link to your case")
    page.get_by_role("button", name="Send me a new link").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Case reference").fill(case.reference)
    page.get_by_label("Email address").fill("PAT@example.com")
    page.get_by_role("button", name="Send me a new link").click()
    expect(page.get_by_role("status")).to_contain_text("If these match a case")
    assert_accessible(page)
    shot(page, "7-link-sent")
    assert OutboxMessage.objects.filter(case=case, kind="case_link").count() == 1
