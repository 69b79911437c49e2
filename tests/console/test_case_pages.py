"""The console's queues, search and case page, through Django's test client (the browser
journeys are in test_journeys.py)."""

from __future__ import annotations

from django.test import Client

from amends.cases.models import Case
from tests.console.conftest import signed_in

# (No module-wide django_db mark: each test asks for the database through its fixtures, so
# that the demo is loaded once for the module; see tests/console/conftest.py.)


def v4voip_case(state: str) -> Case:
    return (
        Case.objects.filter(provider__slug="v4voip", state=state).select_related("customer").get()
    )


def test_queues_count_and_list_only_the_providers_cases(demo: None, client: Client) -> None:
    signed_in(client, "v4voip-case_handler")
    page = client.get("/staff/?queue=open").content.decode()
    from amends.domain.lifecycle import OPEN_STATES

    open_refs = set(
        Case.objects.filter(
            provider__slug="v4voip", state__in=[s.value for s in OPEN_STATES]
        ).values_list("reference", flat=True)
    )
    assert len(open_refs) >= 10
    merged = Case.objects.get(provider__slug="v4voip", state="merged")
    for reference in open_refs:
        assert reference in page
    assert "ISS-" not in page  # another provider's cases are never listed
    assert merged.reference not in page  # a merged duplicate is not open
    mine = client.get("/staff/").content.decode()
    assert "Mine" in mine


def test_a_mistyped_reference_says_so_and_suggests_the_case(demo: None, client: Client) -> None:
    signed_in(client, "v4voip-adviser")
    case = v4voip_case("assigned")
    wrong = case.reference[:-1] + ("A" if case.reference[-1] != "A" else "B")
    page = client.get("/staff/", {"q": wrong}).content.decode()
    assert "not valid" in page and "typing mistake" in page
    assert f'Did you mean <a href="/staff/cases/{case.reference}/">' in page
    exact = client.get("/staff/", {"q": case.reference.lower()}).content.decode()
    assert f"/staff/cases/{case.reference}/" in exact


def test_search_by_name_account_and_email(demo: None, client: Client) -> None:
    signed_in(client, "v4voip-adviser")
    case = v4voip_case("assigned")
    customer = case.customer
    for text in (customer.contact_name, customer.account_number, customer.email):
        page = client.get("/staff/", {"q": text}).content.decode()
        assert case.reference in page, text
    assert "No case matches that." in client.get("/staff/", {"q": "zz-nobody"}).content.decode()


def test_another_providers_case_is_not_found(demo: None, client: Client) -> None:
    signed_in(client, "iss-manager")
    case = v4voip_case("assigned")
    assert client.get(f"/staff/cases/{case.reference}/").status_code == 404
    response = client.post(f"/staff/cases/{case.reference}/do/add_note/", {"text": "x"})
    assert response.status_code == 404
    assert not case.events.filter(kind="note_added").exists()


def test_the_case_page_shows_needs_clocks_timeline_and_allowed_actions(
    demo: None, client: Client
) -> None:
    signed_in(client, "v4voip-case_handler")
    case = v4voip_case("investigating")
    html = client.get(f"/staff/cases/{case.reference}/").content.decode()
    assert html.index("How to reach") < html.index("Promises and their clocks")
    assert "Promises and their clocks" in html and "by " in html
    assert "Case opened" in html
    assert "Propose a resolution" in html  # allowed now
    assert "Record the customer&#x27;s acceptance" not in html  # nothing proposed yet


