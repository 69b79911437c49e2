"""A customer's whole way through, in a real browser against ``amends serve``: the public form,
the acknowledgement delivered over SMTP to a real test server, the private link in it, and the
ADR letter asked for and downloaded."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from amends.cases.models import Case
from amends.comms.sender import outbox_email_sweep
from amends.core.demo import demo_load
from tests.comms.conftest import SmtpServer, smtp_server  # noqa: F401 (a fixture)
from tests.portal.test_public_browser import assert_accessible, fill_complaint_with_mouse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_complaint_filed_online_reaches_its_adr_letter_through_the_emailed_link(
    web_server: str,
    page: Any,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    demo_load()
    fill_complaint_with_mouse(page, web_server, check=False)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Complaint sent")).to_be_visible()
    case = Case.objects.latest("pk")

    # The worker's email sweep delivers the acknowledgement to the SMTP server.
    assert outbox_email_sweep(timezone.now()) >= 1
    mails = [r for r in smtp_server.handler.received if case.reference in str(r.message["Subject"])]
    assert len(mails) == 1
    body = mails[0].message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    found = re.search(r"https?://\S+/v4voip/case/[\w-]+/", text)
    assert found is not None, text

    page.goto(found.group(0))
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.reference)
    page.get_by_role("button", name="Ask for your ADR letter").click()
    expect(page.get_by_role("status")).to_contain_text("Your ADR letter is ready")
    link = page.get_by_role("link", name="Your ADR letter (PDF)")
    expect(link).to_be_visible()
    assert_accessible(page)
    href = link.get_attribute("href")
    assert href is not None
    pdf = page.request.get(f"{web_server}{href}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    case.refresh_from_db()
    assert case.adr_letter_trigger == "customer_request"
