"""The customer's private case page (issue 12): what it shows, every action through the
core's services, replies and files through inbound mail, and nothing for a link that does not
work: one 404 page, the same for every reason."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from amends.cases import actions
from amends.cases.actors import system_actor
from amends.cases.models import Case, CaseLink, Event, Obligation
from amends.comms.models import InboundAttachment, InboundMessage, OutboxMessage
from amends.domain.codes import CaseKind, ChannelType
from amends.domain.lifecycle import Action
from amends.domain.obligations import LONDON
from amends.portal.casepage import STATE_WORDS
from tests.cases.conftest import World, make_world

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def v4voip(db: None) -> World:
    return make_world("v4voip", "v4voip.toml", "V4V", "communications-ombudsman")


@pytest.fixture
def iss(db: None) -> World:
    return make_world("iss", "iss.toml", "ISS", "communications-ombudsman")


@pytest.fixture(autouse=True)
def _files_and_cache(settings: Any, tmp_path: Path) -> None:
    """Files through the storage API into this test's directory; rate limits start afresh."""
    settings.MEDIA_ROOT = tmp_path / "files"
    cache.clear()


def with_link(
    world: World,
    *,
    kind: CaseKind = CaseKind.COMPLAINT,
    email: str = "pat@example.com",
    name: str = "Pat Example",
) -> tuple[Case, str]:
    """A case opened from a public form, with its private link; (case, the page's path)."""
    now = timezone.now()
    customer = actions.customer_create(
        provider=world.provider,
        now=now,
        contact_name=name,
        email=email,
        preferred_contact="email",
    )
    slug = world.provider.slug
    case = actions.case_open(
        provider=world.provider,
        customer=customer,
        kind=kind,
        channel=ChannelType.WEB_FORM,
        first_received_at=now,
        summary="Calls drop every evening",
        now=now,
        actor=system_actor(world.provider.pk),
        link_url_for=lambda t: f"/{slug}/case/{t}/",
    )
    token = case.link_token  # type: ignore[attr-defined]
    return case, f"/{slug}/case/{token}/"


def post(client: Client, url: str, **data: Any) -> Any:
    return client.post(url, data)


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def long_day(moment: Any) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y}"


# --------------------------------------------------------------------------- the page


def test_the_page_shows_state_next_steps_scheme_and_messages(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert case.reference in html
    assert "Calls drop every evening" in html
    # The state in plain words, never its internal name.
    assert 'id="state"' in html
    shown = re.search(r'id="state">([^<]*)<', html)
    assert shown is not None
    assert shown.group(1) == str(STATE_WORDS[case.state])
    assert "_" not in shown.group(1)
    # What happens next, with its date in words (UK time).
    pending = Obligation.objects.filter(case=case, state="pending").order_by("due_at")
    assert pending.exists()
    assert long_day(pending[0].due_at) in html
    # The ADR scheme and the right to the letter.
    assert "Communications Ombudsman" in html
    assert "Ask for your ADR letter" in html
    # The messages sent: the acknowledgement, as a PDF link.
    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    assert ack.subject in html
    assert f"{url}letters/{ack.pk}.pdf" in html
    # No Amends branding; the provider's name.
    assert "Amends" not in html
    assert v4voip.provider.name in html
    # Nothing to accept yet.
    assert "Accept this resolution" not in html
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] in ("no-referrer", "same-origin")