def test_an_action_posted_moves_the_case_and_a_stale_page_is_refused(
    demo: None, client: Client
) -> None:
    signed_in(client, "v4voip-case_handler")
    case = v4voip_case("investigating")
    url = f"/staff/cases/{case.reference}/do/propose_resolution/"
    stale = case.version
    response = client.post(url, {"version": stale, "proposal": "A £20 credit and a new router."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == "resolution_proposed"
    # The same form again, from a page read before: refused, nothing written.
    again = client.post(
        f"/staff/cases/{case.reference}/do/escalate/", {"version": stale, "reason": "x"}
    )
    assert again.status_code == 409
    assert "Someone else changed this case" in again.content.decode()
    case.refresh_from_db()
    assert case.state == "resolution_proposed"


def test_a_refused_action_shows_the_reason_and_keeps_what_was_typed(
    demo: None, client: Client
) -> None:
    signed_in(client, "v4voip-case_handler")
    case = v4voip_case("investigating")
    response = client.post(
        f"/staff/cases/{case.reference}/do/accept_resolution/",
        {"version": case.version, "by": "Pat", "how": "phone"},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "There is a problem" in html and 'value="Pat"' in html
    bad = client.post(
        f"/staff/cases/{case.reference}/do/record_compensation/",
        {"version": case.version, "amount_pence": "twenty", "reason": "x",
         "form": "invoice_credit", "basis": "goodwill"},
    )  # fmt: skip
    assert bad.status_code == 400
    assert 'href="#record_compensation-amount_pence"' in bad.content.decode()


def test_a_role_without_the_permission_is_refused_by_the_service(
    demo: None, client: Client
) -> None:
    signed_in(client, "v4voip-compliance")
    case = v4voip_case("investigating")
    html = client.get(f"/staff/cases/{case.reference}/").content.decode()
    assert "Propose a resolution" not in html
    response = client.post(
        f"/staff/cases/{case.reference}/do/propose_resolution/",
        {"version": case.version, "proposal": "x"},
    )
    assert response.status_code == 403  # the service refused, not a hidden button
    case.refresh_from_db()
    assert case.state == "investigating"


def test_someone_not_on_a_providers_staff_is_turned_away(demo: None, client: Client) -> None:
    signed_in(client, "admin")
    response = client.get("/staff/")
    assert response.status_code == 403
    assert "not on the staff of a provider" in response.content.decode()


def test_a_letter_entered_days_later_counts_from_its_arrival(demo: None, client: Client) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from amends.domain.obligations import LONDON

    signed_in(client, "v4voip-adviser")
    arrived = (
        (timezone.now() - timedelta(days=3)).astimezone(LONDON).replace(second=0, microsecond=0)
    )
    form = {
        "kind": "complaint",
        "channel": "post",
        "first_received_at": arrived.strftime("%Y-%m-%dT%H:%M"),
        "summary": "Charged twice for March",
        "contact_name": "Morgan Example",
        "postal_address": "1 High Street\nEbbw Vale\nNP23 6HA",
        "preferred_contact": "letter",
        "identity_checked": "on",
    }
    refused = client.post("/staff/cases/new/", form)
    assert refused.status_code == 400  # more than an hour ago: say why
    assert 'href="#first_received_note"' in refused.content.decode()
    assert not Case.objects.filter(summary="Charged twice for March").exists()
    from amends.cases.models import Customer

    assert not Customer.objects.filter(contact_name="Morgan Example").exists()  # nothing left
    response = client.post(
        "/staff/cases/new/", {**form, "first_received_note": "letter arrived Friday"}
    )
    assert response.status_code == 302
    case = Case.objects.get(summary="Charged twice for March")
    assert case.first_received_at == arrived
    # The ADR point is 6 weeks from the letter's arrival, not from its entry three days on.
    adr = case.obligations.get(key="adr_letter")
    assert arrived + timedelta(weeks=6) <= adr.due_at < arrived + timedelta(weeks=6, days=1)
    assert case.events.filter(kind="note_added", data__text__startswith="Identity checked").exists()


def test_a_customer_already_here_is_offered_not_entered_twice(demo: None, client: Client) -> None:
    signed_in(client, "v4voip-adviser")
    known = v4voip_case("assigned").customer
    form = {
        "kind": "complaint",
        "channel": "phone",
        "summary": "Line dead again",
        "contact_name": "Someone",
        "email": known.email.upper(),
    }
    offered = client.post("/staff/cases/new/", form)
    assert offered.status_code == 400
    assert f'value="{known.pk}"' in offered.content.decode()
    chosen = client.post("/staff/cases/new/", {**form, "customer": str(known.pk)})
    assert chosen.status_code == 302
    assert Case.objects.get(summary="Line dead again").customer_id == known.pk


def test_resolved_at_first_contact_records_the_acceptance(demo: None, client: Client) -> None:
    signed_in(client, "v4voip-adviser")
    response = client.post(
        "/staff/cases/new/",
        {
            "kind": "complaint",
            "channel": "phone",
            "summary": "Wrong tariff",
            "contact_name": "Robin Example",
            "phone": "01495 000001",
            "resolved_first_contact": "on",
            "proposal": "Tariff corrected from today and March refunded.",
            "accepted_how": "phone",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(summary="Wrong tariff")
    assert case.state == "resolved"
    assert (case.acceptance_by, case.acceptance_how) == ("Robin Example", "phone")


def test_a_message_written_on_the_case_goes_from_its_template(demo: None, client: Client) -> None:
    from amends.comms.models import OutboxMessage

    signed_in(client, "v4voip-case_handler")
    case = v4voip_case("investigating")
    response = client.post(
        f"/staff/cases/{case.reference}/do/send_message/",
        {"version": case.version, "kind": "progress_update", "text": "The engineer visits Friday."},
    )
    assert response.status_code == 302
    message = OutboxMessage.objects.get(case=case, kind="progress_update")
    assert "The engineer visits Friday." in message.body_text
    assert case.reference in message.subject and message.meets == "update"
    assert case.events.filter(kind="message_sent").exists()
    empty = client.post(
        f"/staff/cases/{case.reference}/do/send_message/",
        {"version": case.version + 1, "kind": "reply", "text": "  "},
    )
    assert empty.status_code == 400
    signed_in(client, "v4voip-compliance")  # reads everything, writes to no customer
    refused = client.post(
        f"/staff/cases/{case.reference}/do/send_message/",
        {"kind": "reply", "text": "Hello"},
    )
    assert refused.status_code == 403


def test_an_email_on_the_timeline_has_the_raw_message_a_click_away(
    demo: None, client: Client
) -> None:
    from amends.comms import intake

    case = v4voip_case("investigating")
    raw = (
        "From: Demo Customer <customer@example.invalid>\r\n"
        "To: complaints@v4voip.example.invalid\r\n"
        f"Subject: Re: {case.reference}\r\n"
        "Message-ID: <console-raw-1@example.invalid>\r\n"
        "\r\nAny news?\r\n"
    ).encode()
    _, row = intake.ingest(raw=raw, provider_slug="v4voip")
    assert row is not None and row.case_id == case.pk
    signed_in(client, "v4voip-case_handler")
    html = client.get(f"/staff/cases/{case.reference}/").content.decode()
    link = f"/staff/mail/{row.pk}/email.eml"
    assert link in html
    assert client.get(link).content == raw
    signed_in(client, "iss-manager")
    assert client.get(link).status_code == 404


def test_existing_customers_are_found_as_you_type(demo: None, client: Client) -> None:
    known = v4voip_case("assigned").customer
    signed_in(client, "v4voip-adviser")
    fragment = client.get("/staff/customers/lookup/", {"find": known.contact_name}).content
    html = fragment.decode()
    assert f'value="{known.pk}"' in html and "<html" not in html  # a fragment for htmx
    assert (
        "No customer matches"
        in client.get("/staff/customers/lookup/", {"find": "zz-nobody"}).content.decode()
    )
    # Without JavaScript the form's Find button reloads the page with the same list.
    page = client.get("/staff/cases/new/", {"find": known.account_number}).content.decode()
    assert f'value="{known.pk}"' in page
    theirs = Case.objects.filter(provider__slug="iss").select_related("customer").first()
    assert theirs is not None
    other = client.get("/staff/customers/lookup/", {"find": theirs.customer.account_number})
    assert f'value="{theirs.customer.pk}"' not in other.content.decode()


def test_time_left_is_working_time_when_short_and_days_when_long() -> None:
    from datetime import timedelta

    from amends.console.views import _left

    assert _left(timedelta(minutes=40), timedelta(minutes=40)) == "40 working minutes left"
    assert _left(timedelta(hours=4), timedelta(hours=20)) == "4 working hours left"
    # 23 working days of 8.5 hours are not "8 days": beyond two working days, calendar days.
    assert _left(timedelta(hours=195), timedelta(days=32, hours=3)) == "32 days left"
