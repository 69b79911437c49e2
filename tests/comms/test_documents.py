"""Every document Amends writes, for a realistic case of both seed providers: rendered from
its templates (text and HTML from one context) with no unfilled variable, in the provider's
voice (never "Amends"), with the reference and its check character, and, in every outcome
message, the scheme with its verified contact details only (DMCC Act s308)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from amends.cases.models import Case, Customer
from amends.comms import documents
from amends.comms.documents import (
    OUTCOME_KINDS,
    STAFF_KINDS,
    context_for,
    long_date,
    render,
    render_html,
    render_message,
)
from amends.comms.models import OutboxKind, OutboxMessage
from amends.domain.lifecycle import Action
from amends.domain.reference import parse_reference
from amends.domain.regulation import COMMUNICATIONS_OMBUDSMAN
from tests.cases.conftest import World, compliant, london  # noqa: F401  (fixture)

MISSING = "MISSINGVARIABLE[%s]"

#: The Communications Ombudsman's details the registry holds as verified, and the one it
#: does not (the textphone, from the V4VoIP seed only): never printed.
VERIFIED = ("0330 440 1614", "enquiry@commsombudsman.org", "www.commsombudsman.org", "WA4 6WU")
UNVERIFIED = "0330 440 1600"

#: The words the Ombudsman's guidance asks an ADR letter to avoid.
AVOID = ("binding", "exhausted", "remedy", "redress", "abide", "oblige", "constitutes")

#: What each kind is written with (the payload the case services and the worker give).
PAYLOADS: dict[OutboxKind, dict[str, Any]] = {
    OutboxKind.ACKNOWLEDGEMENT: {},
    OutboxKind.HANDLER_INTRODUCTION: {},
    OutboxKind.PROGRESS_UPDATE: {
        "text": "Our engineer found a fault at the exchange.\n\nIt will be repaired on Friday."
    },
    OutboxKind.ESCALATION_ACKNOWLEDGEMENT: {"reason": "the customer asked"},
    OutboxKind.PROPOSED_RESOLUTION: {},
    OutboxKind.FINAL_RESPONSE: {},
    OutboxKind.CLOSURE: {},
    OutboxKind.QUERY_REPLY: {"text": "Your next bill will show the credit."},
    OutboxKind.REPLY: {"text": "Thank you for the photographs of the router.\n\nThey help."},
    OutboxKind.ADR_LETTER: {"trigger": "deadlock", "issued_at": "2026-05-20"},
    OutboxKind.ADR_LETTER_COPY: {"trigger": "deadlock", "issued_at": "2026-05-20"},
    OutboxKind.BREACH_NOTICE: {"obligation": "resolve", "due_at": "2026-05-18T17:00:00+00:00"},
    OutboxKind.WORKER_ALERT: {
        "obligation": "update@2026-05-05#1",
        "attempts": 3,
        "error": "OperationalError: database is locked",
    },
    OutboxKind.WEBHOOK_DISABLED: {
        "url": "https://crm.example.net/hooks/complaints",
        "attempts": 8,
        "error": "The receiver answered 503.",
    },
    OutboxKind.CASE_LINK: {
        "url": "https://complaints.example.net/c/abcdefghijklmnopqrstuvwxyz",
        "expires": "2026-08-18T10:00:00+00:00",
    },
}


@pytest.fixture
def strict_templates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any variable a template cannot fill shows a marker the tests look for."""
    monkeypatch.setattr(documents, "MISSING", MISSING)
    yield
    documents._engine.cache_clear()


def name_handler(world: World) -> User:
    User.objects.filter(pk=world.handler.pk).update(
        first_name="Sam", last_name="Jones", email=f"sam.jones@{world.provider.slug}.example"
    )
    world.handler.refresh_from_db()
    return world.handler


def customer_details(world: World, **fields: Any) -> Customer:
    values: dict[str, Any] = {
        "email": "pat@example.co.uk",
        "phone": "01632 960 001",
        "postal_address": "Unit 4, Riverside Park\nHigh Street\nNewtown\nNT1 2AB",
        "preferred_contact": "letter",
        **fields,
    }
    Customer.objects.filter(pk=world.customer.pk).update(**values)
    world.customer.refresh_from_db()
    return world.customer


