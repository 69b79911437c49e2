"""The mailroom: letters to post, calls to make, mail that needs a person, messages that were
not delivered. Each page lists its provider's items only; another provider's letter or message
is not found, on a download and on a form; each form does what its service says."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from amends.cases.actions import case_open
from amends.cases.actors import actor_for_staff
from amends.cases.events import Event
from amends.cases.models import Case, Customer
from amends.comms.intake import ingest
from amends.comms.models import InboundMessage, OutboxChannel, OutboxMessage
from amends.domain.codes import CaseKind, ChannelType
from amends.providers.models import Provider
from tests.console.conftest import assert_accessible, browser_sign_in, signed_in

EML = Path(__file__).parent.parent / "comms" / "eml"
SHOTS = Path("/tmp/amends-shots")


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Path) -> None:
    """Files through the storage API into this test's directory: the same one the
    ``web_server`` fixture's server uses (its AMENDS_VAR_DIR is ``tmp_path / "var"``)."""
    settings.MEDIA_ROOT = tmp_path / "var" / "files"


# --------------------------------------------------------------------------- given


def letters(slug: str) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            provider__slug=slug, channel=OutboxChannel.POST, status="queued", audience="customer"
        ).select_related("case")
    )


def call_task(slug: str) -> OutboxMessage:
    """A customer who prefers the phone opens a complaint: its acknowledgement is a call."""
    provider = Provider.objects.get(slug=slug)
    customer = Customer.objects.filter(provider=provider).order_by("pk").first()
    assert customer is not None
    Customer.objects.filter(pk=customer.pk).update(preferred_contact="phone", phone="020 7946 0018")
    customer.refresh_from_db()
    now = timezone.now()
    actor = actor_for_staff(User.objects.get(username=f"{slug}-manager"))
    case = case_open(
        provider=provider,
        customer=customer,
        kind=CaseKind.COMPLAINT,
        channel=ChannelType.EMAIL,
        first_received_at=now,
        summary="Calls drop after a minute",
        now=now,
        actor=actor,
    )
    return OutboxMessage.objects.get(case=case, channel=OutboxChannel.PHONE)


def received(slug: str, name: str, mailbox: str | None = None) -> InboundMessage:
    _stored, row = ingest(
        raw=(EML / name).read_bytes(), provider_slug=slug, mailbox_kind=mailbox, now=timezone.now
    )
    assert row is not None
    return row


def quarantined(slug: str) -> InboundMessage:
    row = received(slug, "broken_mime.eml")
    assert row.status == "quarantined"
    return row


def not_delivered(slug: str, *, status: str = "dead") -> OutboxMessage:
    message = (
        OutboxMessage.objects.filter(provider__slug=slug, channel="email", status="queued")
        .exclude(case=None)
        .order_by("pk")
        .first()
    )
    assert message is not None
    message.status = status
    message.attempts = 30 if status == "dead" else 3
    message.sent_at = None
    message.next_attempt_at = timezone.now() + timedelta(minutes=4)
    message.last_error = "SMTPRecipientsRefused: 550 5.1.1 no such mailbox"
    message.save()
    return message


def staff(client: Client, role: str = "adviser", slug: str = "v4voip") -> Client:
    return signed_in(client, f"{slug}-{role}")


# --------------------------------------------------------------------------- letters


def test_the_print_queue_lists_the_providers_letters_only(demo: None, client: Client) -> None:
    mine, theirs = letters("v4voip"), letters("iss")
    assert mine and theirs
    response = staff(client).get("/staff/post/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1>") == 1
    for message in mine:
        assert message.case.reference in html
        assert f"/staff/post/{message.pk}/letter.pdf" in html
    for message in theirs:
        assert message.case.reference not in html
    assert "Large print" in html and ">Yes<" in html  # the fifth demo customer needs it


