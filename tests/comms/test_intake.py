"""Inbound mail lands on its case: stored first, once; threaded; recognised; never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError

from amends.cases.errors import CaseError
from amends.cases.models import Case, Customer
from amends.comms import intake
from amends.comms.intake import inbound_open_case, inbound_store, inbound_sweep, ingest, route
from amends.comms.models import (
    InboundAttachment,
    InboundMessage,
    Mailbox,
    OutboxKind,
    OutboxMessage,
)
from amends.comms.outbox import Outbox, customer_recipient
from amends.domain.codes import CaseKind
from tests.cases.conftest import World, london, make_world
from tests.comms.test_mail_domain import _with_attachment

pytestmark = pytest.mark.django_db

EML = Path(__file__).parent / "eml"
#: When Amends reads the messages of these tests (they arrived at 10:15:07 UTC).
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
ARRIVED = datetime(2026, 11, 23, 10, 15, 7, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Path) -> None:
    """Every file through the storage API, into this test's own directory."""
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def world(db: None) -> World:
    return make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")


def eml(name: str, **tokens: str) -> bytes:
    raw = (EML / name).read_bytes()
    for key, value in tokens.items():
        raw = raw.replace(f"%%{key}%%".encode(), value.encode())
    return raw


def receive(
    raw: bytes, *, provider: str | None = "v4voip", mailbox: str | None = None, now: datetime = NOW
) -> InboundMessage:
    _stored, row = ingest(raw=raw, provider_slug=provider, mailbox_kind=mailbox, now=lambda: now)
    assert row is not None
    row.refresh_from_db()
    return row


def sent(world: World, case: Case, kind: OutboxKind = OutboxKind.ACKNOWLEDGEMENT) -> OutboxMessage:
    """A message Amends wrote to the customer about ``case`` (its Message-ID is ours)."""
    if not case.customer.email:
        Customer.objects.filter(pk=case.customer_id).update(email="pat@old-domain.example")
        case.refresh_from_db()
    outbox = Outbox()
    key = f"case:{case.pk}:{kind.value}:intake-test"
    outbox.add(
        provider=case.provider,
        case=case,
        kind=kind,
        key=key,
        recipient=customer_recipient(case.customer),
        now=london(2026, 11, 20, 16, 2),
        payload={"reference": case.reference},
    )
    outbox.flush()
    return OutboxMessage.objects.get(key=key)


def open_case(world: World, kind: CaseKind = CaseKind.COMPLAINT) -> Case:
    return world.open(london(2026, 11, 20, 10), kind=kind)


# --------------------------------------------------------------------------- new cases


def test_a_new_email_opens_a_complaint_first_received_when_our_server_took_it(
    world: World,
) -> None:
    raw = eml("new_complaint.eml")
    row = receive(raw)
    assert row.status == "opened" and row.threaded_by == "new"
    case = row.case
    assert case is not None
    assert case.kind == "complaint" and case.channel == "email"
    # Not the sender's Date (21:40 the day before), not the sender's own server (09:02).
    assert case.first_received_at == ARRIVED
    assert case.summary == "Email: Phone line dead since Thursday"
    assert "nobody has called back" in case.description
    customer = case.customer
    assert (customer.contact_name, customer.email) == (
        "Morgan Baker",
        "morgan@example-bakery.co.uk",
    )
    assert customer.preferred_contact == "email"
    # The raw message is kept, byte for byte, through the storage API.
    with default_storage.open(row.raw.name, "rb") as handle:
        assert handle.read() == raw
    assert row.raw_sha256 == intake.mail.sha256(raw)
    kinds = list(case.events.order_by("sequence").values_list("kind", flat=True))
    assert kinds == ["case_opened", "message_received"]
    assert case.events.get(kind="message_received").data["message"] == row.pk


def test_an_email_read_hours_after_it_arrived_says_so_on_the_case(world: World) -> None:
    row = receive(eml("new_complaint.eml"), now=ARRIVED + timedelta(days=2))
    assert row.case is not None
    assert row.case.first_received_at == ARRIVED
    assert "received by the mail server at 2026-11-23T10:15" in row.case.first_received_note