def realistic_case(world: World, **customer: Any) -> Case:
    """A complaint taken through acknowledgement, assignment, investigation, a rejected
    proposal and deadlock: every fact a document may speak of is recorded."""
    name_handler(world)
    customer_details(world, **customer)
    case = world.open(london(2026, 5, 4, 10), note="")
    case = world.act(case, Action.ACKNOWLEDGE, london(2026, 5, 4, 11))
    case = world.act(case, Action.ASSIGN, london(2026, 5, 4, 12))
    case = world.act(case, Action.INVESTIGATE, london(2026, 5, 5, 10))
    case = world.act(
        case, Action.PROPOSE_RESOLUTION, london(2026, 5, 11, 10), proposal="A £20 credit"
    )
    case = world.act(case, Action.REJECT_RESOLUTION, london(2026, 5, 12, 10))
    case = world.act(
        case,
        Action.DECLARE_DEADLOCK,
        london(2026, 5, 20, 10),
        final_position="We found no fault on our network; the fault was in your own wiring.",
        final_offer="a £30 credit to your next invoice",
    )
    return Case.objects.select_related("provider", "customer", "code_version", "handler").get(
        pk=case.pk
    )


def open_case(world: World) -> Case:
    """A complaint just opened and acknowledged, with its clocks running."""
    name_handler(world)
    customer_details(world)
    case = world.open(london(2026, 5, 4, 10))
    return Case.objects.select_related("provider", "customer", "code_version").get(pk=case.pk)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+([,.;:])", r"\1", " ".join(" ".join(parser.parts).split()))


def check_document(text: str, case: Case, kind: OutboxKind) -> None:
    flat = " ".join(text.split())
    assert "MISSINGVARIABLE" not in text, re.findall(r"MISSINGVARIABLE\[[^]]*\]", text)
    assert "{{" not in text and "{%" not in text
    assert "amends" not in flat.lower()
    assert "None" not in re.findall(r"\bNone\b", flat)
    assert case.reference in flat
    parse_reference(case.reference)  # the reference carries its check character
    assert UNVERIFIED not in flat
    if kind in OUTCOME_KINDS:
        assert "Communications Ombudsman" in flat
        assert "free" in flat
        assert "12 months" in flat
        for value in VERIFIED:
            assert value in flat, value


WORLDS = ("iss", "v4voip")


@pytest.mark.parametrize("world_name", WORLDS)
def test_every_kind_renders_for_a_realistic_case(
    world_name: str, request: pytest.FixtureRequest, db: None, strict_templates: None
) -> None:
    world: World = request.getfixturevalue(world_name)
    case = realistic_case(world)
    for kind in OutboxKind:
        payload = {"reference": case.reference, **PAYLOADS[kind]}
        subject, text = render(kind, provider=world.provider, case=case, payload=payload)
        html = render_html(kind, provider=world.provider, case=case, payload=payload)
        assert case.reference in subject
        check_document(subject + "\n" + text, case, kind)
        check_document(html, case, kind)
        assert html_text(html)  # the HTML says something
        # The same context: every sentence of the body text is in the HTML too.
        body = text.split("\n", 2)[2]
        first_sentence = body.strip().split(".")[0].strip()
        assert first_sentence.split("\n")[0] in html_text(html), (kind, first_sentence)


@pytest.mark.parametrize("world_name", WORLDS)
def test_the_adr_letter_says_what_a_good_letter_says(
    world_name: str, request: pytest.FixtureRequest, db: None, strict_templates: None
) -> None:
    world: World = request.getfixturevalue(world_name)
    case = realistic_case(world)
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    text = " ".join(letter.body_text.split())
    # Labelled as the ADR letter, the named scheme with its verified details, independent
    # and free, 12 months from the letter's date, the final position and the offer, the owner.
    assert "Your ADR letter: your right to take this to the Communications Ombudsman" in text
    assert "independent" in text and "free for you" in text
    assert "12 months from the date of this letter, Wednesday 20 May 2026," in text
    assert "We found no fault on our network" in text
    assert "Our offer to you: a £30 credit to your next invoice. This offer stays open." in text
    assert "Sam Jones, your case handler, owns your complaint." in text
    assert "deadlock" in text
    for value in VERIFIED:
        assert value in text
    assert UNVERIFIED not in text
    assert "Amends" not in text
    for word in AVOID:
        assert word not in text.lower(), word
    # The registry, not the provider's file, names the scheme: ISS's code names Ofcom.
    assert "Ofcom is" not in text and "through Ofcom" not in text


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        ("deadlock", "This is called deadlock"),
        ("time", "It has now been 6 weeks and we have not resolved it."),
        ("customer_request", "You asked us for this letter."),
        ("staff", "writing to tell you that you can take your complaint"),
    ],
)
def test_each_adr_letter_variant_says_why_it_was_sent(
    v4voip: World, trigger: str, says: str, strict_templates: None
) -> None:
    case = realistic_case(v4voip)
    payload = {"trigger": trigger, "issued_at": "2026-06-15"}
    _, text = render(OutboxKind.ADR_LETTER, provider=v4voip.provider, case=case, payload=payload)
    flat = " ".join(text.split())
    assert says in flat
    assert "12 months from the date of this letter, Monday 15 June 2026," in flat
    assert "We first received your complaint on Monday 4 May 2026" in flat or trigger != "time"