def test_a_letter_downloads_as_a_pdf_and_another_providers_is_not_found(
    demo: None, client: Client
) -> None:
    mine, theirs = letters("v4voip")[0], letters("iss")[0]
    response = staff(client).get(f"/staff/post/{mine.pk}/letter.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    mine.refresh_from_db()
    assert mine.document and mine.document_sha256  # stored, with its digest
    assert client.get(f"/staff/post/{theirs.pk}/letter.pdf").status_code == 404
    today = timezone.localdate().isoformat()
    assert client.post(f"/staff/post/{theirs.pk}/posted/", {"posted_on": today}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.document.name) == ("queued", "")


def test_marking_a_letter_posted_records_its_delivery(demo: None, client: Client) -> None:
    letter = letters("v4voip")[0]
    today = timezone.localdate()
    response = staff(client).post(
        f"/staff/post/{letter.pk}/posted/", {"posted_on": today.isoformat()}, follow=True
    )
    assert response.redirect_chain == [("/staff/post/", 302)]
    assert f"The letter for case {letter.case.reference} is marked as posted" in (
        response.content.decode()
    )
    letter.refresh_from_db()
    assert letter.status == "sent" and letter.delivered_by.startswith("user:")
    assert Event.objects.filter(
        case=letter.case, kind="message_delivered", data__message=letter.pk
    ).exists()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "Give the date the letter was posted."),
        ("31/02/2026", "as a real date"),
        ("2099-01-01", "cannot be marked posted on a later day"),
    ],
)
def test_a_bad_posting_date_re_renders_the_page_with_the_error_linked(
    demo: None, client: Client, value: str, says: str
) -> None:
    letter = letters("v4voip")[0]
    response = staff(client).post(f"/staff/post/{letter.pk}/posted/", {"posted_on": value})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in html and "There is a problem" in html and says in html
    assert f'href="#posted_on-{letter.pk}"' in html and f'id="posted_on-{letter.pk}"' in html
    assert 'aria-invalid="true"' in html
    letter.refresh_from_db()
    assert letter.status == "queued"


def test_a_role_that_does_not_post_sees_the_page_but_cannot_post(
    demo: None, client: Client
) -> None:
    letter = letters("v4voip")[0]
    response = staff(client, "compliance").get("/staff/post/")
    assert response.status_code == 200
    assert "Your role does not post letters" in response.content.decode()
    response = client.post(
        f"/staff/post/{letter.pk}/posted/", {"posted_on": timezone.localdate().isoformat()}
    )
    assert response.status_code == 403
    assert "may not do this" in response.content.decode()
    letter.refresh_from_db()
    assert letter.status == "queued"


# --------------------------------------------------------------------------- calls


def test_call_tasks_show_the_script_and_a_call_made_is_a_delivery(
    demo: None, client: Client
) -> None:
    mine, theirs = call_task("v4voip"), call_task("iss")
    response = staff(client).get("/staff/calls/")
    html = response.content.decode()
    assert response.status_code == 200
    assert mine.case is not None and theirs.case is not None
    assert mine.case.reference in html and theirs.case.reference not in html
    assert "020 7946 0018" in html and "Introduce yourself" in html
    today = {"called_on": timezone.localdate().isoformat()}
    assert client.post(f"/staff/calls/{theirs.pk}/made/", today).status_code == 404
    bad = client.post(f"/staff/calls/{mine.pk}/made/", {"called_on": "tomorrow"})
    assert bad.status_code == 400 and f'href="#called_on-{mine.pk}"' in bad.content.decode()
    response = client.post(
        f"/staff/calls/{mine.pk}/made/", {"called_on": timezone.localdate().isoformat()}
    )
    assert response.status_code == 302 and response["Location"] == "/staff/calls/"
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("sent", "queued")
    assert Event.objects.filter(case=mine.case, kind="message_delivered").exists()
    assert f"/staff/calls/{mine.pk}/made/" not in client.get("/staff/calls/").content.decode()


# --------------------------------------------------------------------------- mail


def test_the_mail_page_lists_held_and_recognised_emails_of_the_provider_only(
    demo: None, client: Client
) -> None:
    held = quarantined("v4voip")
    quarantined("iss")
    unrouted = received("nobody", "support_request.eml")  # no such provider: unrouted
    assert unrouted.provider_id is None and unrouted.status == "quarantined"
    complaint = received("v4voip", "support_dissatisfied.eml", mailbox="support")
    assert complaint.triggers and complaint.case is not None
    theirs = received("iss", "new_complaint.eml")
    InboundMessage.objects.filter(pk=theirs.pk).update(triggers=[{"rule": "r", "words": "zzq"}])
    html = staff(client).get("/staff/mail/").content.decode()
    assert html.count(f'/staff/mail/{held.pk}/email.eml"') == 1
    assert held.quarantine_reason in html
    assert "Case notes export" in html
    assert complaint.case.reference in html
    assert f"&ldquo;{complaint.triggers[0]['words']}&rdquo;" in html
    assert "zzq" not in html
    assert f"/staff/mail/{unrouted.pk}/" not in html
    # Older than 30 days: no longer listed for checking.
    InboundMessage.objects.filter(pk=complaint.pk).update(
        stored_at=timezone.now() - timedelta(days=31)
    )
    assert complaint.case.reference not in client.get("/staff/mail/").content.decode()