def test_an_arrival_time_in_the_future_is_a_wrong_clock_not_tomorrow(world: World) -> None:
    raw = eml("new_complaint.eml").replace(
        b"Mon, 23 Nov 2026 10:15:07", b"Tue, 24 Nov 2026 10:15:07"
    )
    row = receive(raw)
    assert row.arrived_at == NOW  # when Amends stored it
    assert row.case is not None and row.case.first_received_at == NOW


def test_the_customer_is_found_by_address_within_the_provider_only(world: World) -> None:
    other = make_world("iss", "iss.toml", "ISS", "communications-ombudsman")
    Customer.objects.filter(pk=other.customer.pk).update(email="morgan@example-bakery.co.uk")
    known = Customer.objects.create(
        provider=world.provider,
        contact_name="M. Baker",
        email="Morgan@Example-Bakery.co.uk",
        created_at=NOW,
    )
    row = receive(eml("new_complaint.eml"))
    assert row.case is not None and row.case.customer_id == known.pk


@pytest.mark.parametrize(
    ("name", "mailbox", "kind", "recognised"),
    [
        ("support_request.eml", "support", "support_request", False),
        ("forwarded.eml", "queries", "account_query", False),
        ("support_request.eml", "abuse", "abuse_report", False),
        ("rfc2047_headers.eml", "complaints", "complaint", False),
        ("support_dissatisfied.eml", "support", "complaint", True),
        ("no_message_id.eml", "queries", "complaint", True),
    ],
)
def test_a_new_case_is_of_the_mailboxs_kind_unless_the_email_is_a_complaint(
    world: World, name: str, mailbox: str, kind: str, recognised: bool
) -> None:
    row = receive(eml(name), mailbox=mailbox)
    assert row.case is not None
    assert row.case.kind == kind
    assert row.recognised_as_complaint is recognised
    assert row.mailbox_kind == mailbox


def test_dissatisfaction_to_the_support_mailbox_opens_a_complaint_showing_the_words(
    world: World,
) -> None:
    row = receive(eml("support_dissatisfied.eml"), mailbox="support")
    assert row.case is not None and row.case.kind == "complaint"
    assert row.triggers == [
        {"rule": "fed up", "words": "fed up"},
        {"rule": "still not fixed", "words": "still not"},
    ]
    assert row.case.description.startswith(
        "[Recognised as a complaint: the email says 'fed up', 'still not'. "
        "It came to the support mailbox.]"
    )
    assert row.case.first_received_at == ARRIVED


def test_attachments_are_stored_and_a_refused_one_is_listed_with_its_reason(
    world: World,
) -> None:
    row = receive(eml("multipart_attachments.eml"), mailbox="support")
    listed = {a.filename: a for a in InboundAttachment.objects.filter(message=row)}
    assert set(listed) == {"router.png", "bill-november.pdf", "speedtest.exe"}
    pdf = listed["bill-november.pdf"]
    with default_storage.open(pdf.file.name, "rb") as handle:
        assert handle.read().startswith(b"%PDF-1.4")
    assert pdf.size > 0 and pdf.content_type == "application/pdf" and pdf.refused == ""
    exe = listed["speedtest.exe"]
    assert exe.file.name == "" and "can run programs" in exe.refused
    assert row.status == "opened"


def test_a_20_mb_attachment_is_refused_and_the_message_kept(world: World) -> None:
    raw = _with_attachment(20 * 1024 * 1024)
    row = receive(raw)
    assert row.status == "opened" and row.raw_size == len(raw) > 20 * 1024 * 1024
    (attachment,) = InboundAttachment.objects.filter(message=row)
    assert attachment.refused == "too large: 20.0 MB, the limit is 10 MB per attachment"
    assert attachment.size == 20 * 1024 * 1024 and attachment.file.name == ""


# --------------------------------------------------------------------------- stored once


def test_the_same_message_twice_is_stored_once(world: World) -> None:
    raw = eml("new_complaint.eml")
    first = receive(raw)
    again, _row = ingest(raw=raw, provider_slug="v4voip", now=lambda: NOW)
    assert not again.created and again.inbound_id == first.pk
    # Relayed again with another Received line on top: the same Message-ID, the same message.
    relayed = b"Received: from relay2 by mx2; Mon, 23 Nov 2026 10:16:00 +0000\n" + raw
    assert not ingest(raw=relayed, provider_slug="v4voip", now=lambda: NOW)[0].created
    assert InboundMessage.objects.count() == 1
    assert Case.objects.filter(provider=world.provider).count() == 1