def test_a_copy_counts_the_months_from_the_original_letter(
    iss: World, strict_templates: None
) -> None:
    case = realistic_case(iss)
    payload = {"trigger": "deadlock", "issued_at": "2026-05-20"}
    _, text = render(OutboxKind.ADR_LETTER_COPY, provider=iss.provider, case=case, payload=payload)
    flat = " ".join(text.split())
    assert flat.startswith("Dear Pat Example, Copy of your ADR letter: your right to take this")
    assert "This is a copy of the ADR letter we sent you on Wednesday 20 May 2026." in flat
    assert "12 months from the date of the original letter, Wednesday 20 May 2026," in flat


def test_a_time_letter_without_a_final_position_says_so(iss: World, strict_templates: None) -> None:
    case = open_case(iss)
    payload = {"trigger": "time", "issued_at": "2026-06-16"}
    _, text = render(OutboxKind.ADR_LETTER, provider=iss.provider, case=case, payload=payload)
    flat = " ".join(text.split())
    assert "We have not reached a final position on your complaint yet." in flat
    assert "We have not made you an offer." in flat
    assert "The ISS complaints team owns your complaint." in flat


@pytest.mark.parametrize("world_name", WORLDS)
def test_the_acknowledgement_gives_real_dates_from_the_clocks(
    world_name: str, request: pytest.FixtureRequest, db: None, strict_templates: None
) -> None:
    world: World = request.getfixturevalue(world_name)
    case = open_case(world)
    _, text = render(
        OutboxKind.ACKNOWLEDGEMENT,
        provider=world.provider,
        case=case,
        payload={"reference": case.reference},
    )
    flat = " ".join(text.split())
    clocks = {entry[3]: datetime.fromisoformat(entry[1]) for entry in case.clocks.values()}
    assert f"Your reference is {case.reference}." in flat
    # The ADR point, 6 weeks (42 days) after first receipt on 4 May 2026.
    assert long_date(clocks["adr_letter"]) == "Monday 15 June 2026"
    assert "If your complaint is not resolved by Monday 15 June 2026 (6 weeks" in flat
    if world_name == "v4voip":  # "We normally aim to resolve complaints within 10 working days"
        assert f"We aim to resolve your complaint by {long_date(clocks['resolve'])}." in flat
        # 4 May 2026 is the Early May bank holiday: working days 5 May to 18 May.
        assert long_date(clocks["resolve"]) == "Monday 18 May 2026"
    else:  # ISS: the handler within 48 hours, agreed updates within 3 working days
        assert "Your case handler will contact you by Wednesday 6 May 2026" in flat
        assert "by Thursday 7 May 2026, we will agree with you then" in flat
    # A point of contact, and ISS confirms the contact details it holds.
    assert "Your point of contact is the" in flat
    assert "These are the contact details we hold for you:" in flat
    assert "pat@example.co.uk" in flat


def test_the_handler_introduction_gives_direct_contact_details(
    iss: World, strict_templates: None
) -> None:
    case = realistic_case(iss)
    _, text = render(OutboxKind.HANDLER_INTRODUCTION, provider=iss.provider, case=case, payload={})
    flat = " ".join(text.split())
    assert "My name is Sam Jones and I am the case handler for your complaint" in flat
    assert "Email: sam.jones@iss.example" in flat
    assert "Phone: 0330 9000 009" in flat
    assert flat.endswith(
        "Sam Jones Case handler, ISS Infinity System Solutions Ltd, "
        "Innovation Centre, Festival Drive, Ebbw Vale, Blaenau Gwent, NP23 8XA"
    )


def test_staff_messages_are_for_staff(iss: World, strict_templates: None) -> None:
    case = realistic_case(iss)
    for kind in STAFF_KINDS:
        _, text = render(kind, provider=iss.provider, case=case, payload=PAYLOADS[kind])
        assert text.startswith("Hello,")
        assert "staff only" in text
        assert "Yours sincerely" not in text
    _, breach = render(
        OutboxKind.BREACH_NOTICE,
        provider=iss.provider,
        case=case,
        payload=PAYLOADS[OutboxKind.BREACH_NOTICE],
    )
    assert "It was due by 6:00pm on Monday 18 May 2026." in breach  # 17:00 UTC is 18:00 BST