def test_the_raw_email_downloads_as_an_attachment_and_another_providers_is_not_found(
    demo: None, client: Client
) -> None:
    mine, theirs = quarantined("v4voip"), quarantined("iss")
    response = staff(client).get(f"/staff/mail/{mine.pk}/email.eml")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="email-{mine.pk}.eml"'
    assert response.content == (EML / "broken_mime.eml").read_bytes()
    assert client.get(f"/staff/mail/{theirs.pk}/email.eml").status_code == 404
    response = client.post(
        f"/staff/mail/{theirs.pk}/open-case/", {"kind": "complaint", "reason": "it is one"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.case_id is None


def test_staff_open_a_case_from_a_held_email(demo: None, client: Client) -> None:
    row = quarantined("v4voip")
    staff(client)
    missing = client.post(f"/staff/mail/{row.pk}/open-case/", {"kind": "complaint", "reason": ""})
    html = missing.content.decode()
    assert missing.status_code == 400
    assert "Say why this email is opened by hand." in html and f'href="#reason-{row.pk}"' in html
    response = client.post(
        f"/staff/mail/{row.pk}/open-case/",
        {"kind": "complaint", "reason": "the export is the customer's complaint log"},
    )
    row.refresh_from_db()
    assert row.case is not None and row.status == "opened"
    assert response.status_code == 302
    assert response["Location"] == f"/staff/cases/{row.case.reference}/"
    assert row.case.provider.slug == "v4voip" and row.case.kind == "complaint"
    assert f"/staff/mail/{row.pk}/email.eml" not in client.get("/staff/mail/").content.decode()


def test_a_held_email_can_be_opened_for_a_customer_by_account_number(
    demo: None, client: Client
) -> None:
    row = quarantined("v4voip")
    customer = Customer.objects.filter(provider__slug="v4voip").exclude(account_number="").first()
    other = Customer.objects.filter(provider__slug="iss").exclude(account_number="").first()
    assert customer is not None and other is not None
    staff(client)
    url = f"/staff/mail/{row.pk}/open-case/"
    form = {"kind": "support_request", "reason": "their IT firm's export"}
    unknown = client.post(url, {**form, "account_number": other.account_number})
    assert unknown.status_code == 400
    assert f'href="#account_number-{row.pk}"' in unknown.content.decode()
    client.post(url, {**form, "account_number": customer.account_number})
    row.refresh_from_db()
    assert row.case is not None and row.case.customer_id == customer.pk


# --------------------------------------------------------------------------- not delivered


def test_failed_messages_list_the_providers_and_a_dead_one_is_queued_again(
    demo: None, client: Client
) -> None:
    dead = not_delivered("v4voip")
    retrying = not_delivered("iss", status="failed")
    theirs_dead = not_delivered("iss")
    failing = not_delivered("v4voip", status="failed")
    html = staff(client).get("/staff/failed/").content.decode()
    assert f"/staff/failed/{dead.pk}/retry/" in html
    assert f"/staff/failed/{failing.pk}/retry/" not in html and "will retry at" in html
    assert "no such mailbox" in html
    assert f"/staff/failed/{theirs_dead.pk}/" not in html
    assert dead.case is not None and retrying.case is not None
    assert dead.case.reference in html and retrying.case.reference not in html

    assert client.post(f"/staff/failed/{theirs_dead.pk}/retry/").status_code == 404
    refused = client.post(f"/staff/failed/{failing.pk}/retry/")
    assert refused.status_code == 400 and "stopped trying" in refused.content.decode()

    response = client.post(f"/staff/failed/{dead.pk}/retry/", follow=True)
    assert response.redirect_chain == [("/staff/failed/", 302)]
    assert "queued to be sent again" in response.content.decode()
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("queued", 0)
    assert dead.next_attempt_at <= timezone.now()
    assert "no such mailbox" in dead.last_error
    note = Event.objects.get(case=dead.case, kind="note_added", data__message=dead.pk)
    assert note.data["requeued"] is True and note.data["attempts"] == 30
    assert "no such mailbox" in note.data["last_error"]
    theirs_dead.refresh_from_db()
    assert theirs_dead.status == "dead"


def test_the_compliance_lead_may_view_but_not_retry(demo: None, client: Client) -> None:
    dead = not_delivered("v4voip")
    response = staff(client, "compliance").get("/staff/failed/")
    assert response.status_code == 200
    assert f"/staff/failed/{dead.pk}/retry/" not in response.content.decode()
    assert client.post(f"/staff/failed/{dead.pk}/retry/").status_code == 403
    for url in ("/staff/post/", "/staff/calls/", "/staff/mail/"):
        assert client.get(url).status_code == 200
    dead.refresh_from_db()
    assert dead.status == "dead"


def test_someone_not_on_a_providers_staff_is_turned_away(demo: None, client: Client) -> None:
    signed_in(client, "admin")
    for url in ("/staff/post/", "/staff/calls/", "/staff/mail/", "/staff/failed/"):
        assert client.get(url).status_code == 403
    client.logout()
    assert client.get("/staff/post/").status_code == 302


# --------------------------------------------------------------------------- in a browser


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_letter_marked_posted_in_the_browser_leaves_the_queue(web_server: str, page: Any) -> None:
    from amends.core.demo import demo_load

    demo_load()
    letter = letters("v4voip")[0]
    reference = letter.case.reference
    browser_sign_in(page, web_server, "v4voip-adviser", next_path="/staff/post/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Letters to post")
    row = page.get_by_role("row").filter(has_text=reference).first
    expect(row.get_by_role("link", name="Download the letter (PDF)")).to_be_visible()
    assert_accessible(page)
    shot(page, "print_queue")

    # A date in the future: the page says so, linked to the field.
    row.get_by_label("Posted on").fill("2099-01-01")
    row.get_by_role("button", name="Mark as posted").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("cannot be marked posted on a later day")
    summary.get_by_role("link").click()
    expect(page.locator(f"#posted_on-{letter.pk}")).to_be_focused()
    assert_accessible(page)
    shot(page, "print_queue_error")

    row = page.get_by_role("row").filter(has_text=reference).first
    row.get_by_label("Posted on").fill(timezone.localdate().isoformat())
    row.get_by_role("button", name="Mark as posted").click()
    expect(page.get_by_role("status")).to_contain_text(f"The letter for case {reference}")
    expect(page.get_by_role("row").filter(has_text=reference)).to_have_count(0)
    letter.refresh_from_db()
    assert letter.status == "sent" and letter.document_sha256
    assert Event.objects.filter(
        case=letter.case, kind="message_delivered", data__message=letter.pk
    ).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_mailroom_page_reads_well_and_passes_axe(web_server: str, page: Any) -> None:
    from amends.core.demo import demo_load

    demo_load()
    call = call_task("v4voip")
    held = quarantined("v4voip")
    received("v4voip", "support_dissatisfied.eml", mailbox="support")
    dead = not_delivered("v4voip")
    browser_sign_in(page, web_server, "v4voip-adviser", next_path="/staff/calls/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Calls to make")
    assert call.case is not None
    expect(page.get_by_role("heading", level=2).first).to_contain_text(call.case.reference)
    assert_accessible(page)
    shot(page, "call_tasks")

    page.goto(f"{web_server}/staff/mail/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mail that needs a person")
    expect(page.get_by_role("table")).to_contain_text("fed up")
    assert_accessible(page)
    shot(page, "mail")
    section = page.locator("section").filter(has_text="Case notes export")
    section.get_by_label("Kind of case").select_option("complaint")
    section.get_by_label("Why you are opening it by hand").fill("the customer's complaint log")
    section.get_by_role("button", name="Open a case from this message").click()
    expect(page.get_by_role("status")).to_contain_text("is open with the email on it")
    held.refresh_from_db()
    assert held.case is not None
    expect(page.get_by_role("heading", level=1)).to_contain_text(held.case.reference)

    page.goto(f"{web_server}/staff/failed/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages not delivered")
    assert_accessible(page)
    shot(page, "failed")
    page.get_by_role("button", name="Try again").first.click()
    expect(page.get_by_role("status")).to_contain_text("queued to be sent again")
    dead.refresh_from_db()
    assert dead.status == "queued"
    assert Case.objects.filter(pk=dead.case_id).exists()
