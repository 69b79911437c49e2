"""The providers' public pages: the published code and the forms by which any customer files a
complaint (or another case kind), through check-your-answers to the confirmation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amends.cases.models import Case, CaseLink, Customer, Obligation
from amends.cases.preview import clocks_preview
from amends.comms.models import OutboxMessage
from amends.core.demo import demo_load
from amends.domain.codes import CaseKind
from amends.portal.public import KIND_SLUGS, next_steps
from amends.providers.models import Provider

pytestmark = pytest.mark.django_db

KINDS = [
    ("v4voip", "complaint"),
    ("v4voip", "question"),
    ("v4voip", "support"),
    ("v4voip", "abuse"),
    ("iss", "complaint"),
    ("iss", "comment"),
]


@pytest.fixture
def providers(db: Any) -> None:
    """Both seed providers (V4VoIP and ISS) with their codes, staff and demo cases."""
    demo_load()


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    """The rate limits count in the cache: each test starts with none counted."""
    cache.clear()
    yield
    cache.clear()


def answers(**overrides: Any) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = {
        "about": {
            "summary": "Line keeps dropping",
            "description": "Since 3 March our main number drops calls after a minute.",
        },
        "representative": {"acting_for": "no"},
        "you": {
            "contact_name": "Priya Shah",
            "customer_type": "small_business",
            "business_name": "Shah Dental",
            "account_number": "",
        },
        "contact": {
            "email": "priya@shah-dental.example",
            "phone": "01632 960 001",
            "postal_address": "1 High Street\nLondon NW10 1AA",
            "preferred_contact": "email",
        },
        "needs": {"access_needs": ["large_print"], "other_language": ""},
    }
    for step, values in overrides.items():
        data[step] = {**data[step], **values}
    return data


def url(slug: str, kind: str, step: str = "") -> str:
    return f"/{slug}/{kind}/" + (f"{step}/" if step else "")


def walk(client: Client, slug: str, kind: str, data: dict[str, dict[str, Any]]) -> None:
    """Answer every question page, each redirecting to the next, ending at the check page."""
    for step in ("about", "representative", "you", "contact", "needs"):
        target = url(slug, kind, "" if step == "about" else step)
        page = client.get(target)
        assert page.status_code == 200, (step, page.status_code)
        response = client.post(target, data[step])
        assert response.status_code == 302, (step, response.content.decode()[:3000])
    assert response["Location"] == url(slug, kind, "check")


def submit(client: Client, slug: str, kind: str, **extra: str) -> Any:
    return client.post(url(slug, kind, "check"), extra)


def text(response: Any) -> str:
    return str(response.content.decode())


# --------------------------------------------------------------------------- the pages


def test_home_offers_each_kind_the_code_has_and_its_other_channels(
    client: Client, providers: None
) -> None:
    html = text(client.get("/v4voip/"))
    for kind in ("complaint", "question", "support", "abuse"):
        assert f'href="/v4voip/{kind}/"' in html
    assert 'href="/v4voip/comment/"' not in html  # V4VoIP's code invites no comments
    assert "0345 034 3901" in html and 'href="tel:03450343901"' in html
    assert 'href="/v4voip/code/"' in html
    assert "Amends" not in html
    iss = text(client.get("/iss/"))
    assert 'href="/iss/comment/"' in iss and 'href="/iss/support/"' not in iss


def test_published_code_with_its_version_date_pdf_and_text(client: Client, providers: None) -> None:
    html = text(client.get("/iss/code/"))
    assert "Customer Complaints Code" in html
    assert "Version 1.3, in force from 1 January 2024" in html
    assert 'href="/iss/code.pdf"' in html and 'href="/iss/code.txt"' in html
    assert "<style" not in html  # the renderer's body in the page, under the strict CSP
    pdf = client.get("/iss/code.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    plain = client.get("/iss/code.txt")
    assert plain["Content-Type"].startswith("text/plain")
    assert "Customer Complaints Code" in text(plain)


@pytest.mark.parametrize(
    "path",
    [
        "/nobody/",
        "/nobody/code/",
        "/nobody/code.pdf",
        "/nobody/complaint/",
        "/nobody/complaint/check/",
    ],
)
def test_unknown_provider_is_not_found(client: Client, providers: None, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path", ["/iss/support/", "/iss/abuse/you/", "/v4voip/comment/", "/v4voip/comment/check/"]
)
def test_a_kind_the_code_lacks_is_not_found(client: Client, providers: None, path: str) -> None:
    assert client.get(path).status_code == 404
    assert client.post(path, {}).status_code == 404


def test_every_question_page_says_what_happens_next_with_real_dates(
    client: Client, providers: None
) -> None:
    html = text(client.get("/iss/complaint/"))
    assert "What happens next" in html
    assert re.search(
        r"We will acknowledge it by \d{1,2}(:\d\d)?[ap]m on \w+day \d{1,2} \w+ 20\d\d", html
    )
    assert re.search(
        r"If your complaint is not resolved by \w+day \d{1,2} \w+ 20\d\d, you can take it to", html
    )
    support = text(client.get("/v4voip/support/"))
    assert "If you have a support and maintenance contract with us" in support
    assert "Do you have a support and maintenance contract with us?" in support


# --------------------------------------------------------------------------- filing


@pytest.mark.parametrize(("slug", "kind"), KINDS)
def test_each_kind_filed_through_check_your_answers(
    client: Client, providers: None, slug: str, kind: str
) -> None:
    data = answers()
    if kind == "support":
        data["about"]["support_contract"] = "yes"
    walk(client, slug, kind, data)
    check = text(client.get(url(slug, kind, "check")))
    assert "Check your answers before sending" in check
    assert "Priya Shah" in check and "Change" in check
    assert f'href="/{slug}/{kind}/you/?change=1#id_contact_name"' in check
    before = timezone.now()
    cases_before = Case.objects.count()
    response = submit(client, slug, kind)
    after = timezone.now()
    assert response.status_code == 302
    assert response["Location"] == url(slug, kind, "sent")
    assert Case.objects.count() == cases_before + 1
    case = Case.objects.select_related("customer").latest("pk")
    assert case.kind == KIND_SLUGS[kind].value
    assert case.channel == "web_form"
    assert before <= case.first_received_at <= after
    assert case.first_received_at == case.entered_at
    assert case.customer.preferred_contact == "email"
    assert case.customer.access_needs == ["large_print"]
    assert case.customer.email == "priya@shah-dental.example"
    assert CaseLink.objects.filter(case=case).count() == 1

    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    link = re.search(rf"http://testserver/{slug}/case/([\w-]+)/", ack.body_text)
    assert link is not None, ack.body_text
    assert case.reference in ack.body_text

    sent = text(client.get(response["Location"]))
    assert case.reference in sent
    assert link.group(1) not in sent  # the token goes only by the message
    assert "we have sent you an email confirming this" in sent.lower()

    # What the form promised is what the case got: the preview at the instant of first
    # receipt derives the stored clocks' due times.
    preview = clocks_preview(
        provider=case.provider,
        kind=CaseKind(case.kind),
        first_received_at=case.first_received_at,
        support_contract=case.support_contract,
    )
    assert preview is not None
    stored = {o.key: o.due_at for o in Obligation.objects.filter(case=case, state="pending")}
    assert {c.key: c.due_at for c in preview.clocks} == stored
    for line in next_steps(
        [(c.kind, c.due_at) for c in preview.clocks], CaseKind(case.kind), case.provider
    ):
        assert line.replace("'", "&#x27;") in sent
    if kind == "support":
        assert case.support_contract is True
        assert "first_response" in stored
    # The form is done: its answers are gone from the session.
    assert client.get(url(slug, kind, "check"))["Location"] == url(slug, kind)


def test_a_representative_and_access_needs_are_recorded(client: Client, providers: None) -> None:
    data = answers(
        representative={
            "acting_for": "yes",
            "representative_name": "Sam Shah",
            "representative_contact": "sam@example.org",
        },
        contact={"preferred_contact": "letter"},
        needs={"access_needs": ["braille", "other_language"], "other_language": "Polish"},
    )
    walk(client, "v4voip", "complaint", data)
    check = text(client.get(url("v4voip", "complaint", "check")))
    assert "Sam Shah" in check and "Their name" in check
    assert submit(client, "v4voip", "complaint").status_code == 302
    customer = Customer.objects.latest("pk")
    assert customer.representative_name == "Sam Shah"
    assert customer.representative_contact == "sam@example.org"
    assert customer.representative_authorised_at is not None
    assert customer.preferred_contact == "letter"
    assert customer.access_needs == ["braille", "other_language"]
    assert customer.other_language == "Polish"
    sent = text(client.get(url("v4voip", "complaint", "sent")))
    assert "We have sent you a letter confirming this" in sent


def test_an_account_number_already_on_file_does_not_block_or_reveal(
    client: Client, providers: None
) -> None:
    data = answers(you={"account_number": "ACC-1"})
    walk(client, "v4voip", "complaint", data)
    assert submit(client, "v4voip", "complaint").status_code == 302
    walk(
        client,
        "v4voip",
        "complaint",
        answers(you={"account_number": "ACC-1", "contact_name": "Another"}),
    )
    assert submit(client, "v4voip", "complaint").status_code == 302
    case = Case.objects.select_related("customer").latest("pk")
    assert case.customer.account_number == ""
    assert "Account number given: ACC-1" in case.description


def test_skipping_ahead_goes_to_the_first_unanswered_question(
    client: Client, providers: None
) -> None:
    cases = Case.objects.count()
    assert client.get("/v4voip/complaint/contact/")["Location"] == "/v4voip/complaint/"
    assert client.post("/v4voip/complaint/check/", {})["Location"] == "/v4voip/complaint/"
    assert client.get("/v4voip/complaint/sent/")["Location"] == "/v4voip/complaint/"
    assert Case.objects.count() == cases


def test_change_link_returns_to_check_your_answers(client: Client, providers: None) -> None:
    walk(client, "v4voip", "complaint", answers())
    form = client.get("/v4voip/complaint/you/?change=1")
    assert 'value="Priya Shah"' in text(form)
    moved = client.post(
        "/v4voip/complaint/you/",
        {**answers()["you"], "contact_name": "Priya Patel", "change": "1"},
    )
    assert moved["Location"] == "/v4voip/complaint/check/"
    assert "Priya Patel" in text(client.get("/v4voip/complaint/check/"))


# --------------------------------------------------------------------------- errors


WRONG = {
    "about": (
        {"summary": "", "description": "x" * 10_001, "support_contract": "perhaps"},
        ["id_summary", "id_description", "id_support_contract_0"],
    ),
    "representative": (
        {"acting_for": "yes", "representative_name": "", "representative_contact": ""},
        ["id_representative_name", "id_representative_contact"],
    ),
    "you": (
        {"contact_name": "", "business_name": "b" * 201, "account_number": "a" * 51},
        ["id_contact_name", "id_business_name", "id_account_number"],
    ),
    "contact": (
        {
            "email": "not-an-email",
            "phone": "call me",
            "postal_address": "p" * 1001,
            "preferred_contact": "pigeon",
        },
        ["id_email", "id_phone", "id_postal_address", "id_preferred_contact_0"],
    ),
    "needs": (
        {"access_needs": ["other_language", "telepathy"], "other_language": "l" * 61},
        ["id_access_needs_0", "id_other_language"],
    ),
}


def test_every_field_wrong_at_once_is_named_and_linked_and_nothing_stored(
    client: Client, providers: None
) -> None:
    cases, customers = Case.objects.count(), Customer.objects.count()
    data = answers()
    for step in ("about", "representative", "you", "contact", "needs"):
        target = url("v4voip", "support", "" if step == "about" else step)
        wrong, anchors = WRONG[step]
        response = client.post(target, wrong)
        html = text(response)
        assert response.status_code == 400, step
        assert 'role="alert"' in html and "There is a problem" in html
        summary = html[
            html.index("error-summary") : html.index("</ul>", html.index("error-summary"))
        ]
        for anchor in anchors:
            assert f'href="#{anchor}"' in summary, (step, anchor)
            assert f'id="{anchor}"' in html, (step, anchor)
        assert html.startswith("<!doctype html>") or "<html" in html
        assert "<title>Error:" in html
        for value in wrong.values():  # what was typed is kept (except an invalid choice)
            if isinstance(value, str) and value not in ("perhaps", "pigeon", "yes"):
                assert value[:50] in html, (step, value[:20])
        # Then the right answers move on.
        if step == "about":
            data["about"]["support_contract"] = "no"
        assert client.post(target, data[step]).status_code == 302
    assert (Case.objects.count(), Customer.objects.count()) == (cases, customers)


def test_a_missing_preferred_detail_is_asked_for(client: Client, providers: None) -> None:
    walk(client, "v4voip", "complaint", answers())
    response = client.post(
        "/v4voip/complaint/contact/",
        {"email": "", "phone": "", "postal_address": "", "preferred_contact": "email"},
    )
    assert response.status_code == 400
    assert "Enter your email address, or choose another way" in text(response)


def test_csrf_is_required(providers: None) -> None:
    cases = Case.objects.count()
    client = Client(enforce_csrf_checks=True)
    assert client.post("/v4voip/complaint/", answers()["about"]).status_code == 403
    walk_client = Client()
    walk(walk_client, "v4voip", "complaint", answers())
    client.cookies = walk_client.cookies
    assert client.post("/v4voip/complaint/check/", {}).status_code == 403
    assert Case.objects.count() == cases
    # With its token the same browser's form goes through.
    page = text(client.get("/v4voip/complaint/check/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    response = client.post("/v4voip/complaint/check/", {"csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert Case.objects.count() == cases + 1


# --------------------------------------------------------------------------- abuse


def test_honeypot_pretends_success_and_stores_nothing(client: Client, providers: None) -> None:
    cases, customers, messages = (
        Case.objects.count(),
        Customer.objects.count(),
        OutboxMessage.objects.count(),
    )
    walk(client, "v4voip", "complaint", answers())
    response = submit(client, "v4voip", "complaint", website="http://spam.example")
    assert response.status_code == 302 and response["Location"] == "/v4voip/complaint/sent/"
    assert "Complaint sent" in text(client.get(response["Location"]))
    assert (Case.objects.count(), Customer.objects.count(), OutboxMessage.objects.count()) == (
        cases,
        customers,
        messages,
    )
    # Filled on the first page, it is remembered to the end.
    data = answers()
    data["about"]["website"] = "http://spam.example"
    walk(client, "v4voip", "complaint", data)
    assert submit(client, "v4voip", "complaint").status_code == 302
    assert Case.objects.count() == cases


def test_honeypot_is_hidden_from_people_and_assistive_technology(
    client: Client, providers: None
) -> None:
    html = text(client.get("/v4voip/complaint/"))
    block = html[html.index("visually-hidden-honeypot") - 20 :]
    block = block[: block.index("</div>")]
    assert 'aria-hidden="true"' in block
    assert 'tabindex="-1"' in block and 'autocomplete="off"' in block


@override_settings(AMENDS_PUBLIC_LIMIT_PER_ADDRESS=2, AMENDS_PUBLIC_LIMIT_PER_IP=50)
def test_rate_limit_per_address(client: Client, providers: None) -> None:
    for _ in range(2):
        walk(client, "v4voip", "complaint", answers())
        assert submit(client, "v4voip", "complaint").status_code == 302
    count = Case.objects.count()
    walk(client, "v4voip", "complaint", answers(contact={"email": "PRIYA@shah-dental.example"}))
    response = submit(client, "v4voip", "complaint")
    assert response.status_code == 429
    assert "Too many requests" in text(response)
    assert Case.objects.count() == count
    # Another address from the same IP is still served.
    walk(client, "v4voip", "complaint", answers(contact={"email": "other@example.org"}))
    assert submit(client, "v4voip", "complaint").status_code == 302


@override_settings(AMENDS_PUBLIC_LIMIT_PER_ADDRESS=50, AMENDS_PUBLIC_LIMIT_PER_IP=2)
def test_rate_limit_per_ip(client: Client, providers: None) -> None:
    for n in range(2):
        walk(client, "v4voip", "question", answers(contact={"email": f"p{n}@example.org"}))
        assert submit(client, "v4voip", "question").status_code == 302
    count, customers = Case.objects.count(), Customer.objects.count()
    walk(client, "v4voip", "question", answers(contact={"email": "p9@example.org"}))
    assert submit(client, "v4voip", "question").status_code == 429
    assert (Case.objects.count(), Customer.objects.count()) == (count, customers)
    other = Client(REMOTE_ADDR="192.0.2.9")
    walk(other, "v4voip", "question", answers(contact={"email": "p9@example.org"}))
    assert submit(other, "v4voip", "question").status_code == 302


@override_settings(AMENDS_PUBLIC_MAX_POST_BYTES=2_000)
def test_an_oversized_post_is_refused_before_it_is_read(client: Client, providers: None) -> None:
    response = client.post("/v4voip/complaint/", {"summary": "s", "description": "d" * 5_000})
    assert response.status_code == 413
    assert "Too much text" in text(response)


def test_logs_carry_ids_not_names(
    client: Client, providers: None, caplog: pytest.LogCaptureFixture
) -> None:
    walk(client, "v4voip", "complaint", answers())
    with caplog.at_level("INFO"):
        submit(client, "v4voip", "complaint")
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "case opened" in logged
    for private in ("Priya", "shah-dental", "High Street", "drops calls"):
        assert private not in logged


# --------------------------------------------------------------------------- never a 500

ENDPOINTS = [
    "/v4voip/",
    "/v4voip/code/",
    "/v4voip/complaint/",
    "/v4voip/complaint/representative/",
    "/v4voip/complaint/you/",
    "/v4voip/complaint/contact/",
    "/v4voip/complaint/needs/",
    "/v4voip/complaint/check/",
    "/v4voip/complaint/sent/",
    "/v4voip/support/",
    "/iss/comment/needs/",
    "/iss/complaint/check/",
]

FIELDS = st.sampled_from(
    [
        "summary",
        "description",
        "support_contract",
        "acting_for",
        "representative_name",
        "representative_contact",
        "contact_name",
        "customer_type",
        "business_name",
        "account_number",
        "email",
        "phone",
        "postal_address",
        "preferred_contact",
        "access_needs",
        "other_language",
        "website",
        "change",
    ]
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    data=st.dictionaries(
        st.one_of(FIELDS, st.text(max_size=20)), st.text(max_size=300), max_size=12
    ),
    prefill=st.booleans(),
)
def test_random_form_data_never_fails(
    providers: None, endpoint: str, data: dict[str, str], prefill: bool
) -> None:
    client = Client(raise_request_exception=False)
    if prefill:
        walk(client, "v4voip", "complaint", answers())
    response = client.post(endpoint, data)
    assert response.status_code < 500, (endpoint, data, text(response)[:2000])


def test_first_received_is_submission_time_not_first_page(client: Client, providers: None) -> None:
    walk(client, "v4voip", "complaint", answers())
    started: datetime = timezone.now()
    submit(client, "v4voip", "complaint")
    case = Case.objects.latest("pk")
    assert case.first_received_at >= started
    assert Provider.objects.get(slug="v4voip").pk == case.provider_id


@pytest.mark.django_db(transaction=True)  # its COMMIT is what is counted
def test_the_filing_is_one_write_with_what_the_confirmation_shows(
    client: Client, providers: None
) -> None:
    """The case and the session's confirmation are written in one transaction: one write
    (SQLite has one writer), and never a case without its confirmation."""
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walk(client, "v4voip", "complaint", answers())
    with CaptureQueriesContext(connection) as captured:
        response = submit(client, "v4voip", "complaint")
    assert response.status_code == 302
    sql = [q["sql"].upper() for q in captured.captured_queries]
    assert sum(s.startswith("BEGIN") for s in sql) <= 1  # PostgreSQL's BEGIN is implicit
    assert sum(s.startswith("COMMIT") for s in sql) == 1
    writes = [i for i, s in enumerate(sql) if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    session_writes = [i for i in writes if "DJANGO_SESSION" in sql[i]]
    assert len(session_writes) == 1
    assert session_writes[0] < sql.index(next(s for s in sql if s.startswith("COMMIT")))
    case = Case.objects.latest("pk")
    stored = Session.objects.get(session_key=client.session.session_key).get_decoded()
    assert stored["amends.public:v4voip:sent"]["reference"] == case.reference
    assert case.reference in text(client.get(response["Location"]))


def test_a_session_ended_before_the_post_still_gets_its_confirmation(
    client: Client, providers: None
) -> None:
    """The session row went (expired, cleared) between check-your-answers and the POST,
    after the answers were read: the case is filed once and the confirmation shows it."""
    from unittest import mock

    from django.contrib.sessions.backends.db import SessionStore

    walk(client, "v4voip", "complaint", answers())
    old_key = client.session.session_key
    real_save = SessionStore.save

    ended = []

    def ended_then_save(self: Any, must_create: bool = False) -> None:
        # The row goes just as the case's transaction first writes the session.
        if not ended:
            ended.append(self.session_key)
            type(self).get_model_class().objects.filter(session_key=self.session_key).delete()
        real_save(self, must_create=must_create)

    cases_before = Case.objects.count()
    with mock.patch.object(SessionStore, "save", ended_then_save):
        response = submit(client, "v4voip", "complaint")
    assert response.status_code == 302
    assert Case.objects.count() == cases_before + 1
    assert ended == [old_key]
    assert client.session.session_key != old_key  # a new session, named by a new cookie
    assert Case.objects.latest("pk").reference in text(client.get(response["Location"]))
