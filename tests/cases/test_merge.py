"""Merging a duplicate of the same customer into a case (the console's "merge")."""

from __future__ import annotations

import pytest

from amends.cases import actions
from amends.cases.errors import CaseError, ErrorCode
from amends.cases.events import audit_verify
from amends.cases.models import Case, Obligation
from amends.comms import intake
from amends.domain.codes import CaseKind
from tests.cases.conftest import World, london

pytestmark = pytest.mark.django_db


def test_a_duplicate_merged_keeps_the_earliest_receipt_and_cancels_its_clocks(
    iss: World,
) -> None:
    later = iss.open(london(2026, 5, 6, 10))
    earlier = iss.open(london(2026, 5, 4, 10), note="letter arrived Monday")
    adr_before = Obligation.objects.get(case=later, key="adr_letter").due_at
    kept = actions.case_merge(
        case_id=later.pk,
        actor=iss.staff,
        duplicate_id=earlier.pk,
        reason="same fault, second letter",
        now=london(2026, 5, 6, 12),
    )
    earlier.refresh_from_db()
    assert kept.first_received_at == london(2026, 5, 4, 10)  # the earliest stands
    assert Obligation.objects.get(case=later, key="adr_letter").due_at < adr_before
    assert (earlier.state, earlier.merged_into_id) == ("merged", later.pk)
    assert not Obligation.objects.filter(case=earlier, state="pending").exists()
    assert kept.events.filter(kind="case_merged", data__merged=earlier.reference).exists()
    assert earlier.events.filter(kind="merged_into", data__into=later.reference).exists()
    assert audit_verify(provider_id=iss.provider.pk).broken is None


def test_only_open_cases_of_the_same_customer_merge(iss: World, v4voip: World) -> None:
    case = iss.open(london(2026, 5, 4, 10))
    other_customer = iss.open(london(2026, 5, 4, 11))
    Case.objects.filter(pk=other_customer.pk).update(
        customer=actions.customer_create(
            provider=iss.provider, now=london(2026, 5, 4, 11), contact_name="Someone Else"
        )
    )
    theirs = v4voip.open(london(2026, 5, 4, 10))
    now = london(2026, 5, 5, 9)
    for duplicate, field in ((other_customer, "duplicate_id"), (theirs, "duplicate_id")):
        with pytest.raises(CaseError) as refused:
            actions.case_merge(case_id=case.pk, actor=iss.staff, duplicate_id=duplicate.pk, now=now)
        assert refused.value.field == field
    with pytest.raises(CaseError) as itself:
        actions.case_merge(case_id=case.pk, actor=iss.staff, duplicate_id=case.pk, now=now)
    assert itself.value.field == "duplicate_id"
    query = iss.open(london(2026, 5, 4, 12), kind=CaseKind.ACCOUNT_QUERY)
    with pytest.raises(CaseError, match="complaint first"):
        actions.case_merge(case_id=query.pk, actor=iss.staff, duplicate_id=case.pk, now=now)
    merged = iss.open(london(2026, 5, 4, 13))
    actions.case_merge(case_id=case.pk, actor=iss.staff, duplicate_id=merged.pk, now=now)
    with pytest.raises(CaseError, match="only open cases merge"):
        actions.case_merge(case_id=case.pk, actor=iss.staff, duplicate_id=merged.pk, now=now)


def test_a_role_without_merge_is_refused(iss: World) -> None:
    from amends.cases.actors import staff_actor
    from amends.domain.access import Role
    from amends.providers.services import staff_create

    one = iss.open(london(2026, 5, 4, 10))
    two = iss.open(london(2026, 5, 4, 11))
    compliance = staff_actor(
        staff_create(provider=iss.provider, username="iss-cmp", role=Role.COMPLIANCE)
    )
    with pytest.raises(CaseError) as refused:
        actions.case_merge(
            case_id=one.pk, actor=compliance, duplicate_id=two.pk, now=london(2026, 5, 5, 9)
        )
    assert refused.value.code is ErrorCode.FORBIDDEN


def test_mail_to_a_merged_case_lands_on_the_case_it_was_merged_into(iss: World) -> None:
    keep = iss.open(london(2026, 5, 4, 10))
    duplicate = iss.open(london(2026, 5, 4, 11))
    actions.case_merge(
        case_id=keep.pk, actor=iss.staff, duplicate_id=duplicate.pk, now=london(2026, 5, 5, 9)
    )
    raw = (
        "From: Pat Example <pat@example.invalid>\r\n"
        f"To: complaints@{iss.provider.slug}.example.invalid\r\n"
        f"Subject: Re: {duplicate.reference} still broken\r\n"
        "Message-ID: <merge-test-1@example.invalid>\r\n"
        "Date: Tue, 05 May 2026 10:00:00 +0100\r\n"
        "\r\nIt is still not working.\r\n"
    ).encode()
    _, row = intake.ingest(
        raw=raw, provider_slug=iss.provider.slug, now=lambda: london(2026, 5, 5, 10)
    )
    assert row is not None
    row.refresh_from_db()
    assert row.case_id == keep.pk