def test_without_a_message_id_the_same_bytes_are_stored_once_and_other_bytes_again(
    world: World,
) -> None:
    raw = eml("no_message_id.eml")
    receive(raw)
    assert not ingest(raw=raw, provider_slug="v4voip", now=lambda: NOW)[0].created
    other = raw.replace(b"Reception, The Print Shop", b"Reception")
    assert ingest(raw=other, provider_slug="v4voip", now=lambda: NOW)[0].created
    assert InboundMessage.objects.count() == 2


def test_the_same_message_to_two_providers_is_stored_for_each(world: World) -> None:
    make_world("iss", "iss.toml", "ISS", "communications-ombudsman")
    raw = eml("new_complaint.eml")
    receive(raw, provider="v4voip")
    receive(raw, provider="iss")
    assert InboundMessage.objects.count() == 2


def test_a_duplicate_insert_race_answers_the_stored_row(world: World, monkeypatch: Any) -> None:
    raw = eml("new_complaint.eml")
    first = receive(raw)
    # As if another process stored it between our look and our insert.
    monkeypatch.setattr(intake, "_duplicate", lambda *a: None)
    where = route(raw=raw, provider_slug="v4voip")
    with pytest.raises(Exception):  # noqa: B017 - the look is gone: the constraint answers
        inbound_store(raw=raw, now=NOW, source="pipe", route=where)
    monkeypatch.undo()
    assert inbound_store(raw=raw, now=NOW, source="pipe", route=where).inbound_id == first.pk


# --------------------------------------------------------------------------- threading


