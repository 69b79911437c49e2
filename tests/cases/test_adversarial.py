"""Red team of the rewritten core: each test is a rule the core breaks today (they fail until
the defect is fixed). Named by the rule; the docstring says how it breaks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from amends.cases import actions
from amends.cases.actors import customer_actor
from amends.cases.clocks import mirror
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Customer, Obligation
from amends.cases.selectors import case_actions_for_staff
from amends.cases.worker import obligation_sweep
from amends.cases.writes import AdrTrigger
from amends.comms.models import OutboxMessage
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import Action
from amends.providers.services import code_version_activate
from tests.cases.conftest import CODES, World, london

pytestmark = pytest.mark.django_db


def adr_letters(case: Case, kind: str = "adr_letter") -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(case=case, kind=kind).order_by("pk"))


# ----------------------------------------------------------------- closure and the ADR letter


def test_a_complaint_never_closes_on_an_acceptance_the_customer_then_took_to_the_scheme(
    compliant: World,
) -> None:
    """Accepted and closed; the customer goes to the ombudsman anyway, who declines it as
    premature, so work goes on (investigating). Referred again, it closes on the old acceptance
    (resolved_at is never cleared by a referral), which also cancels the ADR clock: no
    acceptance of the complaint as it now stands, no letter."""
    w = compliant
    case = w.open(london(2026, 5, 4, 10))
    w.act(case, Action.PROPOSE_RESOLUTION, london(2026, 5, 5, 10))
    w.act(case, Action.ACCEPT_RESOLUTION, london(2026, 5, 5, 11))
    w.act(case, Action.CLOSE, london(2026, 5, 5, 12))
    w.act(case, Action.REFER_TO_SCHEME, london(2026, 5, 6, 10))
    case = w.act(case, Action.SCHEME_DECLINED, london(2026, 5, 7, 10))
    assert case.state == "investigating"  # the customer is dissatisfied; work goes on
    w.act(case, Action.REFER_TO_SCHEME, london(2026, 5, 8, 10))
    with pytest.raises(CaseError) as refused:
        w.act(case, Action.CLOSE, london(2026, 5, 8, 12))
    assert refused.value.code == ErrorCode.REFUSED


def test_a_customers_adr_request_on_a_query_is_recorded_not_refused(compliant: World) -> None:
    """Staff recording that the customer asked use case_request_adr_letter (who, how), which
    converts a query first; case_issue_adr_letter is only the staff's own, unasked letter and
    says which service records a request instead of issuing a letter on a query."""
    query = compliant.open(london(2026, 5, 4, 10), kind=CaseKind.ACCOUNT_QUERY)
    with pytest.raises(CaseError) as refused:
        actions.case_issue_adr_letter(
            case_id=query.pk,
            actor=compliant.staff,
            trigger=AdrTrigger.CUSTOMER_REQUEST,
            now=london(2026, 5, 4, 11),
        )
    assert refused.value.field == "trigger" and "case_request_adr_letter" in str(refused.value)
    actions.case_request_adr_letter(
        case_id=query.pk, actor=compliant.staff, by="Pat", how="phone", now=london(2026, 5, 4, 11)
    )
    query.refresh_from_db()
    assert query.kind == CaseKind.COMPLAINT.value
    assert len(adr_letters(query)) == 1


def test_the_time_letter_is_the_workers_alone_and_only_at_the_adr_point(
    compliant: World,
) -> None:
    """A system actor (public forms, inbound mail) may call case_issue_adr_letter with
    trigger=TIME on the day the complaint arrives: the letter and the record say "your
    complaint has not been resolved within the time the rules allow" weeks before the ADR
    point, and the case's trigger is recorded as "time"."""
    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError):
        actions.case_issue_adr_letter(
            case_id=case.pk,
            actor=compliant.system,
            trigger=AdrTrigger.TIME,
            now=london(2026, 5, 4, 11),
        )
    assert adr_letters(case) == []


def test_an_adr_letter_is_dated_on_the_uk_day_it_was_issued(compliant: World) -> None:
    """The worker runs on timezone.now() (UTC). At 00:30 BST on 16 June (23:30 UTC on the
    15th) the time letter says it was issued on 2026-06-15, so the customer's "12 months from
    the date of this letter" is a day short; the copy sent later (read back from the
    database, in UTC) repeats the wrong date even when the letter was issued with a London
    time (see the next test)."""
    case = compliant.open(london(2026, 5, 4, 10))  # ADR point: 15 June 2026, 10:00
    worker_now = datetime(2026, 6, 15, 23, 30, tzinfo=UTC)  # 00:30 on 16 June in London
    assert obligation_sweep(worker_now) >= 1
    (letter,) = adr_letters(case)
    assert letter.payload["issued_at"] == "2026-06-16"