def test_a_reply_is_the_staff_members_text(v4voip: World, strict_templates: None) -> None:
    case = realistic_case(v4voip)
    text = "We have booked an engineer for Tuesday.\n\nPlease keep the line free."
    rendered = render_message(
        OutboxKind.REPLY, provider=v4voip.provider, case=case, payload={"text": text}
    )
    assert "We have booked an engineer for Tuesday.\n\nPlease keep the line free." in rendered.text
    assert "<p>We have booked an engineer for Tuesday.</p>" in rendered.html
    # HTML from staff text is escaped, never markup.
    sneaky = render_message(
        OutboxKind.REPLY, provider=v4voip.provider, case=case, payload={"text": "<b>hi</b>"}
    )
    assert "<b>hi</b>" not in sneaky.html and "&lt;b&gt;hi&lt;/b&gt;" in sneaky.html
    assert "<b>hi</b>" in sneaky.text


def test_the_compliant_template_code_renders_too(
    request: pytest.FixtureRequest, db: None, strict_templates: None
) -> None:
    world: World = request.getfixturevalue("compliant")
    case = realistic_case(world)
    for kind in OutboxKind:
        _, text = render(kind, provider=world.provider, case=case, payload=PAYLOADS[kind])
        check_document(text, case, kind)


def test_a_provider_overrides_a_template_by_its_slug(
    v4voip: World, settings: Any, tmp_path: Path, strict_templates: None
) -> None:
    case = realistic_case(v4voip)
    own = tmp_path / "comms" / "v4voip"
    own.mkdir(parents=True)
    (own / "closure.txt").write_text("Your complaint {{ reference }} is closed. Thank you.\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    documents._engine.cache_clear()
    _, text = render(OutboxKind.CLOSURE, provider=v4voip.provider, case=case, payload={})
    assert f"Your complaint {case.reference} is closed. Thank you." in text
    _, theirs = render(OutboxKind.CLOSURE, provider=v4voip.provider, case=case, payload={})
    assert theirs == text
    # Another provider keeps the default.
    context = context_for(OutboxKind.CLOSURE, provider=v4voip.provider, case=case)
    assert context["provider"]["slug"] == "v4voip"


def test_every_kind_has_its_templates() -> None:
    for kind in OutboxKind:
        for ext in ("txt", "html", "subject.txt"):
            assert documents.has_template(kind, ext), (kind, ext)


def test_dates_are_in_words_in_london() -> None:
    assert long_date(london(2026, 3, 3, 9)) == "Tuesday 3 March 2026"
    # 23:30 UTC on 30 June is already 1 July in London.
    from datetime import UTC

    assert long_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "Wednesday 1 July 2026"


def test_the_scheme_comes_from_the_registry() -> None:
    # The fixture: the Communications Ombudsman, whose textphone the registry holds unverified.
    assert any(
        c.evidence == "U" and c.value == UNVERIFIED for c in COMMUNICATIONS_OMBUDSMAN.contacts
    )


def test_the_messages_the_services_write_read_well(iss: World, strict_templates: None) -> None:
    """What the case services write as things happen, read back from the outbox."""
    name_handler(iss)
    customer_details(iss, preferred_contact="email")
    case = iss.open(london(2026, 5, 5, 10))
    case = iss.act(case, Action.ASSIGN, london(2026, 5, 5, 11))
    case = iss.act(case, Action.ESCALATE, london(2026, 5, 6, 10))
    case = iss.act(case, Action.PROPOSE_RESOLUTION, london(2026, 5, 7, 10), proposal="A refund")
    case = iss.act(case, Action.ACCEPT_RESOLUTION, london(2026, 5, 8, 10))
    case = iss.act(case, Action.CLOSE, london(2026, 5, 8, 11))
    rows = {row.kind: row for row in OutboxMessage.objects.filter(case=case)}
    for kind, row in rows.items():
        check_document(row.subject + "\n" + row.body_text, case, OutboxKind(kind))
    said = {kind: " ".join(row.body_text.split()) for kind, row in rows.items()}
    assert "Your case handler will contact you by Thursday 7 May 2026" in said["acknowledgement"]
    assert "My name is Sam Jones and I am the case handler" in said["handler_introduction"]
    assert (
        "It is now with our Customer Service Manager/Head of Professional."
        in said["escalation_acknowledgement"]
    )
    assert "Our proposal A refund What you need to do" in said["proposed_resolution"]
    assert "because you told us it has been resolved" in said["closure"]
    assert "the Communications Ombudsman" in said["closure"]