def test_a_reply_lands_on_its_case_by_in_reply_to(world: World) -> None:
    case = open_case(world)
    ours = sent(world, case)
    row = receive(
        eml("outlook_reply.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference)
    )
    assert row.status == "threaded" and row.threaded_by == "in_reply_to"
    assert row.case_id == case.pk and row.outbox_id == ours.pk
    assert Case.objects.count() == 1
    event = case.events.get(kind="message_received")
    assert event.data["message"] == row.pk
    assert event.data["received_at"] == ARRIVED.isoformat()
    assert "engineer still hasn\u2019t come" in row.display_text
    assert "Ombudsman" not in row.display_text


def test_a_reply_lands_on_its_case_by_references_when_in_reply_to_is_unknown(
    world: World,
) -> None:
    case = open_case(world)
    ours = sent(world, case)
    raw = eml("gmail_reply.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference)
    raw = raw.replace(f"In-Reply-To: {ours.message_id}".encode(), b"In-Reply-To: <lost@x>")
    row = receive(raw)
    assert (row.status, row.threaded_by, row.case_id) == ("threaded", "references", case.pk)


def test_a_customers_follow_up_to_their_own_email_lands_on_the_same_case(world: World) -> None:
    first = receive(eml("new_complaint.eml"))
    follow_up = (
        b"Received: by mx.v4voip.example; Mon, 23 Nov 2026 10:20:00 +0000\n"
        b"From: Morgan Baker <morgan@example-bakery.co.uk>\nTo: complaints@v4voip.example\n"
        b"Subject: Re: Phone line dead since Thursday\nMessage-ID: <follow-up@bakery>\n"
        b"In-Reply-To: <5e1d2c3b-bakery-0001@example-bakery.co.uk>\n\nAny news?\n"
    )
    row = receive(follow_up)
    assert row.case_id == first.case_id and row.threaded_by == "in_reply_to"


def test_our_quoted_words_do_not_make_a_query_a_complaint(world: World) -> None:
    case = open_case(world, CaseKind.ACCOUNT_QUERY)
    ours = sent(world, case, OutboxKind.QUERY_REPLY)
    OutboxMessage.objects.filter(pk=ours.pk).update(subject=f"{case.reference}: your complaint")
    row = receive(eml("gmail_reply.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference))
    case.refresh_from_db()
    # The quote says "not happy", "complain", "Ombudsman"; the subject is ours replied to.
    assert row.triggers == []
    assert case.kind == "account_query"


def test_a_dissatisfied_reply_turns_a_query_into_a_complaint_first_receipt_kept(
    world: World,
) -> None:
    case = open_case(world, CaseKind.ACCOUNT_QUERY)
    ours = sent(world, case, OutboxKind.QUERY_REPLY)
    row = receive(
        eml("apple_mail_reply.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference)
    )
    case.refresh_from_db()
    assert case.kind == "complaint"
    assert case.first_received_at == london(2026, 11, 20, 10)
    assert row.recognised_as_complaint
    assert {t["rule"] for t in row.triggers} == {"not happy", "ombudsman"}
    assert case.events.get(kind="message_received").data["dissatisfied"] is True


def test_a_reference_in_the_subject_threads_when_its_check_character_is_right(
    world: World,
) -> None:
    case = open_case(world)
    row = receive(eml("reference_in_subject.eml", REFERENCE=case.reference, MESSAGE_ID_LOCAL="r1"))
    assert (row.status, row.threaded_by, row.case_id) == ("threaded", "subject_reference", case.pk)


def test_a_mistyped_reference_is_not_trusted_it_opens_a_case_and_names_the_likely_one(
    world: World,
) -> None:
    case = open_case(world)
    wrong = case.reference[:-1] + ("Q" if case.reference[-1] != "Q" else "R")
    row = receive(eml("reference_in_subject.eml", REFERENCE=wrong, MESSAGE_ID_LOCAL="r2"))
    assert row.status == "opened" and row.case_id != case.pk
    assert "check character does not match" in row.reference_note
    assert "not trusted" in row.reference_note
    assert row.suggested_case_id == case.pk
    assert not case.events.filter(kind="message_received").exists()


def test_another_providers_reference_does_not_reach_its_case(world: World) -> None:
    other = make_world("iss", "iss.toml", "ISS", "communications-ombudsman")
    theirs = other.open(london(2026, 11, 20, 10))
    row = receive(
        eml("reference_in_subject.eml", REFERENCE=theirs.reference, MESSAGE_ID_LOCAL="r3")
    )
    assert row.case is not None and row.case.provider_id == world.provider.pk
    assert "not a case of this provider" in row.reference_note


# --------------------------------------------------------------------------- automatic mail


def test_a_bounce_of_our_message_marks_it_not_delivered_and_tells_staff(world: World) -> None:
    case = open_case(world)
    ours = sent(world, case)
    outbox_before = OutboxMessage.objects.count()
    row = receive(eml("dsn_bounce.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference))
    assert row.status == "bounce"
    assert (row.case_id, row.outbox_id) == (case.pk, ours.pk)
    assert row.bounce["status"] == "5.1.1"
    ours.refresh_from_db()
    assert ours.status == intake.BOUNCED_STATUS == "dead"
    assert ours.last_error.startswith("bounced: failed; 5.1.1; to <address>; 550 5.1.1")
    assert "pat@old-domain.example" in OutboxMessage.objects.get(kind="worker_alert").body_text
    alert = OutboxMessage.objects.get(key=f"outbox:{ours.pk}:bounced")
    assert (alert.kind, alert.audience, alert.channel) == ("worker_alert", "staff", "staff")
    assert alert.recipient_address == world.provider.alerts_email
    assert alert.subject == f"{case.reference}: a message did not reach the customer"
    assert "was returned by the mail server" in alert.body_text
    assert OutboxMessage.objects.count() == outbox_before + 1  # the alert, nothing to the customer
    assert Case.objects.count() == 1
    assert not case.events.filter(kind="message_received").exists()
    # A second report about the same message: one alert only.
    again = eml("dsn_bounce.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference)
    again = again.replace(b"<20261123101507.4RkDLl4Uz2z9sH1", b"<second-report")
    receive(again)
    assert OutboxMessage.objects.filter(kind="worker_alert").count() == 1


def test_an_out_of_office_reply_is_linked_and_never_answered_nor_taken_as_a_complaint(
    world: World,
) -> None:
    case = open_case(world, CaseKind.ACCOUNT_QUERY)
    ours = sent(world, case, OutboxKind.PROGRESS_UPDATE)
    outbox_before = OutboxMessage.objects.count()
    row = receive(
        eml("out_of_office.eml", OUR_MESSAGE_ID=ours.message_id, REFERENCE=case.reference)
    )
    case.refresh_from_db()
    assert row.status == "auto_reply" and row.case_id == case.pk
    assert row.auto_reply_reason == "Auto-Submitted: auto-replied (RFC 3834)"
    assert case.kind == "account_query"  # "not happy" in an auto-reply is not the customer
    assert row.triggers  # kept for staff to see
    assert not row.recognised_as_complaint
    assert OutboxMessage.objects.count() == outbox_before  # nothing is sent back
    assert not case.events.filter(kind="message_received").exists()


def test_an_auto_reply_that_matches_no_case_opens_none(world: World) -> None:
    raw = eml("out_of_office.eml", OUR_MESSAGE_ID="<unknown@x>", REFERENCE="no reference")
    row = receive(raw)
    assert (row.status, row.case_id) == ("auto_reply", None)
    assert Case.objects.count() == 0


def test_one_of_our_own_messages_coming_back_is_a_loop_not_a_case(world: World) -> None:
    case = open_case(world)
    ours = sent(world, case)
    raw = (
        f"From: V4VoIP <complaints@amends.localhost>\nTo: complaints@v4voip.example\n"
        f"Subject: {case.reference}: Acknowledgement\nMessage-ID: {ours.message_id}\n\n"
        "We have received your complaint.\n"
    ).encode()
    row = receive(raw)
    assert row.status == "auto_reply" and "mail loop" in row.auto_reply_reason
    assert Case.objects.count() == 1


# --------------------------------------------------------------------------- never lost


def test_broken_mime_is_quarantined_with_its_reason_and_kept(world: World) -> None:
    raw = eml("broken_mime.eml")
    row = receive(raw)
    assert row.status == "quarantined" and row.quarantine_reason.startswith("broken MIME")
    assert row.subject == "Case notes export"
    with default_storage.open(row.raw.name, "rb") as handle:
        assert handle.read() == raw
    assert Case.objects.count() == 0


def test_bytes_that_are_not_an_email_are_quarantined(world: World) -> None:
    row = receive(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert row.status == "quarantined" and "not an email" in row.quarantine_reason


def test_a_message_for_no_known_provider_is_kept_and_quarantined(world: World) -> None:
    make_world("iss", "iss.toml", "ISS", "communications-ombudsman")
    row = receive(eml("new_complaint.eml"), provider=None)
    assert (row.status, row.provider_id, row.scope) == ("quarantined", None, "unrouted")
    assert "use --provider" in row.quarantine_reason
    unknown = receive(eml("support_request.eml"), provider="nobody")
    assert unknown.quarantine_reason == "no provider 'nobody'"


def test_a_message_is_routed_by_the_mailbox_it_was_sent_to(world: World) -> None:
    make_world("iss", "iss.toml", "ISS", "communications-ombudsman")
    Mailbox.objects.create(
        provider=world.provider, kind="support", address="support@v4voip.example"
    )
    row = receive(eml("support_request.eml"), provider=None)
    assert row.provider_id == world.provider.pk and row.mailbox_kind == "support"
    assert row.case is not None and row.case.kind == "support_request"
    envelope = route(raw=b"To: x@y.z\n\n", recipients=["SUPPORT@v4voip.example"])
    assert envelope.mailbox is not None and envelope.kind == "support"


def test_a_single_provider_install_needs_no_routing(world: World) -> None:
    row = receive(eml("new_complaint.eml"), provider=None)
    assert row.provider_id == world.provider.pk and row.status == "opened"


def test_a_crash_after_storing_leaves_it_for_the_sweep(world: World, monkeypatch: Any) -> None:
    def database_gone(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(intake, "_place", database_gone)
    stored, row = ingest(raw=eml("new_complaint.eml"), provider_slug="v4voip", now=lambda: NOW)
    assert row is not None and row.status == "stored"
    assert (row.attempts, row.last_error) == (
        1,
        "OperationalError: server closed the connection unexpectedly",
    )
    monkeypatch.undo()
    assert inbound_sweep(NOW + timedelta(seconds=30)) == 0  # left to the process storing it
    assert inbound_sweep(NOW + timedelta(minutes=1)) == 1
    row.refresh_from_db()
    assert row.status == "opened" and row.case is not None
    assert row.case.first_received_at == ARRIVED
    assert inbound_sweep(NOW + timedelta(minutes=2)) == 0


def test_a_message_that_keeps_failing_is_quarantined_after_its_tries(
    world: World, monkeypatch: Any
) -> None:
    def bug(*args: Any, **kwargs: Any) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(intake, "_place", bug)
    stored, _row = ingest(raw=eml("new_complaint.eml"), provider_slug="v4voip", now=lambda: NOW)
    for _ in range(intake.MAX_ATTEMPTS):
        inbound_sweep(NOW, min_age=timedelta(0))
    row = InboundMessage.objects.get(pk=stored.inbound_id)
    assert row.status == "quarantined"
    assert row.quarantine_reason == f"could not be read after {intake.MAX_ATTEMPTS} tries"


def test_a_case_the_services_refuse_is_quarantined_with_their_reason(world: World) -> None:
    # The provider has no code in force in 2019: no case can be opened for that date.
    raw = eml("new_complaint.eml").replace(
        b"Mon, 23 Nov 2026 10:15:07", b"Mon, 25 Nov 2019 10:15:07"
    )
    row = receive(raw)
    assert row.status == "quarantined"
    assert "no Code of Practice in force on 2019-11-25" in row.quarantine_reason
    assert row.case is None and Case.objects.count() == 0


# --------------------------------------------------------------------------- by hand


def test_staff_open_a_case_by_hand_from_a_quarantined_message(world: World) -> None:
    row = receive(eml("broken_mime.eml"))
    later = NOW + timedelta(hours=3)
    with pytest.raises(CaseError) as no_reason:
        inbound_open_case(
            inbound_id=row.pk, actor=world.staff, kind=CaseKind.COMPLAINT, now=later, reason=" "
        )
    assert no_reason.value.field == "reason"
    case = inbound_open_case(
        inbound_id=row.pk,
        actor=world.staff,
        kind=CaseKind.COMPLAINT,
        now=later,
        reason="the export is the customer's complaint log",
    )
    row.refresh_from_db()
    assert (row.status, row.case_id, row.threaded_by) == ("opened", case.pk, "by_hand")
    assert row.quarantine_reason.startswith("broken MIME")  # the history stays
    assert case.first_received_at == ARRIVED
    assert case.first_received_note.startswith("email opened by hand: the export is")
    assert case.customer.email == "no-reply@example-crm.net"
    with pytest.raises(CaseError, match="already on a case"):
        inbound_open_case(
            inbound_id=row.pk, actor=world.staff, kind=CaseKind.COMPLAINT, now=later, reason="x"
        )


def test_another_providers_staff_cannot_open_a_case_from_the_message(world: World) -> None:
    other = make_world("iss", "iss.toml", "ISS", "communications-ombudsman")
    row = receive(eml("broken_mime.eml"))
    with pytest.raises(CaseError) as refused:
        inbound_open_case(
            inbound_id=row.pk, actor=other.staff, kind=CaseKind.COMPLAINT, now=NOW, reason="x"
        )
    assert refused.value.code.value == "not_found"


def test_a_bounced_alert_to_staff_is_marked_but_starts_no_alert_loop(world: World) -> None:
    case = open_case(world)
    ours = sent(world, case)
    intake.outbox_mark_bounced(outbox_id=ours.pk, reason="failed; 5.1.1", now=NOW)
    alert = OutboxMessage.objects.get(key=f"outbox:{ours.pk}:bounced")
    assert intake.outbox_mark_bounced(outbox_id=alert.pk, reason="failed; 5.1.1", now=NOW)
    alert.refresh_from_db()
    assert alert.status == "dead" and alert.last_error == "bounced: failed; 5.1.1"
    assert OutboxMessage.objects.filter(kind="worker_alert").count() == 1
    assert not intake.outbox_mark_bounced(outbox_id=ours.pk, reason="again", now=NOW)