def test_a_copy_of_the_adr_letter_carries_the_uk_day_it_was_issued(compliant: World) -> None:
    """The copy reads adr_letter_issued_at back from the database (UTC) and takes .date():
    a deadlock letter issued at 00:30 BST on 20 May is copied as issued on 19 May."""
    other = compliant.open(london(2026, 5, 4, 10))
    compliant.act(other, Action.DECLARE_DEADLOCK, london(2026, 5, 20, 0, 30))
    compliant.act(other, Action.REQUEST_ADR_LETTER, london(2026, 5, 21, 10))
    (copy,) = adr_letters(other, "adr_letter_copy")
    assert copy.payload["issued_at"] == "2026-05-20"


# ----------------------------------------------------------------- every promise is a clock


def test_a_code_with_a_first_update_and_a_regular_update_keeps_both_clocks(
    compliant: World,
) -> None:
    """A code promising "a first update within 3 working days" and "updates every 5 working
    days" checks clean (`amends code check`: no errors, no warnings) and activates, but
    derive() gives both clocks the same key (update@<schedule>#1): on PostgreSQL case_open
    fails with ProgrammingError (ON CONFLICT DO UPDATE cannot affect row a second time), on
    SQLite one promise's clock is silently lost."""
    text = (CODES / "template.toml").read_text()
    marker = '[[case_kinds.complaint.promises]]\nkind = "resolve"'
    assert marker in text
    text = text.replace(
        marker,
        '[[case_kinds.complaint.promises]]\nkind = "update"\nwithin = "3 working days"\n\n'
        + marker,
        1,
    )
    code_version_activate(
        provider=compliant.provider,
        content=text,
        effective_from=date(2026, 1, 1),
        activated_by=None,
        now=london(2026, 1, 1, 9),
    )
    case = compliant.open(london(2026, 5, 4, 10))
    case.refresh_from_db()
    rows = {o.key: mirror(o) for o in Obligation.objects.filter(case=case)}
    assert rows == case.clocks
    updates = Obligation.objects.filter(case=case, kind="update", state="pending")
    # one clock for the first update (3 working days), one for the regular cadence (5)
    assert updates.count() == 2, list(updates.values_list("key", "due_at"))


# ----------------------------------------------------------------- one error type


def test_a_bad_adr_trigger_is_a_case_error_naming_trigger(compliant: World) -> None:
    """AdrTrigger(trigger) runs before any check: ValueError (a 500) escapes."""
    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_issue_adr_letter(
            case_id=case.pk, actor=compliant.staff, trigger="please", now=london(2026, 5, 4, 11)
        )
    assert (refused.value.field, refused.value.code) == ("trigger", ErrorCode.INVALID)


def test_a_bad_number_of_employees_is_a_case_error_naming_employees(compliant: World) -> None:
    """int(employees) on "a few" raises ValueError out of customer_create."""
    with pytest.raises(CaseError) as refused:
        actions.customer_create(
            provider=compliant.provider,
            now=london(2026, 5, 4, 10),
            contact_name="Pat",
            employees="a few",  # type: ignore[arg-type]
        )
    assert (refused.value.field, refused.value.code) == ("employees", ErrorCode.INVALID)


def test_missing_access_needs_are_none_and_a_bare_string_is_refused(compliant: World) -> None:
    """access_needs=None (a JSON null) raised TypeError: it now means no needs; a bare string
    (which would be read letter by letter) is refused naming the field."""
    customer = actions.customer_create(
        provider=compliant.provider,
        now=london(2026, 5, 4, 10),
        contact_name="Pat",
        access_needs=None,  # type: ignore[arg-type]
    )
    assert customer.access_needs == []
    with pytest.raises(CaseError) as refused:
        actions.customer_create(
            provider=compliant.provider,
            now=london(2026, 5, 4, 10),
            contact_name="Pat",
            access_needs="large_print",
        )
    assert refused.value.field == "access_needs"


def test_a_handler_id_that_is_not_a_number_is_a_case_error_naming_the_handler(
    compliant: World,
) -> None:
    """StaffMember.objects.filter(user_id="abc") raises ValueError out of case_assign."""
    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_assign(
            case_id=case.pk,
            actor=compliant.staff,
            handler_id="abc",  # type: ignore[arg-type]
            now=london(2026, 5, 4, 11),
        )
    assert refused.value.code == ErrorCode.INVALID


def test_a_case_id_that_is_not_a_number_is_not_found(compliant: World) -> None:
    """lock_case filters pk="abc": ValueError escapes every case service for staff."""
    with pytest.raises(CaseError) as refused:
        actions.case_acknowledge(
            case_id="abc",  # type: ignore[arg-type]
            actor=compliant.staff,
            now=london(2026, 5, 4, 11),
        )
    assert refused.value.code == ErrorCode.NOT_FOUND


