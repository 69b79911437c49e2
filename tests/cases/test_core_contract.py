"""The defects a reviewer and a red team found in the core, each kept as the rule it broke,
and the contract the faces build on (typed services, one error type, the role table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from amends.cases import actions
from amends.cases.actors import staff_actor
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.models import Case, Obligation
from amends.cases.worker import obligation_sweep
from amends.comms.models import OutboxMessage
from amends.domain.codes import CaseKind
from amends.domain.lifecycle import Action
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db

#: A time without its zone, as a careless caller might pass one.
NAIVE = datetime(2026, 5, 4, 10, tzinfo=UTC).replace(tzinfo=None)


def row(case: Case, key: str) -> Obligation:
    return Obligation.objects.get(case=case, key=key)


# ------------------------------------------------------------------- 1. conversion


def test_a_converted_query_needs_the_complaints_own_acceptance_or_letter_to_close(
    iss: World,
) -> None:
    query = iss.open(london(2026, 5, 4, 10), kind=CaseKind.ACCOUNT_QUERY)
    iss.act(query, Action.PROPOSE_RESOLUTION, london(2026, 5, 4, 11))
    iss.act(query, Action.ACCEPT_RESOLUTION, london(2026, 5, 4, 12))
    iss.act(query, Action.CONVERT_TO_COMPLAINT, london(2026, 5, 5, 10))
    query.refresh_from_db()
    assert (query.kind, query.resolved_at, query.acceptance_by) == ("complaint", None, "")
    assert query.first_received_at == london(2026, 5, 4, 10)  # first receipt kept
    assert row(query, "adr_letter").state == "pending"  # the ADR clock runs again
    iss.act(query, Action.REFER_TO_SCHEME, london(2026, 5, 6, 10))
    with pytest.raises(CaseError, match="acceptance is recorded or an ADR letter"):
        iss.act(query, Action.CLOSE, london(2026, 5, 6, 11))


# ------------------------------------------------------------------- 2. withdrawal


def test_a_withdrawal_is_refused_without_who_asked_and_how(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        iss.act(case, Action.WITHDRAW, london(2026, 5, 4, 11), by="", how="phone")
    assert refused.value.field == "by"
    with pytest.raises(CaseError) as refused:
        iss.act(case, Action.WITHDRAW, london(2026, 5, 4, 11), by="Pat", how="telepathy")
    assert refused.value.field == "how"
    assert row(case, "adr_letter").state == "pending"
    iss.act(case, Action.WITHDRAW, london(2026, 5, 4, 11), by="Pat Example", how="email")
    case.refresh_from_db()
    assert (case.state, case.withdrawal_by, case.withdrawal_how) == (
        "withdrawn",
        "Pat Example",
        "email",
    )
    event = case.events.get(kind="withdraw")
    assert (event.data["by"], event.data["how"]) == ("Pat Example", "email")


def test_the_database_refuses_a_withdrawal_without_who_and_how(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(state="withdrawn")


def test_a_customer_withdrawing_through_their_link_is_recorded_as_the_customer(
    iss: World,
) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    iss.act(case, Action.WITHDRAW, london(2026, 5, 4, 11), actor=iss.customer_of(case))
    case.refresh_from_db()
    assert (case.withdrawal_by, case.withdrawal_how) == ("the customer", "portal")


# ------------------------------------------------------------------- 4. due means on or before


def test_an_acknowledgement_at_the_due_second_is_met(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    due = row(case, "acknowledge").due_at
    obligation_sweep(due)  # the worker does not act on a clock at its due instant itself
    assert row(case, "acknowledge").state == "pending"
    iss.act(case, Action.ACKNOWLEDGE, due)
    assert (row(case, "acknowledge").state, row(case, "acknowledge").met_at) == ("met", due)
    obligation_sweep(due + timedelta(seconds=1))
    assert row(case, "acknowledge").state == "met"
    assert not case.events.filter(kind="obligation_breached", data__obligation="acknowledge")


def test_a_deadlock_letter_exactly_at_the_adr_point_is_no_adr_breach(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    point = row(case, "adr_letter").due_at
    iss.act(case, Action.DECLARE_DEADLOCK, point)
    obligation_sweep(point + timedelta(minutes=5))
    letter = row(case, "adr_letter")
    assert (letter.state, letter.met_at) == ("met", point)
    assert not case.events.filter(kind="obligation_breached", data__obligation="adr_letter")
    assert OutboxMessage.objects.filter(case=case, kind="adr_letter").count() == 1


def test_one_second_late_is_a_breach(iss: World) -> None:
    case = iss.open(london(2026, 11, 20, 10))
    due = row(case, "acknowledge").due_at
    iss.act(case, Action.ACKNOWLEDGE, due + timedelta(seconds=1))
    obligation_sweep(due + timedelta(seconds=2))
    assert row(case, "acknowledge").state == "breached"


# ------------------------------------------------------------------- 7. bad input


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        pytest.param({"first_received_at": NAIVE}, "first_received_at", id="naive"),
        pytest.param(
            {
                "first_received_at": datetime(2101, 1, 5, 10, tzinfo=UTC),
                "now": datetime(2101, 1, 5, 10, tzinfo=UTC),
            },
            "now",
            id="year-2101",
        ),
        pytest.param({"summary": "Line \ud800 dead"}, "summary", id="lone-surrogate"),
        pytest.param({"summary": "Line\x00dead"}, "summary", id="nul"),
        pytest.param({"summary": "x" * 201}, "summary", id="too-long"),
        pytest.param({"summary": "   "}, "summary", id="blank"),
        pytest.param({"description": "y" * 20_001}, "description", id="description-too-long"),
        pytest.param({"kind": "grumble"}, "kind", id="unknown-kind"),
        pytest.param({"now": NAIVE}, "now", id="naive-now"),
    ],
)
def test_case_open_refuses_bad_input_naming_the_field(iss: World, arguments, field) -> None:  # type: ignore[no-untyped-def]
    values = {
        "provider": iss.provider,
        "customer": iss.customer,
        "kind": CaseKind.COMPLAINT,
        "channel": "phone",
        "first_received_at": london(2026, 5, 4, 10),
        "summary": "Line dead",
        "now": london(2026, 5, 4, 10),
        "actor": iss.staff,
        **arguments,
    }
    with pytest.raises(CaseError) as refused:
        actions.case_open(**values)
    assert (refused.value.field, refused.value.code) == (field, ErrorCode.INVALID)
    assert "Traceback" not in refused.value.message
    assert not Case.objects.exists()


def test_an_interval_of_100000_weeks_is_refused_not_a_calendar_crash(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        iss.act(case, Action.AGREE_UPDATES, london(2026, 5, 4, 11), interval="100000 weeks")
    assert refused.value.field == "interval"
    with pytest.raises(CaseError) as refused:
        iss.act(case, Action.AGREE_UPDATES, london(2026, 5, 4, 11), interval="every so often")
    assert refused.value.field == "interval"


def test_an_action_dated_before_first_receipt_is_refused(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_acknowledge(
            case_id=case.pk, actor=iss.staff, now=london(2026, 5, 4, 12), at=london(2023, 5, 4, 12)
        )
    assert refused.value.field == "at"
    with pytest.raises(CaseError) as refused:
        actions.case_acknowledge(
            case_id=case.pk,
            actor=iss.staff,
            now=london(2026, 5, 4, 12),
            at=NAIVE,
        )
    assert refused.value.field == "at"


def test_customer_fields_are_checked_at_the_boundary(iss: World) -> None:
    bad = [
        ({"contact_name": "Pat\x00"}, "contact_name"),
        ({"email": "not an email"}, "email"),
        ({"access_needs": ["telepathy"]}, "access_needs"),
        ({"vulnerability_note": "hard of hearing"}, "vulnerability_note"),
        ({"business_name": "B" * 201}, "business_name"),
    ]
    for extra, field in bad:
        with pytest.raises(CaseError) as refused:
            actions.customer_create(
                provider=iss.provider,
                now=london(2026, 5, 4, 10),
                **{"contact_name": "Pat", **extra},
            )
        assert refused.value.field == field, extra


# ------------------------------------------------------------------- 9. same-second updates


def test_two_updates_in_one_second_and_one_in_the_agreeing_call_are_all_kept(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    moment = london(2026, 5, 5, 10)
    iss.act(case, Action.AGREE_UPDATES, moment, interval="2 working days")
    iss.act(case, Action.RECORD_UPDATE, moment)
    iss.act(case, Action.RECORD_UPDATE, moment)
    updates = Obligation.objects.filter(case=case, kind="update").order_by("key")
    assert [(o.state, o.met_at) for o in updates if o.met_at] == [("met", moment), ("met", moment)]
    assert updates.filter(state="pending").count() == 1


# ------------------------------------------------------------------- 10. a poisoned clock


def test_a_clock_the_worker_cannot_process_never_delays_the_others(iss: World) -> None:
    poisoned = iss.open(london(2026, 11, 2, 9))
    healthy = iss.open(london(2026, 11, 2, 10))
    # Something the worker cannot read (a value written behind the services' back).
    Case.objects.filter(pk=poisoned.pk).update(update_interval="every so often")
    later = london(2026, 11, 30, 10)
    obligation_sweep(later)
    assert row(healthy, "acknowledge").state == "breached"  # the pass carried on
    bad = row(poisoned, "acknowledge")
    assert (bad.state, bad.attempts) == ("pending", 1)
    assert "ValueError" in bad.last_error and bad.retry_at == later + timedelta(seconds=30)
    alerts = OutboxMessage.objects.filter(kind="worker_alert", case=poisoned)
    assert alerts.exists() and {(a.audience, a.channel) for a in alerts} == {("staff", "staff")}
    assert alerts.filter(key=f"obligation:{bad.pk}:worker_alert").count() == 1
    # Backing off: the next pass does not try it again before its retry time...
    assert obligation_sweep(later + timedelta(seconds=10)) == 0
    assert row(poisoned, "acknowledge").attempts == 1
    # ...and once put right, it is processed.
    Case.objects.filter(pk=poisoned.pk).update(update_interval="")
    assert obligation_sweep(later + timedelta(minutes=1)) >= 1
    fixed = row(poisoned, "acknowledge")
    assert (fixed.state, fixed.attempts, fixed.last_error) == ("breached", 0, "")


def test_health_reports_clocks_the_worker_is_failing_on(iss: World, client) -> None:  # type: ignore[no-untyped-def]
    from amends.cases.worker import failing_clocks

    poisoned = iss.open(london(2026, 11, 2, 9))
    Case.objects.filter(pk=poisoned.pk).update(update_interval="every so often")
    obligation_sweep(london(2026, 11, 30, 10))
    assert failing_clocks() >= 1
    report = client.get("/healthz").json()
    assert report["worker"]["failing_clocks"] >= 1


# ------------------------------------------------------------------- roles and access


def test_a_role_without_the_permission_is_refused_by_the_service(iss: World) -> None:
    from amends.domain.access import Role
    from amends.providers.services import staff_create

    compliance = staff_actor(
        staff_create(provider=iss.provider, username="iss-comp", role=Role.COMPLIANCE)
    )
    adviser = staff_actor(
        staff_create(provider=iss.provider, username="iss-adv", role=Role.ADVISER)
    )
    case = iss.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_close(case_id=case.pk, actor=compliance, now=london(2026, 5, 4, 11))
    assert refused.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(CaseError) as refused:
        actions.case_declare_deadlock(
            case_id=case.pk, actor=adviser, final_position="no", now=london(2026, 5, 4, 11)
        )
    assert refused.value.code is ErrorCode.FORBIDDEN
    # ...and what the role may do, it can.
    actions.case_acknowledge(case_id=case.pk, actor=adviser, now=london(2026, 5, 4, 11))


def test_a_customer_acts_only_on_their_own_case(iss: World) -> None:
    mine = iss.open(london(2026, 5, 4, 10))
    theirs = iss.open(london(2026, 5, 4, 11))
    with pytest.raises(CaseError) as refused:
        actions.case_request_adr_letter(
            case_id=theirs.pk, actor=iss.customer_of(mine), now=london(2026, 5, 4, 12)
        )
    assert refused.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(CaseError) as refused:
        actions.case_close(case_id=mine.pk, actor=iss.customer_of(mine), now=london(2026, 5, 4, 12))
    assert refused.value.code is ErrorCode.FORBIDDEN


def test_a_stale_page_cannot_overwrite_a_newer_state(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    seen = case.version
    actions.case_acknowledge(case_id=case.pk, actor=iss.staff, now=london(2026, 5, 4, 11))
    with pytest.raises(CaseError) as refused:
        actions.case_investigate(
            case_id=case.pk, actor=iss.staff, now=london(2026, 5, 4, 12), expected_version=seen
        )
    assert refused.value.code is ErrorCode.CONFLICT
    case.refresh_from_db()
    actions.case_investigate(
        case_id=case.pk, actor=iss.staff, now=london(2026, 5, 4, 12), expected_version=case.version
    )


def test_a_handler_issuing_the_adr_letter_by_hand_is_recorded_as_staff(iss: World) -> None:
    from amends.cases.writes import AdrTrigger

    case = iss.open(london(2026, 5, 4, 10))
    with pytest.raises(CaseError) as refused:
        actions.case_issue_adr_letter(
            case_id=case.pk, actor=iss.staff, trigger=AdrTrigger.TIME, now=london(2026, 5, 5, 10)
        )
    assert refused.value.field == "trigger"
    actions.case_issue_adr_letter(
        case_id=case.pk, actor=iss.staff, trigger=AdrTrigger.STAFF, now=london(2026, 5, 5, 10)
    )
    case.refresh_from_db()
    assert case.adr_letter_trigger == "staff"
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert letter.payload["trigger"] == "staff"


def test_an_admin_edit_of_the_providers_scheme_never_moves_an_open_cases_remedy_deadline(
    iss: World,
) -> None:
    case = iss.open(london(2026, 5, 1, 10))
    iss.act(case, Action.DECLARE_DEADLOCK, london(2026, 5, 10, 10))
    iss.provider.adr_scheme = "cisas"
    iss.provider.save()
    iss.act(case, Action.REFER_TO_SCHEME, london(2026, 5, 20, 10))
    iss.act(case, Action.RECORD_SCHEME_DECISION, london(2026, 7, 1, 10))
    iss.act(case, Action.ACCEPT_DECISION, london(2026, 7, 3, 15))
    # ISS names no approved scheme, so the Communications Ombudsman it belonged to when the
    # case was opened sets the deadline: 28 days, not CISAS's 20 working days.
    assert row(case, "adr_remedy").due_at == london(2026, 7, 31, 15)


def test_the_providers_closure_days_are_not_working_days(iss: World) -> None:
    from datetime import date

    iss.provider.closed_dates = [date(2026, 11, 23).isoformat()]
    iss.provider.save()
    case = iss.open(london(2026, 11, 20, 10))
    # Friday 10:00 + 24 working hours (09:00-17:00) skipping Monday 23 Nov: Thursday 10:00.
    assert row(case, "acknowledge").due_at == london(2026, 11, 26, 10)


# ------------------------------------------------------------------- compensation


def test_compensation_is_recorded_then_applied_to_an_invoice_once(iss: World) -> None:
    from amends.cases.models import CompensationBasis, CompensationForm
    from amends.domain.access import Role
    from amends.providers.services import staff_create

    case = iss.open(london(2026, 5, 4, 10))
    credit = actions.case_record_compensation(
        case_id=case.pk,
        actor=iss.staff,
        amount_pence=2500,
        reason="Line down for three days",
        form=CompensationForm.INVOICE_CREDIT,
        basis=CompensationBasis.GOODWILL,
        now=london(2026, 5, 5, 10),
    )
    assert credit.applied_at is None
    with pytest.raises(CaseError) as refused:
        actions.compensation_mark_applied(
            compensation_id=credit.pk,
            actor=iss.staff,
            invoice_reference="INV-1",
            now=london(2026, 5, 6, 10),
        )
    assert refused.value.code is ErrorCode.FORBIDDEN  # billing is the admin's (or the API's)
    admin = staff_actor(staff_create(provider=iss.provider, username="iss-adm", role=Role.ADMIN))
    applied = actions.compensation_mark_applied(
        compensation_id=credit.pk,
        actor=admin,
        invoice_reference="INV-1",
        now=london(2026, 5, 6, 10),
    )
    assert (applied.invoice_reference, applied.applied_at) == ("INV-1", london(2026, 5, 6, 10))
    with pytest.raises(CaseError, match="Already applied"):
        actions.compensation_mark_applied(
            compensation_id=credit.pk,
            actor=admin,
            invoice_reference="INV-2",
            now=london(2026, 5, 7, 10),
        )
    kinds = list(case.events.order_by("sequence").values_list("kind", flat=True))
    assert kinds[-2:] == ["compensation_recorded", "compensation_applied"]
    with pytest.raises(CaseError) as refused:
        actions.case_record_compensation(
            case_id=case.pk,
            actor=iss.staff,
            amount_pence=-5,
            reason="x",
            form=CompensationForm.AS_AGREED,
            basis=CompensationBasis.GOODWILL,
            now=london(2026, 5, 5, 10),
        )
    assert refused.value.field == "amount_pence"


def test_another_providers_compensation_is_not_found(iss: World, v4voip: World) -> None:
    from amends.cases.models import CompensationBasis, CompensationForm

    case = iss.open(london(2026, 5, 4, 10))
    credit = actions.case_record_compensation(
        case_id=case.pk,
        actor=iss.staff,
        amount_pence=100,
        reason="x",
        form=CompensationForm.AS_AGREED,
        basis=CompensationBasis.GOODWILL,
        now=london(2026, 5, 5, 10),
    )
    from amends.domain.access import Role
    from amends.providers.services import staff_create

    their_admin = staff_actor(
        staff_create(provider=v4voip.provider, username="v4v-adm", role=Role.ADMIN)
    )
    with pytest.raises(CaseError) as refused:
        actions.compensation_mark_applied(
            compensation_id=credit.pk,
            actor=their_admin,
            invoice_reference="X",
            now=london(2026, 5, 6, 10),
        )
    assert refused.value.code is ErrorCode.NOT_FOUND


# ------------------------------------------------------------------- the outbox as evidence


def test_an_outbox_row_carries_its_recipient_document_and_stable_message_id(iss: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    case.customer.email = "pat@example.co.uk"
    case.customer.save()
    iss.act(case, Action.DECLARE_DEADLOCK, london(2026, 5, 20, 10), final_offer="£30 credit")
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert (letter.channel, letter.recipient_address) == ("email", "pat@example.co.uk")
    assert case.reference in letter.subject
    assert "Communications Ombudsman" in letter.body_text and "free" in letter.body_text
    assert "12 months" in letter.body_text and "£30 credit" in letter.body_text
    assert "0330 440 1600" not in letter.body_text  # the unverified textphone is not published
    import hashlib

    assert letter.body_sha256 == hashlib.sha256(letter.body_text.encode()).hexdigest()
    assert letter.message_id.startswith("<") and letter.message_id.endswith(">")
    assert (letter.status, letter.attempts, letter.next_attempt_at) == (
        "queued",
        0,
        london(2026, 5, 20, 10),
    )


def test_a_letter_preference_or_large_print_gets_a_posted_letter(iss: World) -> None:
    customer = iss.customer
    customer.email = "pat@example.co.uk"
    customer.postal_address = "1 High Street\nEbbw Vale\nNP23 6AA"
    customer.access_needs = ["large_print"]
    customer.save()
    case = iss.open(london(2026, 5, 4, 10))
    iss.act(case, Action.DECLARE_DEADLOCK, london(2026, 5, 20, 10))
    letter = OutboxMessage.objects.get(case=case, kind="adr_letter")
    assert letter.channel == "post" and "NP23 6AA" in letter.recipient_address
    assert letter.formats == ["large_print"]


# ------------------------------------------------------------------- performance


def statements(call) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(
        [
            q
            for q in captured.captured_queries
            if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))
        ]
    )


def test_a_transition_is_six_statements_whatever_the_cases_history(iss: World) -> None:
    staff = iss.staff
    counts: dict[int, list[int]] = {}
    for updates in (1, 12):
        case = iss.open(london(2026, 5, 4, 10))
        iss.act(case, Action.AGREE_UPDATES, london(2026, 5, 4, 11), interval="1 working day")
        for n in range(updates):
            iss.act(case, Action.RECORD_UPDATE, london(2026, 5, 5, 9) + timedelta(minutes=n))
        iss.act(case, Action.ESCALATE, london(2026, 5, 5, 11))
        counts[updates] = [
            statements(
                lambda c=case: actions.case_record_update(
                    case_id=c.pk, actor=staff, channel="phone", now=london(2026, 5, 5, 12)
                )
            ),
            statements(
                lambda c=case: actions.case_introduce_handler(
                    case_id=c.pk, actor=staff, now=london(2026, 5, 5, 13)
                )
            ),
        ]
    assert counts[1] == counts[12], counts  # constant in the case's history
    assert max(counts[12]) <= 6, counts


def test_every_transition_a_face_calls_is_six_statements_or_fewer(iss: World) -> None:
    """Messages included: the ledger's head is read with the case, so the chain costs two
    statements (move the head if it is still the one read, insert the events)."""
    t = london(2026, 5, 4, 10)
    steps = [
        (Action.ACKNOWLEDGE, {}),
        (Action.ASSIGN, {}),
        (Action.INTRODUCE_HANDLER, {}),
        (Action.RECORD_UPDATE, {}),
        (Action.ESCALATE, {}),
        (Action.PROPOSE_RESOLUTION, {}),
        (Action.REJECT_RESOLUTION, {}),
        (Action.DECLARE_DEADLOCK, {}),
    ]
    staff = iss.staff  # a face resolves its actor once per request, outside the service
    case = iss.open(t)
    counts: dict[str, int] = {}
    for n, (action, arguments) in enumerate(steps, start=1):
        when = t + timedelta(minutes=n)
        counts[action.value] = statements(
            lambda a=action, w=when, kw=arguments: iss.act(case, a, w, actor=staff, **kw)
        )
    other = iss.open(t)
    for n, action in enumerate(
        (Action.PROPOSE_RESOLUTION, Action.ACCEPT_RESOLUTION, Action.CLOSE), start=1
    ):
        when = t + timedelta(hours=1, minutes=n)
        counts[action.value] = statements(
            lambda a=action, w=when: iss.act(other, a, w, actor=staff)
        )
    assert max(counts.values()) <= 6, counts
    # Each one that writes a message did write it (nothing was saved by leaving it out).
    kinds = set(OutboxMessage.objects.filter(case=case).values_list("kind", flat=True))
    assert {"escalation_acknowledgement", "proposed_resolution", "adr_letter"} <= kinds, kinds


def test_a_head_moved_by_another_writer_is_locked_and_read_again(iss: World) -> None:
    """The ledger read with the case is only a guess: when another transaction of the same
    provider appended events in between, the events are sealed on the real head."""
    from amends.cases.events import Chain, EventKind, audit_verify
    from amends.cases.writes import CaseWrite, lock_case

    case = iss.open(london(2026, 5, 4, 10))
    now = london(2026, 5, 4, 11)
    actor = iss.staff
    with transaction.atomic():
        locked = lock_case(case.pk, actor)
        assert locked is not None
        write = CaseWrite(locked, actor, now)
        write.event(EventKind.NOTE_ADDED, {"text": "first"})
        # Meanwhile another writer of the provider appends (here: in the same transaction).
        meanwhile = Chain(case.provider_id)
        meanwhile.add(case=None, actor="system", at=now, kind=EventKind.NOTE_ADDED, data={})
        meanwhile.flush()
        with CaptureQueriesContext(connection) as captured:
            write.finish()
    ledger_writes = [q for q in captured.captured_queries if "providerledger" in q["sql"]]
    assert len(ledger_writes) == 3, ledger_writes  # the guess, then lock-and-read, then seal
    result = audit_verify(provider_id=case.provider_id)
    assert result.broken is None, result.broken