def test_a_letter_is_served_as_a_pdf(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    ack = OutboxMessage.objects.get(case=case, kind="acknowledgement")
    response = client.get(f"{url}letters/{ack.pk}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


# --------------------------------------------------------------------------- actions


def propose(world: World, case: Case) -> Case:
    """A handler proposes a resolution through the console's service."""
    return world.act(case, Action.PROPOSE_RESOLUTION, timezone.now(), proposal="A £20 credit")


def test_accepting_a_proposal_is_recorded_as_the_customers_own(
    v4voip: World, client: Client
) -> None:
    case, url = with_link(v4voip)
    case = propose(v4voip, case)
    html = client.get(url).content.decode()
    assert "A £20 credit" in html
    assert "Accept this resolution" in html
    before = timezone.now()
    response = post(client, f"{url}accept/", version=case.version)
    assert response.status_code == 303
    assert response["Location"].startswith(url)
    case = fresh(case)
    assert case.state == "resolved"
    # Through their own link: recorded as the customer, by portal, when they did it.
    assert case.acceptance_by == "the customer"
    assert case.acceptance_how == "portal"
    assert case.resolved_at is not None and case.resolved_at >= before
    event = Event.objects.filter(case=case, kind="accept_resolution").get()
    assert event.actor == "customer:portal"
    assert event.data["how"] == "portal"
    page = client.get(url).content.decode()
    assert "you have accepted the resolution" in page
    assert "Accept this resolution" not in page


def test_rejecting_a_proposal(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    case = propose(v4voip, case)
    response = post(client, f"{url}reject/", version=case.version, reason="Not enough")
    assert response.status_code == 303
    case = fresh(case)
    assert case.state != "resolution_proposed"
    event = Event.objects.filter(case=case, kind="reject_resolution").get()
    assert event.data["how"] == "portal"
    assert event.data["reason"] == "Not enough"
    assert event.actor == "customer:portal"


def test_accept_on_a_page_read_before_a_change_is_refused(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    case = propose(v4voip, case)
    stale = case.version
    actions.case_add_note(case_id=case.pk, actor=v4voip.staff, text="Called", now=timezone.now())
    assert fresh(case).version != stale
    response = post(client, f"{url}accept/", version=stale)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert 'href="#accept-submit"' in html
    assert fresh(case).state == "resolution_proposed"


def test_asking_to_escalate(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    response = post(client, f"{url}escalate/", version=case.version, reason="No answer for weeks")
    assert response.status_code == 303
    case = fresh(case)
    assert case.escalation_level == 1
    assert Event.objects.filter(case=case, kind="escalate", actor="customer:portal").exists()


def test_escalating_without_a_reason_shows_the_error_by_its_field(
    v4voip: World, client: Client
) -> None:
    case, url = with_link(v4voip)
    response = post(client, f"{url}escalate/", version=case.version, reason="  ")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#escalate-reason"' in html
    assert 'id="escalate-reason-error"' in html
    assert 'aria-invalid="true"' in html
    assert fresh(case).escalation_level == 0
    assert response["Cache-Control"] == "no-store"


def test_withdrawing(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    response = post(client, f"{url}withdraw/", version=case.version, reason="Sorted itself")
    assert response.status_code == 303
    case = fresh(case)
    assert case.state == "withdrawn"
    assert case.withdrawal_by == "the customer"
    assert case.withdrawal_how == "portal"


def test_asking_for_the_adr_letter_puts_it_on_the_page_at_once(
    v4voip: World, client: Client
) -> None:
    case, url = with_link(v4voip)
    assert 'id="adr-letter-link"' not in client.get(url).content.decode()
    response = post(client, f"{url}adr-letter/")
    assert response.status_code == 303
    case = fresh(case)
    assert case.adr_letter_issued_at is not None
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    event = Event.objects.filter(case=case, kind="request_adr_letter").get()
    assert event.actor == "customer:portal"
    page = client.get(url).content.decode()
    assert "Your ADR letter is ready" in page
    assert f'href="{url}letters/{letter.pk}.pdf"' in page
    pdf = client.get(f"{url}letters/{letter.pk}.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    # Asked again: a copy, never refused.
    assert post(client, f"{url}adr-letter/").status_code == 303
    assert OutboxMessage.objects.filter(case=case, kind="adr_letter_copy").count() == 1


# --------------------------------------------------------------------------- replies


def test_a_reply_with_a_file_lands_on_the_case_as_inbound_mail(
    v4voip: World, client: Client
) -> None:
    case, url = with_link(v4voip)
    upload = SimpleUploadedFile("bill.pdf", PDF, content_type="application/pdf")
    response = client.post(f"{url}reply/", {"text": "Here is my bill.", "files": [upload]})
    assert response.status_code == 303
    message = InboundMessage.objects.get(case=case)
    assert message.source == "portal"
    assert message.status == "threaded"
    assert message.from_address == "pat@example.com"
    assert "Here is my bill." in message.display_text
    attachment = InboundAttachment.objects.get(message=message)
    assert attachment.filename == "bill.pdf"
    assert attachment.content_type == "application/pdf"
    assert not attachment.refused
    with attachment.file.open("rb") as handle:
        assert handle.read() == PDF
    assert Event.objects.filter(case=case, kind="message_received").exists()
    page = client.get(url).content.decode()
    assert "Here is my bill." in page
    assert "bill.pdf" in page
    assert "Sent on this page" in page


def test_a_dissatisfied_reply_makes_a_query_a_complaint(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip, kind=CaseKind.ACCOUNT_QUERY)
    assert case.kind == "account_query"
    text = "This is unacceptable, I want to make a complaint."
    assert client.post(f"{url}reply/", {"text": text}).status_code == 303
    case = fresh(case)
    assert case.kind == "complaint"
    message = InboundMessage.objects.get(case=case)
    assert message.recognised_as_complaint
    assert message.triggers


def test_a_reply_from_a_customer_without_an_email_address(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip, email="")
    assert client.post(f"{url}reply/", {"text": "Call me please"}).status_code == 303
    assert InboundMessage.objects.get(case=case).status == "threaded"


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ([SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/octet-stream")], "must be"),
        ([SimpleUploadedFile("fake.pdf", b"MZ not a pdf", "application/pdf")], "must be"),
        ([SimpleUploadedFile("notes.txt", b"\x00\x01\x02", "text/plain")], "must be"),
        ([SimpleUploadedFile("big.png", PNG + b"\x00" * (10 * 1024 * 1024), "image/png")], "10 MB"),
        ([SimpleUploadedFile(f"p{i}.png", PNG, "image/png") for i in range(4)], "at most 3"),
    ],
    ids=["executable", "pdf-in-name-only", "binary-text", "too-large", "too-many"],
)
def test_a_refused_upload_is_shown_by_its_field_and_nothing_is_stored(
    v4voip: World, client: Client, settings: Any, files: list[Any], words: str
) -> None:
    case, url = with_link(v4voip)
    response = client.post(f"{url}reply/", {"text": "See attached", "files": files})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#reply-files"' in html
    assert 'id="reply-files-error"' in html
    assert words in html
    assert "See attached" in html  # what they typed is kept
    assert not InboundMessage.objects.exists()
    assert not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


def test_an_empty_reply_is_refused(v4voip: World, client: Client) -> None:
    _case, url = with_link(v4voip)
    response = client.post(f"{url}reply/", {"text": "   "})
    assert response.status_code == 400
    assert 'href="#reply-text"' in response.content.decode()
    assert not InboundMessage.objects.exists()


# --------------------------------------------------------------------------- no link, no case


def test_every_link_that_does_not_work_gets_the_same_404(
    v4voip: World, iss: World, client: Client
) -> None:
    live, live_url = with_link(v4voip)
    token = live_url.rstrip("/").rsplit("/", 1)[1]
    expired, expired_url = with_link(v4voip, email="b@example.com")
    CaseLink.objects.filter(case=expired).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_url = with_link(v4voip, email="c@example.com")
    CaseLink.objects.filter(case=revoked).update(revoked_at=timezone.now())
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    variants = {
        "unknown": f"/v4voip/case/{secrets.token_urlsafe(32)}/",
        "expired": expired_url,
        "revoked": revoked_url,
        "tampered": f"/v4voip/case/{tampered}/",
        "other provider": f"/iss/case/{token}/",
        "no such provider": f"/nobody/case/{token}/",
        "guessed reference": f"/v4voip/case/{live.reference}/",
        "short": "/v4voip/case/abc/",
        "long": f"/v4voip/case/{'a' * 300}/",
    }
    bodies: dict[str, bytes] = {}
    queries: dict[str, int] = {}
    for name, url in variants.items():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 404, name
        assert response["Cache-Control"] == "no-store", name
        bodies[name] = response.content
        queries[name] = len(captured.captured_queries)
    assert len(set(bodies.values())) == 1, {k: v[:80] for k, v in bodies.items()}
    assert len(set(queries.values())) == 1, queries  # the same work: one look-up each
    assert queries["unknown"] == 1
    body = bodies["unknown"].decode()
    assert live.reference not in body and "V4V" not in body.upper().replace("V4V-", "")
    assert client.get(live_url).status_code == 200
    # The actions and letters under a dead link: the same answer, nothing done.
    assert client.post(f"{expired_url}escalate/", {"reason": "x"}).status_code == 404
    assert client.post(f"/iss/case/{token}/withdraw/", {}).status_code == 404
    assert fresh(live).state != "withdrawn"
    assert fresh(expired).escalation_level == 0


def test_another_customers_letter_under_a_valid_link_is_not_found(
    v4voip: World, iss: World, client: Client
) -> None:
    mine, url = with_link(v4voip)
    other, _ = with_link(v4voip, email="someone@example.com")
    elsewhere, _ = with_link(iss, email="x@example.com")
    theirs = OutboxMessage.objects.get(case=other, kind="acknowledgement")
    foreign = OutboxMessage.objects.get(case=elsewhere, kind="acknowledgement")
    responses = [
        client.get(f"{url}letters/{theirs.pk}.pdf"),
        client.get(f"{url}letters/{foreign.pk}.pdf"),
        client.get(f"{url}letters/999999.pdf"),
        client.get(f"/v4voip/case/{secrets.token_urlsafe(32)}/letters/{theirs.pk}.pdf"),
    ]
    assert {r.status_code for r in responses} == {404}
    assert len({r.content for r in responses}) == 1
    assert all(r["Cache-Control"] == "no-store" for r in responses)


def test_a_link_message_is_not_listed_on_the_page(v4voip: World, client: Client) -> None:
    case, url = with_link(v4voip)
    actions.case_link_send(
        case_id=case.pk,
        actor=system_actor(v4voip.provider.pk),
        now=timezone.now(),
        url_for=lambda t: f"/v4voip/case/{t}/",
    )
    sent = OutboxMessage.objects.get(case=case, kind="case_link")
    assert client.get(f"{url}letters/{sent.pk}.pdf").status_code == 404
    assert f"letters/{sent.pk}.pdf" not in client.get(url).content.decode()


def test_csrf_is_enforced(v4voip: World) -> None:
    case, url = with_link(v4voip)
    strict = Client(enforce_csrf_checks=True)
    assert strict.get(url).status_code == 200
    response = strict.post(f"{url}withdraw/", {"version": case.version})
    assert response.status_code == 403
    assert fresh(case).state != "withdrawn"
    response = strict.post("/v4voip/case/", {"reference": case.reference, "email": "p@x.com"})
    assert response.status_code == 403
    # With the page's token, it goes through.
    page = strict.get(url).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf is not None
    response = strict.post(
        f"{url}withdraw/", {"version": case.version, "csrfmiddlewaretoken": csrf.group(1)}
    )
    assert response.status_code == 303
    assert fresh(case).state == "withdrawn"


# --------------------------------------------------------------------------- the link again


def without_csrf(body: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body.decode())


def test_the_link_request_answers_the_same_whether_or_not_it_matches(
    v4voip: World, client: Client
) -> None:
    case, _url = with_link(v4voip, email="Pat@Example.com")
    form = client.get("/v4voip/case/")
    assert form.status_code == 200
    assert 'name="reference"' in form.content.decode()
    answers = {}
    tries = {
        "match": {"reference": case.reference, "email": "pat@example.COM"},
        "wrong email": {"reference": case.reference, "email": "someone@example.com"},
        "no such case": {"reference": "V4V-26-999999-X", "email": "pat@example.com"},
    }
    for name, data in tries.items():
        response = client.post("/v4voip/case/", data, REMOTE_ADDR=f"10.0.0.{len(answers) + 1}")
        assert response.status_code == 200, name
        answers[name] = without_csrf(response.content)
        assert "If these match a case, we have sent a new link to that address" in answers[name]
    assert len(set(answers.values())) == 1
    sent = OutboxMessage.objects.filter(case=case, kind="case_link")
    assert sent.count() == 1
    link = sent.get().payload["url"]
    assert link.startswith("http://testserver/v4voip/case/")
    assert client.get(link.removeprefix("http://testserver")).status_code == 200


def test_the_link_request_of_another_provider_sends_nothing(
    v4voip: World, iss: World, client: Client
) -> None:
    case, _ = with_link(v4voip)
    response = client.post("/iss/case/", {"reference": case.reference, "email": "pat@example.com"})
    assert response.status_code == 200
    assert not OutboxMessage.objects.filter(kind="case_link").exists()


def test_the_link_request_is_rate_limited_per_address_and_per_reference(
    v4voip: World, client: Client
) -> None:
    case, _ = with_link(v4voip)
    for i in range(5):
        data = {"reference": f"V4V-26-00000{i}-X", "email": "a@example.com"}
        assert client.post("/v4voip/case/", data, REMOTE_ADDR="10.1.1.1").status_code == 200
    blocked = client.post(
        "/v4voip/case/",
        {"reference": case.reference, "email": "pat@example.com"},
        REMOTE_ADDR="10.1.1.1",
    )
    assert blocked.status_code == 429
    assert not OutboxMessage.objects.filter(kind="case_link").exists()
    # Per reference: the refused request above counted once for this case; four more
    # addresses ask for it, and the sixth request is refused whatever its address.
    for i in range(4):
        data = {"reference": case.reference, "email": "pat@example.com"}
        assert client.post("/v4voip/case/", data, REMOTE_ADDR=f"10.2.0.{i}").status_code == 200
    blocked = client.post(
        "/v4voip/case/",
        {"reference": case.reference, "email": "pat@example.com"},
        REMOTE_ADDR="10.2.0.99",
    )
    assert blocked.status_code == 429
    assert OutboxMessage.objects.filter(kind="case_link").count() == 4


def test_the_link_request_says_what_is_missing(v4voip: World, client: Client) -> None:
    response = client.post("/v4voip/case/", {"reference": "", "email": "nope"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#link-reference"' in html
    assert 'href="#link-email"' in html