def test_a_duplicate_account_number_from_another_process_is_a_case_error_not_an_integrity_error(
    compliant: World,
) -> None:
    """customer_create used to check .exists() then insert: another process inserting the
    same account number in between made the insert raise IntegrityError (a 500). It now
    relies on the unique constraint alone, so whoever inserted first, the second is refused
    naming the field (here the other process's row is written straight to the table)."""
    Customer.objects.create(
        provider=compliant.provider,
        created_at=london(2026, 5, 4, 10),
        contact_name="Other process",
        account_number="ACC-1",
    )
    with pytest.raises(CaseError) as refused:
        actions.customer_create(
            provider=compliant.provider,
            now=london(2026, 5, 4, 10),
            contact_name="Pat",
            account_number="ACC-1",
        )
    assert refused.value.field == "account_number"


# ----------------------------------------------------------------- when things happened


def test_nothing_is_recorded_on_a_case_before_it_was_first_received(compliant: World) -> None:
    """`at` is checked against first receipt, but `now` (which `at` defaults to) is not: an
    acknowledgement recorded three days before the complaint was received is accepted, and
    the acknowledge clock is met before the case existed."""
    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_acknowledge(case_id=case.pk, actor=compliant.staff, now=london(2026, 5, 1, 10))
    assert refused.value.code == ErrorCode.INVALID
    case.refresh_from_db()
    assert case.acknowledged_at is None


# ----------------------------------------------------------------- recorded who and how


def test_an_acceptance_sent_by_email_is_recorded_as_by_email(compliant: World) -> None:
    """A customer actor from inbound mail (customer_actor(channel="email")) is recorded as
    accepting "by portal": _customer_answer hard-codes "portal", so the acceptance's how
    contradicts the event's actor (customer:email)."""
    case = compliant.open(london(2026, 5, 4, 10))
    compliant.act(case, Action.PROPOSE_RESOLUTION, london(2026, 5, 5, 10))
    actor = customer_actor(provider_id=compliant.provider.pk, case_id=case.pk, channel="email")
    case = actions.case_accept_resolution(case_id=case.pk, actor=actor, now=london(2026, 5, 5, 11))
    assert case.acceptance_how == "email"


# ----------------------------------------------------------------- the buttons mirror the services


def test_the_issue_adr_letter_button_mirrors_what_the_service_does(compliant: World) -> None:
    """case_issue_adr_letter issues a letter on a closed complaint (recorded as a fact), but
    case_actions_for_staff does not offer it (decide() refuses ISSUE from closed): a
    compliance lead putting a missed letter right finds no button."""
    w = compliant
    case = w.open(london(2026, 5, 4, 10))
    w.act(case, Action.PROPOSE_RESOLUTION, london(2026, 5, 5, 10))
    w.act(case, Action.ACCEPT_RESOLUTION, london(2026, 5, 5, 11))
    case = w.act(case, Action.CLOSE, london(2026, 5, 5, 12))
    offered = Action.ISSUE_ADR_LETTER in case_actions_for_staff(w.manager, case)
    actions.case_issue_adr_letter(
        case_id=case.pk, actor=w.staff, trigger=AdrTrigger.STAFF, now=london(2026, 5, 6, 11)
    )
    assert len(adr_letters(case)) == 1  # the service did it...
    assert offered  # ...so the button must be there


def test_a_customer_cannot_backdate_what_they_do(compliant: World) -> None:
    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_escalate(
            case_id=case.pk,
            actor=compliant.customer_of(case),
            reason="not happy",
            now=london(2026, 5, 20, 10),
            at=london(2026, 5, 5, 10),
        )
    assert refused.value.field == "at"


def test_a_second_staff_letter_is_a_copy_not_a_second_letter(compliant: World) -> None:
    case = compliant.open(london(2026, 5, 4, 10))
    for hour in (11, 12):  # a double click, without expected_version
        actions.case_issue_adr_letter(
            case_id=case.pk, actor=compliant.staff, now=london(2026, 5, 5, hour)
        )
    assert len(adr_letters(case)) == 1
    assert OutboxMessage.objects.filter(case=case, kind="adr_letter_copy").count() == 1


def test_a_case_is_assigned_only_to_someone_who_handles_cases(compliant: World) -> None:
    from amends.domain.access import Role
    from amends.providers.services import staff_create

    compliance = staff_create(provider=compliant.provider, username="c-lead", role=Role.COMPLIANCE)
    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_assign(
            case_id=case.pk,
            actor=compliant.staff,
            handler_id=compliance.user_id,
            now=london(2026, 5, 4, 11),
        )
    assert refused.value.field == "handler_id"


def test_a_case_link_lives_between_five_minutes_and_a_year(compliant: World) -> None:
    from datetime import timedelta

    case = compliant.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_link_create(
            case_id=case.pk,
            actor=compliant.staff,
            now=london(2026, 5, 4, 11),
            lifetime=timedelta.max,
        )
    assert refused.value.field == "lifetime"
