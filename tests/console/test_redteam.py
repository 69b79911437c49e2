"""Red-team probes of the staff console: cross-provider ids, crafted POSTs, stale pages, hostile
text, CSRF, redirects, the second factor, lockout, huge and garbled input, and the logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from amends.cases import actions
from amends.cases.actors import system_actor
from amends.cases.models import Case, Customer
from amends.comms.models import InboundMessage, OutboxMessage
from amends.core.demo import DEMO_PASSWORD
from amends.providers.models import CodeVersion, StaffMember
from tests.console.conftest import signed_in

# (No module-wide django_db mark: each test asks for the database through its fixtures, so
# that the demo is loaded once for the module; see tests/console/conftest.py.)


def quiet(username: str) -> Client:
    """A signed-in client that answers a crash with its 500 page instead of raising."""
    return signed_in(Client(raise_request_exception=False), username)


def v4voip_case(state: str) -> Case:
    return Case.objects.filter(provider__slug="v4voip", state=state).select_related("customer")[0]


def act(client: Client, case: Case, action: str, **data: Any) -> Any:
    return client.post(f"/staff/cases/{case.reference}/do/{action}/", data)


def notes(case: Case) -> int:
    return case.events.filter(kind="note_added").count()


# --------------------------------------------------------------------------- another provider


def test_every_id_bearing_url_of_another_provider_is_not_found(demo: None) -> None:
    client = quiet("iss-manager")
    case = v4voip_case("investigating")
    outbox = OutboxMessage.objects.filter(provider__slug="v4voip").first()
    assert outbox is not None
    version = CodeVersion.objects.filter(provider__slug="v4voip").first()
    assert version is not None
    gets = [
        f"/staff/cases/{case.reference}/",
        f"/staff/cases/{case.reference.lower()}/",
        f"/staff/post/{outbox.pk}/letter.pdf",
        f"/staff/code/versions/{version.pk}/",
        f"/staff/code/published.html?version={version.pk}",
        f"/staff/code/published.pdf?version={version.pk}",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        (f"/staff/cases/{case.reference}/do/add_note/", {"text": "x"}),
        (f"/staff/post/{outbox.pk}/posted/", {"posted_on": timezone.now().date().isoformat()}),
        (f"/staff/calls/{outbox.pk}/made/", {"called_on": timezone.now().date().isoformat()}),
        (f"/staff/failed/{outbox.pk}/retry/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert not case.events.filter(kind="note_added").exists()


def _email_on(case: Case, subject: str = "") -> InboundMessage:
    """An email from the customer placed on ``case`` through the real intake."""
    from amends.comms import intake

    raw = (
        "From: Pat Example <pat@example.invalid>\r\n"
        f"To: complaints@{case.provider.slug}.example.invalid\r\n"
        f"Subject: Re: {case.reference} {subject}\r\n"
        f"Message-ID: <redteam-{case.pk}@example.invalid>\r\n"
        "\r\nStill broken.\r\n"
    ).encode()
    _, row = intake.ingest(raw=raw, provider_slug=case.provider.slug)
    assert row is not None and row.case_id == case.pk
    return row


def test_another_providers_email_is_not_found_raw_or_opened(demo: None) -> None:
    from amends.domain.codes import CaseKind

    row = _email_on(v4voip_case("investigating"))
    client = quiet("iss-manager")
    assert client.get(f"/staff/mail/{row.pk}/email.eml").status_code == 404
    response = client.post(
        f"/staff/mail/{row.pk}/open-case/",
        {"kind": CaseKind.COMPLAINT.value, "reason": "x"},
    )
    assert response.status_code == 404


def test_a_handler_or_duplicate_or_customer_of_another_provider_is_refused(demo: None) -> None:
    client = quiet("v4voip-manager")
    case = v4voip_case("investigating")
    iss_handler = StaffMember.objects.get(provider__slug="iss", user__username="iss-case_handler")
    response = act(client, case, "assign", version=case.version, handler_id=iss_handler.user_id)
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.handler_id != iss_handler.user_id
    iss_case = Case.objects.filter(provider__slug="iss", state="investigating")[0]
    response = act(client, case, "merge", version=case.version, duplicate_id=iss_case.pk)
    assert response.status_code == 400
    iss_case.refresh_from_db()
    assert iss_case.state == "investigating"
    iss_customer = Customer.objects.filter(provider__slug="iss").first()
    assert iss_customer is not None
    before = Case.objects.filter(customer=iss_customer).count()
    response = client.post(
        "/staff/cases/new/",
        {"customer": iss_customer.pk, "kind": "complaint", "channel": "phone", "summary": "x"},
    )
    assert response.status_code == 400
    assert Case.objects.filter(customer=iss_customer).count() == before


def test_another_providers_customer_is_never_found_by_the_lookup(demo: None) -> None:
    iss_customer = Customer.objects.filter(provider__slug="iss").first()
    assert iss_customer is not None
    client = quiet("v4voip-adviser")
    find = iss_customer.account_number
    html = client.get("/staff/customers/lookup/", {"find": find}).content.decode()
    assert f"(account {find})" not in html and f'value="{iss_customer.pk}"' not in html
    html = client.get("/staff/cases/new/", {"find": find}).content.decode()
    assert f"(account {find})" not in html
    html = client.get("/staff/", {"q": find}).content.decode()
    assert "ISS-" not in html


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("username", "action", "data"),
    [
        ("v4voip-adviser", "reopen", {"reason": "x"}),
        ("v4voip-adviser", "merge", {"duplicate_id": "0"}),
        ("v4voip-adviser", "record_compensation",
         {"amount_pence": "10", "reason": "x", "form": "invoice_credit", "basis": "goodwill"}),
        ("v4voip-compliance", "send_message", {"kind": "reply", "text": "x"}),
        ("v4voip-compliance", "log_call", {"direction": "inbound", "summary": "x"}),
        ("v4voip-admin", "escalate", {"reason": "x"}),
        ("v4voip-admin", "assign", {"handler_id": "0"}),
    ],
)  # fmt: skip
def test_a_crafted_post_cannot_do_what_the_role_table_forbids(
    demo: None, username: str, action: str, data: dict[str, str]
) -> None:
    client = quiet(username)
    case = v4voip_case("investigating")
    before = case.version
    response = act(client, case, action, version=case.version, **data)
    assert response.status_code == 403, response.status_code
    case.refresh_from_db()
    assert case.version == before, (action, response.status_code)


def test_pages_a_role_may_not_open_are_refused(demo: None) -> None:
    adviser = quiet("v4voip-adviser")
    for url in ("/staff/dashboard/", "/staff/dashboard/cases.csv", "/staff/code/new/"):
        assert adviser.get(url).status_code == 403, url
    compliance = quiet("v4voip-compliance")
    assert compliance.get("/staff/cases/new/").status_code == 403
    response = compliance.post("/staff/cases/new/", {"contact_name": "X", "summary": "x"})
    assert response.status_code == 403


# --------------------------------------------------------------------------- merging


def _duplicate_of(keeper: Case, *, summary: str = "again", kind: str = "complaint") -> Case:
    from amends.cases.actions import case_open
    from amends.cases.actors import actor_for_staff
    from amends.domain.codes import ChannelType

    user = User.objects.get(username="v4voip-manager")
    now = timezone.now()
    return case_open(
        provider=keeper.provider,
        customer=keeper.customer,
        kind=kind,  # type: ignore[arg-type]
        channel=ChannelType.PHONE,
        first_received_at=now,
        summary=summary,
        now=now,
        actor=actor_for_staff(user),
    )


def test_a_merge_cycle_is_refused(demo: None) -> None:
    client = quiet("v4voip-manager")
    keeper = v4voip_case("investigating")
    dup = _duplicate_of(keeper)
    assert (
        act(client, keeper, "merge", version=keeper.version, duplicate_id=dup.pk).status_code == 302
    )
    dup.refresh_from_db()
    keeper.refresh_from_db()
    back = act(client, dup, "merge", version=dup.version, duplicate_id=keeper.pk)
    assert back.status_code in (400, 409)
    keeper.refresh_from_db()
    assert keeper.state == "investigating" and keeper.merged_into_id is None


def test_a_case_merged_already_cannot_be_merged_again(demo: None) -> None:
    client = quiet("v4voip-manager")
    keeper = v4voip_case("investigating")
    other = _duplicate_of(keeper, summary="second")
    dup = _duplicate_of(keeper, summary="third")
    assert (
        act(client, keeper, "merge", version=keeper.version, duplicate_id=dup.pk).status_code == 302
    )
    response = act(client, other, "merge", version=other.version, duplicate_id=dup.pk)
    assert response.status_code in (400, 409)
    dup.refresh_from_db()
    assert dup.merged_into_id == keeper.pk


def test_a_complaint_is_never_merged_into_a_query(demo: None) -> None:
    client = quiet("v4voip-manager")
    keeper = v4voip_case("investigating")
    query = _duplicate_of(keeper, kind="account_query")
    response = act(client, query, "merge", version=query.version, duplicate_id=keeper.pk)
    assert response.status_code in (400, 409)
    keeper.refresh_from_db()
    assert keeper.state == "investigating"


def test_a_merge_from_a_stale_page_is_refused(demo: None) -> None:
    client = quiet("v4voip-manager")
    keeper = v4voip_case("investigating")
    dup = _duplicate_of(keeper)
    stale = keeper.version
    assert act(client, keeper, "add_note", version=stale, text="moved on").status_code == 302
    response = act(client, keeper, "merge", version=stale, duplicate_id=dup.pk)
    assert response.status_code == 409
    dup.refresh_from_db()
    assert dup.state != "merged"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks: SQLite serialises every writer"
)
@pytest.mark.django_db(transaction=True)
def test_two_crossed_merges_at_once_leave_exactly_one_keeper(demo: None) -> None:
    import threading

    from amends.cases.actions import case_merge
    from amends.cases.actors import actor_for_staff
    from amends.cases.errors import CaseError

    keeper = v4voip_case("investigating")
    other = _duplicate_of(keeper)
    actor = actor_for_staff(User.objects.get(username="v4voip-manager"))
    start = threading.Barrier(2)
    results: list[str] = []

    def merge(into: int, dup: int) -> None:
        start.wait(5)
        try:
            case_merge(case_id=into, actor=actor, duplicate_id=dup, now=timezone.now())
            results.append("merged")
        except CaseError as refused:
            results.append(refused.code.value)
        except Exception as crash:  # a deadlock would land here
            results.append(type(crash).__name__)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=merge, args=(keeper.pk, other.pk)),
        threading.Thread(target=merge, args=(other.pk, keeper.pk)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == ["merged", "refused"], results
    states = sorted(
        Case.objects.filter(pk__in=[keeper.pk, other.pk]).values_list("state", flat=True)
    )
    assert states.count("merged") == 1


# --------------------------------------------------------------------------- stale pages


# --------------------------------------------------------------------------- hostile text

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def test_customer_text_is_escaped_on_every_console_page(demo: None) -> None:
    client = quiet("v4voip-manager")
    case = v4voip_case("investigating")
    Customer.objects.filter(pk=case.customer_id).update(
        contact_name=f"Pat {XSS}", business_name=XSS, postal_address=XSS
    )
    Case.objects.filter(pk=case.pk).update(summary=XSS, description=XSS)
    case.refresh_from_db()
    assert act(client, case, "add_note", version=case.version, text=XSS).status_code == 302
    case.refresh_from_db()
    act(client, case, "log_call", version=case.version, direction="inbound", summary=XSS)
    pages = [
        f"/staff/cases/{case.reference}/",
        "/staff/?queue=open",
        f"/staff/?q=Pat {XSS}",
        f"/staff/customers/lookup/?find=Pat {XSS}",
        f"/staff/cases/new/?find=Pat {XSS}",
        "/staff/post/",
        "/staff/calls/",
        "/staff/mail/",
        "/staff/failed/",
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "<img src=x" not in html, url
    # A refused form echoes what was typed: escaped too.
    refused = act(client, case, "accept_resolution", version=case.version, by=XSS, how="phone")
    assert "<script>alert(1)" not in refused.content.decode()


def test_an_email_subject_is_escaped_on_the_timeline_and_mail_page(demo: None) -> None:
    row = _email_on(v4voip_case("investigating"))
    InboundMessage.objects.filter(pk=row.pk).update(subject=XSS, from_name=XSS)
    client = quiet("v4voip-manager")
    assert row.case is not None
    for url in (f"/staff/cases/{row.case.reference}/", "/staff/mail/"):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html, url


def test_a_formula_typed_as_a_name_is_quoted_in_the_export(demo: None) -> None:
    case = v4voip_case("investigating")
    Customer.objects.filter(pk=case.customer_id).update(
        contact_name='=HYPERLINK("http://evil.example","x")', business_name="@SUM(1+1)"
    )
    client = quiet("v4voip-manager")
    body = b"".join(client.get("/staff/dashboard/cases.csv").streaming_content).decode()
    for line in body.splitlines():
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "@", "+")), line


# --------------------------------------------------------------------------- CSRF and redirects


def test_every_console_post_needs_the_csrf_token(demo: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="v4voip-manager"))
    case = v4voip_case("investigating")
    outbox = OutboxMessage.objects.filter(provider__slug="v4voip").first()
    assert outbox is not None
    urls = [
        f"/staff/cases/{case.reference}/do/add_note/",
        "/staff/cases/new/",
        f"/staff/post/{outbox.pk}/posted/",
        f"/staff/calls/{outbox.pk}/made/",
        f"/staff/failed/{outbox.pk}/retry/",
        "/staff/mail/1/open-case/",
        "/staff/code/new/",
        "/staff/account/sign-out-everywhere/",
        "/staff/logout/",
        "/staff/setup/",
        "/staff/verify/",
    ]
    for url in urls:
        assert client.post(url, {"text": "x", "version": case.version}).status_code == 403, url
    assert notes(case) == 0 or not case.events.filter(data__text="x").exists()


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
     "https:evil.example", " //evil.example"],
)  # fmt: skip
def test_signing_in_never_redirects_off_the_site(demo: None, target: str) -> None:
    client = Client()
    response = client.post(
        "/staff/login/?next=" + target,
        {"username": "v4voip-adviser", "password": DEMO_PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith(
        ("//", "/\\")
    ), response["Location"]


def test_logout_by_get_does_not_sign_out(demo: None) -> None:
    client = quiet("v4voip-adviser")
    assert client.get("/staff/logout/").status_code == 405
    assert client.get("/staff/").status_code == 200


# --------------------------------------------------------------------------- second factor


def _with_device(username: str) -> Client:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.get(username=username)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return quiet(username)


@pytest.mark.parametrize(
    "path",
    ["/staff/", "/staff/?queue=open", "/staff/verify/../", "/staff/dashboard/",
     "/staff/customers/lookup/?find=Demo", "/staff/dashboard/cases.csv", "/staff/code/",
     "/staff//", "/staff/cases/new/", "/staff/post/", "/staff/account/"],
)  # fmt: skip
def test_the_second_factor_cannot_be_skipped_by_any_path(demo: None, path: str) -> None:
    client = _with_device("v4voip-manager")
    response = client.get(path)
    assert response.status_code in (302, 404), path
    if response.status_code == 302:
        assert response["Location"].startswith("/staff/verify/"), path


def test_a_post_without_the_second_factor_writes_nothing(demo: None) -> None:
    client = _with_device("v4voip-manager")
    case = v4voip_case("investigating")
    response = act(client, case, "add_note", version=case.version, text="sneaky")
    assert response.status_code == 302 and response["Location"].startswith("/staff/verify/")
    assert notes(case) == 0 or not case.events.filter(data__text="sneaky").exists()


def test_setting_up_a_new_device_needs_the_current_one_first(demo: None) -> None:
    client = _with_device("v4voip-manager")
    response = client.get("/staff/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/verify/")
    response = client.post("/staff/setup/", {"code": "000000"})
    assert response.status_code == 302 and response["Location"].startswith("/staff/verify/")


# --------------------------------------------------------------------------- lockout


def test_lockout_is_not_bypassed_by_case_or_spaces_in_the_username(
    demo: None, settings: Any
) -> None:
    settings.AXES_ENABLED = True
    for n in range(5):
        Client(REMOTE_ADDR=f"10.0.0.{n + 1}").post(
            "/staff/login/", {"username": "v4voip-adviser", "password": "wrong"}
        )
    for n, name in enumerate((" v4voip-adviser", "v4voip-adviser ", "v4voip-adviser")):
        fresh = Client(REMOTE_ADDR=f"10.0.1.{n + 1}")
        response = fresh.post("/staff/login/", {"username": name, "password": DEMO_PASSWORD})
        assert response.status_code == 429, name


# --------------------------------------------------------------------------- garbled input


@pytest.mark.parametrize("amount", ["-Infinity", "0", "-5", "0.001", "twenty", ""])
def test_a_strange_amount_is_a_form_error_not_a_crash(demo: None, amount: str) -> None:
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    response = act(
        client, case, "record_compensation", version=case.version, amount_pence=amount,
        reason="x", form="invoice_credit", basis="goodwill",
    )  # fmt: skip
    assert response.status_code == 400, response.status_code


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00", "9999-12-31T23:59", "yesterday", "30/11/2026 10:00"]
)
def test_an_impossible_date_is_a_form_error_not_a_crash(demo: None, at: str) -> None:
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    response = act(client, case, "close", version=case.version, at=at)
    assert response.status_code in (400, 409), response.status_code
    response = client.post(
        "/staff/cases/new/",
        {"customer": case.customer_id, "kind": "complaint", "channel": "phone",
         "summary": "x", "first_received_at": at, "first_received_note": "late"},
    )  # fmt: skip
    assert response.status_code == 400, response.status_code


def test_a_date_in_the_future_or_before_first_receipt_is_refused(demo: None) -> None:
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    future = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    before = (case.first_received_at - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    for at in (future, before):
        response = act(
            client, case, "log_call", version=case.version, direction="inbound",
            summary="x", at=at,
        )  # fmt: skip
        assert response.status_code == 400, at
    assert not case.events.filter(kind="call_logged", data__summary="x").exists()
    response = client.post(
        "/staff/cases/new/",
        {"customer": case.customer_id, "kind": "complaint", "channel": "phone",
         "summary": "from the future", "first_received_at": future},
    )  # fmt: skip
    assert response.status_code == 400
    assert not Case.objects.filter(summary="from the future").exists()


@pytest.mark.parametrize("customer", ["99999999999999999999999", "-1", "0"])
def test_a_garbled_customer_id_in_the_new_case_form_is_a_form_error(
    demo: None, customer: str
) -> None:
    client = quiet("v4voip-adviser")
    response = client.post(
        "/staff/cases/new/",
        {"customer": customer, "kind": "complaint", "channel": "phone", "summary": "x"},
    )
    assert response.status_code == 400, response.status_code


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", ""])
def test_a_garbled_handler_or_duplicate_id_is_a_form_error(demo: None, value: str) -> None:
    client = quiet("v4voip-manager")
    case = v4voip_case("investigating")
    for action, name in (("assign", "handler_id"), ("merge", "duplicate_id")):
        response = act(client, case, action, **{"version": case.version, name: value})
        assert response.status_code == 400, (action, value, response.status_code)


@pytest.mark.parametrize(
    "query",
    ["from=0001-01-01", "from=2026-02-30", "to=0000-01-01", "from=2026-01-02&to=2026-01-01"],
)
def test_extreme_dashboard_dates_are_a_form_error_not_a_crash(demo: None, query: str) -> None:
    client = quiet("v4voip-manager")
    for url in ("/staff/dashboard/", "/staff/dashboard/cases.csv", "/staff/dashboard/clocks.csv"):
        response = client.get(f"{url}?{query}")
        assert response.status_code in (200, 400), (url, query, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


def test_huge_and_numerous_inputs_are_refused_without_a_crash(demo: None) -> None:
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    big = act(client, case, "add_note", version=case.version, text="x" * 1_000_000)
    assert big.status_code == 400
    many = client.post(
        f"/staff/cases/{case.reference}/do/add_note/",
        {"version": case.version, "text": "x", "access_needs": ["a"] * 10_000},
    )
    assert many.status_code == 400
    needs = client.post(
        "/staff/cases/new/",
        {"customer": "new", "contact_name": "X", "email": "x@example.invalid",
         "kind": "complaint", "channel": "phone", "summary": "x",
         "access_needs": ["<script>", "nonsense"] * 400},
    )  # fmt: skip
    assert needs.status_code == 400
    too_big = client.post(
        f"/staff/cases/{case.reference}/do/add_note/",
        {"version": case.version, "text": "x" * 3_000_000},
    )
    assert too_big.status_code in (400, 413)


@pytest.mark.parametrize(
    "query", ["queue=nonsense", "queue=open;DROP TABLE x", "queue=__class__", "queue=mine&o=-pk"]
)
def test_an_unknown_queue_falls_back_safely(demo: None, query: str) -> None:
    client = quiet("v4voip-adviser")
    assert client.get(f"/staff/?{query}").status_code == 200


@pytest.mark.parametrize("text", ["%", "_", "%%%", "___", "\\", "'", "' OR 1=1 --", "%_%"])
def test_search_wildcards_match_nothing(demo: None, text: str) -> None:
    client = quiet("v4voip-adviser")
    html = client.get("/staff/", {"q": text}).content.decode()
    assert "No case matches that." in html, text
    lookup = client.get("/staff/customers/lookup/", {"find": text * 3}).content.decode()
    assert "Demo customer" not in lookup, text


def test_an_unknown_action_is_not_found(demo: None) -> None:
    client = quiet("v4voip-manager")
    case = v4voip_case("investigating")
    for action in ("delete", "__init__", "FORMS", "compensation_mark_applied"):
        assert act(client, case, action, version=case.version).status_code == 404


def test_a_code_upload_that_is_huge_or_binary_is_refused(demo: None) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = quiet("v4voip-compliance")
    binary = SimpleUploadedFile("code.toml", b"\xff\xfe\x00\x01" * 1000)
    response = client.post("/staff/code/new/", {"file": binary, "action": "check"})
    assert response.status_code == 400
    huge = SimpleUploadedFile("code.toml", b"a = 1\n" * 200_000)
    response = client.post("/staff/code/new/", {"file": huge, "action": "check"})
    assert response.status_code == 400
    nul = client.post("/staff/code/new/", {"content": "a = 1\x00", "action": "check"})
    assert nul.status_code == 400
    count = CodeVersion.objects.filter(provider__slug="v4voip").count()
    adviser = quiet("v4voip-adviser")
    response = adviser.post(
        "/staff/code/new/", {"content": "x", "action": "activate", "effective_from": "2030-01-01"}
    )
    assert response.status_code == 403
    assert CodeVersion.objects.filter(provider__slug="v4voip").count() == count


# --------------------------------------------------------------------------- the logs


def test_the_logs_carry_no_personal_data(demo: None, caplog: Any) -> None:
    from amends.core.logging import JsonFormatter

    client = quiet("v4voip-adviser")
    caplog.set_level(logging.DEBUG)
    email = "pat.secret@example.invalid"
    client.post(
        "/staff/cases/new/",
        {"customer": "new", "contact_name": "Pat Secretname", "email": email,
         "postal_address": "1 Hidden Lane, AB1 2CD", "phone": "07700900123",
         "kind": "complaint", "channel": "phone", "summary": "Secret summary"},
    )  # fmt: skip
    client.get("/staff/", {"q": email})
    client.get("/staff/customers/lookup/", {"find": "Secretname"})
    client.get("/staff/cases/NOPE-26-000001-X/", {"q": email})
    client.post("/staff/cases/new/", {"customer": "abc", "summary": "Secretname"})
    formatter = JsonFormatter()
    lines = "\n".join(formatter.format(r) for r in caplog.records)
    for secret in (email, "Secretname", "Hidden Lane", "07700900123", "Secret summary"):
        assert secret not in lines, secret
    for line in lines.splitlines():
        json.loads(line)


# --------------------------------------------------------------------- findings, now fixed


@pytest.mark.parametrize("version", ["", "abc", "1.0", None])
def test_a_post_without_a_readable_version_is_refused_not_written_blind(
    demo: None, version: str | None
) -> None:
    """The stale-page check must not be skipped when ``version`` is missing or garbled: a form
    posted from an old page (or by a careless script) would overwrite what happened since."""
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    assert act(client, case, "add_note", version=case.version, text="first").status_code == 302
    data: dict[str, Any] = {"proposal": "A credit."}
    if version is not None:
        data["version"] = version
    response = act(client, case, "propose_resolution", **data)
    assert response.status_code in (400, 409)
    case.refresh_from_db()
    assert case.state == "investigating"


def test_a_crafted_customer_field_never_puts_what_was_typed_into_the_logs(
    demo: None, caplog: Any
) -> None:
    from amends.core.logging import JsonFormatter

    client = quiet("v4voip-adviser")
    caplog.set_level(logging.INFO)
    email = "pat.secret@example.invalid"
    response = client.post(
        "/staff/cases/new/",
        {"customer": email, "kind": "complaint", "channel": "phone", "summary": "x"},
    )
    lines = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert email not in lines
    assert response.status_code == 400


@pytest.mark.parametrize("customer", ["abc", "1.5", "1e3", " "])
def test_a_customer_id_that_is_not_a_number_is_a_form_error(demo: None, customer: str) -> None:
    client = quiet("v4voip-adviser")
    response = client.post(
        "/staff/cases/new/",
        {"customer": customer, "kind": "complaint", "channel": "phone", "summary": "x"},
    )
    assert response.status_code == 400, response.status_code


def test_a_chain_of_merges_shows_every_duplicates_history_on_the_last_keeper(
    demo: None,
) -> None:
    client = quiet("v4voip-manager")
    last = v4voip_case("investigating")
    middle = _duplicate_of(last, summary="middle")
    first = _duplicate_of(last, summary="first")
    assert (
        act(client, middle, "merge", version=middle.version, duplicate_id=first.pk).status_code
        == 302
    )
    middle.refresh_from_db()
    last.refresh_from_db()
    assert (
        act(client, last, "merge", version=last.version, duplicate_id=middle.pk).status_code == 302
    )
    html = client.get(f"/staff/cases/{last.reference}/").content.decode()
    assert middle.reference in html
    assert first.reference in html, "the first duplicate's history is lost from the keeper"


def test_a_merged_duplicate_takes_no_new_message_to_the_customer(demo: None) -> None:
    client = quiet("v4voip-manager")
    keeper = v4voip_case("investigating")
    dup = _duplicate_of(keeper)
    assert (
        act(client, keeper, "merge", version=keeper.version, duplicate_id=dup.pk).status_code == 302
    )
    dup.refresh_from_db()
    sent = OutboxMessage.objects.filter(case=dup).count()
    response = act(client, dup, "send_message", version=dup.version, kind="reply", text="Hello")
    assert response.status_code in (400, 409)
    assert OutboxMessage.objects.filter(case=dup).count() == sent
    assert keeper.reference in response.content.decode()  # says where to act instead


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "1e400", "1E+30"])
def test_a_non_finite_or_huge_amount_is_a_form_error_not_a_crash(demo: None, amount: str) -> None:
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    response = act(
        client, case, "record_compensation", version=case.version, amount_pence=amount,
        reason="x", form="invoice_credit", basis="goodwill",
    )  # fmt: skip
    assert response.status_code == 400, response.status_code


@pytest.mark.parametrize("at", ["2026-02-30T10:00", "2026-13-01 10:00", "2026-11-30T25:00"])
def test_a_well_formed_but_impossible_date_is_a_form_error_not_a_crash(demo: None, at: str) -> None:
    client = quiet("v4voip-case_handler")
    case = v4voip_case("investigating")
    response = act(client, case, "close", version=case.version, at=at)
    assert response.status_code == 400, response.status_code
    response = client.post(
        "/staff/cases/new/",
        {"customer": case.customer_id, "kind": "complaint", "channel": "phone",
         "summary": "x", "first_received_at": at, "first_received_note": "late"},
    )  # fmt: skip
    assert response.status_code == 400, response.status_code


def test_a_dashboard_ending_on_the_last_representable_day_is_a_form_error(demo: None) -> None:
    client = quiet("v4voip-manager")
    for url in ("/staff/dashboard/", "/staff/dashboard/cases.csv", "/staff/dashboard/clocks.csv"):
        response = client.get(url, {"to": "9999-12-31"})
        assert response.status_code in (200, 400), (url, response.status_code)


def test_a_handler_id_beyond_64_bits_is_a_form_error(demo: None) -> None:
    client = quiet("v4voip-manager")
    case = v4voip_case("investigating")
    huge = "99999999999999999999999"
    for action, name in (("assign", "handler_id"), ("merge", "duplicate_id")):
        response = act(client, case, action, **{"version": case.version, name: huge})
        assert response.status_code == 400, (action, response.status_code)


def test_a_customers_link_to_a_merged_duplicate_opens_the_case_it_joined(demo: None) -> None:
    from amends.cases.selectors import case_get_for_customer

    client = quiet("v4voip-manager")
    keeper = v4voip_case("investigating")
    dup = _duplicate_of(keeper)
    _, token = actions.case_link_create(
        case_id=dup.pk, actor=system_actor(dup.provider_id), now=timezone.now()
    )
    assert (
        act(client, keeper, "merge", version=keeper.version, duplicate_id=dup.pk).status_code == 302
    )
    assert case_get_for_customer(token, now=timezone.now()) == keeper
