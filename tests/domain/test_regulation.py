"""The law as dated rules, the ADR scheme registry, and the promises in force for a case."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from amends.domain.codes import (
    AdrContactType,
    CaseFacts,
    CaseKind,
    ChannelType,
    Code,
    Duration,
    ObligationKind,
    code_from_mapping,
    load_code,
)
from amends.domain.regulation import (
    APPROVED_SCHEMES,
    CISAS,
    COMMUNICATIONS_OMBUDSMAN,
    RULES,
    Origin,
    PromiseInForce,
    Starts,
    identify_adr_body,
    promises_in_force,
    rule,
    rule_changes_after,
    rules_in_force,
)

CODES = Path(__file__).resolve().parents[2] / "amends" / "codes"
BOUNDARY = date(2026, 4, 8)


def template_data() -> dict[str, Any]:
    return tomllib.loads((CODES / "template.toml").read_text(encoding="utf-8"))


def template_with(**adr: Any) -> Code:
    data = template_data()
    data["adr"].update(adr)
    return code_from_mapping(data, filename="test.toml")


def in_force(
    code: Code,
    kind: ObligationKind,
    first_received: date,
    case: CaseKind = CaseKind.COMPLAINT,
    facts: CaseFacts | None = None,
) -> list[PromiseInForce]:
    return [
        p
        for p in promises_in_force(code, kind=case, first_received=first_received, facts=facts)
        if p.kind is kind
    ]


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("first_received", "weeks"),
    [
        (date(2018, 10, 1), 8),
        (date(2025, 7, 9), 8),
        (date(2026, 4, 7), 8),
        (date(2026, 4, 8), 6),
        (date(2026, 11, 21), 6),
        (date(2040, 1, 1), 6),
    ],
)
def test_the_adr_letter_is_due_at_8_weeks_before_8_april_2026_and_6_weeks_from_then(
    first_received: date, weeks: int
) -> None:
    adr = rules_in_force(first_received).adr_letter_after
    assert adr.id == "C4.ADR.TIME"
    assert adr.value == Duration.parse(f"{weeks} weeks")
    assert adr.in_force(first_received)


def test_every_rule_cites_a_source_with_its_evidence() -> None:
    for item in RULES:
        assert item.source.url.startswith(("http://", "https://")), item.id
        assert item.source.citation, item.id
        assert item.source.evidence in {"V", "S", "R"}, item.id
        assert item.effective_to is None or item.effective_to > item.effective_from


def test_no_two_versions_of_a_rule_are_in_force_on_the_same_day() -> None:
    days = {r.effective_from for r in RULES} | {r.effective_to for r in RULES if r.effective_to}
    probes = {d + timedelta(days=delta) for d in days for delta in (-1, 0)}
    for day in probes:
        ids = [r.id for r in RULES if r.in_force(day)]
        assert len(ids) == len(set(ids)), day


def test_the_rule_set_holds_the_floors_of_the_approved_complaints_code() -> None:
    rules = rules_in_force(date(2026, 11, 21))
    assert rules.adr_letter_at_deadlock.value is True
    assert rules.adr_free.value is True
    assert rules.adr_window_months.value == 12
    assert rules.code_deadlock_route.value is True
    assert rules.basic_rate.value == ("084", "087", "09")
    assert rules.outcome_signpost is not None
    assert rules_in_force(date(2026, 4, 5)).outcome_signpost is None


def test_rule_changes_after_a_date_include_the_six_week_change() -> None:
    assert BOUNDARY in rule_changes_after(date(2026, 3, 1))
    assert BOUNDARY not in rule_changes_after(BOUNDARY)
    assert rule("C4.ADR.TIME", date(2026, 3, 1)) is not None
    assert rule("NO.SUCH.RULE", date(2026, 3, 1)) is None


def test_there_are_no_rules_before_general_condition_c4() -> None:
    with pytest.raises(LookupError):
        rules_in_force(date(2018, 9, 30))


# --------------------------------------------------------------------------- schemes


@pytest.mark.parametrize(
    ("name", "scheme_id", "former", "not_a_scheme"),
    [
        ("Communications Ombudsman", "communications-ombudsman", False, None),
        ("the communications ombudsman", "communications-ombudsman", False, None),
        ("Ombudsman Services", "communications-ombudsman", True, None),
        ("Ombudsman Services: Communications", "communications-ombudsman", True, None),
        ("OTELO", "communications-ombudsman", True, None),
        ("CISAS", "cisas", False, None),
        ("Communications & Internet Services Adjudication Scheme", "cisas", False, None),
        ("Ofcom", None, False, "Ofcom"),
        ("OFCOM Contact Centre", None, False, "Ofcom"),
        ("Ombudsman Services: Energy", None, False, "Energy Ombudsman"),
        ("Financial Ombudsman Service", None, False, "Financial Ombudsman Service"),
        ("Acme Arbitration", None, False, None),
    ],
)
def test_adr_bodies_are_recognised_by_current_and_former_names(
    name: str, scheme_id: str | None, former: bool, not_a_scheme: str | None
) -> None:
    match = identify_adr_body(name)
    assert (match.scheme.id if match.scheme else None) == scheme_id
    assert match.former_name is former
    assert (match.not_a_scheme.name if match.not_a_scheme else None) == not_a_scheme
    assert match.approved is (scheme_id is not None)


def test_ofcom_is_recognised_as_the_regulator_not_a_scheme() -> None:
    match = identify_adr_body("Ofcom")
    assert match.not_a_scheme is not None
    assert "handles no individual complaints" in match.not_a_scheme.reason
    assert "name your approved" in match.not_a_scheme.reason.lower()


def test_the_registry_holds_both_approved_schemes_with_their_contacts() -> None:
    assert {s.id for s in APPROVED_SCHEMES} == {"communications-ombudsman", "cisas"}
    post = COMMUNICATIONS_OMBUDSMAN.contacts_of(AdrContactType.POST)[0]
    assert post.lines == ("Communications Ombudsman", "PO Box 730", "Warrington", "WA4 6WU")
    assert COMMUNICATIONS_OMBUDSMAN.contacts_of(AdrContactType.PHONE)[0].value == "0330 440 1614"
    assert COMMUNICATIONS_OMBUDSMAN.contacts_of(AdrContactType.TEXTPHONE)[0].evidence == "U"
    assert "Ombudsman Services" in COMMUNICATIONS_OMBUDSMAN.former_names
    for scheme in APPROVED_SCHEMES:
        kinds = {c.type for c in scheme.contacts}
        assert {AdrContactType.POST, AdrContactType.PHONE, AdrContactType.WEBSITE} <= kinds


def test_remedy_deadlines_are_28_days_for_the_ombudsman_and_20_working_days_for_cisas() -> None:
    on = date(2026, 11, 21)
    assert COMMUNICATIONS_OMBUDSMAN.remedy(on).value == Duration.parse("28 days")
    assert CISAS.remedy(on).value == Duration.parse("20 working days")
    accept = rule("ADR.CISAS.ACCEPT", on)
    assert accept is not None and accept.value == Duration.parse("30 working days")


# --------------------------------------------------------------------------- promises in force


@pytest.mark.parametrize(
    ("first_received", "duration", "origin"),
    [
        (date(2026, 4, 7), "8 weeks", Origin.CODE),  # code and law agree: the code is kept
        (date(2026, 4, 8), "6 weeks", Origin.LAW),  # the law is stricter from 8 April 2026
        (date(2026, 11, 21), "6 weeks", Origin.LAW),
    ],
)
def test_v4voip_adr_letter_follows_the_law_across_8_april_2026(
    first_received: date, duration: str, origin: Origin
) -> None:
    code = load_code(CODES / "v4voip.toml")
    (letter,) = in_force(code, ObligationKind.ADR_LETTER, first_received)
    assert letter.duration == Duration.parse(duration)
    assert letter.origin is origin
    assert letter.rule_id == "C4.ADR.TIME"
    assert letter.starts is Starts.FIRST_RECEIPT
    assert letter.code_path == "adr.after"
    assert letter.source.startswith(("Approved Complaints Code", "Ofcom statement"))


@pytest.mark.parametrize("first_received", [date(2026, 4, 7), date(2026, 4, 8)])
def test_a_code_stricter_than_the_law_keeps_its_own_adr_point(first_received: date) -> None:
    (letter,) = in_force(template_with(after="4 weeks"), ObligationKind.ADR_LETTER, first_received)
    assert letter.duration == Duration.parse("4 weeks")
    assert letter.origin is Origin.CODE
    assert letter.rule_id == "C4.ADR.TIME"


def test_without_an_adr_point_in_the_code_the_law_sets_it() -> None:
    data = template_data()
    del data["adr"]["after"]
    code = code_from_mapping(data)
    (letter,) = in_force(code, ObligationKind.ADR_LETTER, BOUNDARY)
    assert (letter.duration, letter.origin, letter.code_path) == (
        Duration.parse("6 weeks"),
        Origin.LAW,
        None,
    )


def test_an_adr_point_that_may_be_later_than_the_law_gives_way_to_the_law() -> None:
    # 30 working days is 42 calendar days at least, and more across a bank holiday.
    (letter,) = in_force(
        template_with(after="30 working days"), ObligationKind.ADR_LETTER, BOUNDARY
    )
    assert letter.origin is Origin.LAW
    assert letter.duration == Duration.parse("6 weeks")
    (letter,) = in_force(
        template_with(after="20 working days"), ObligationKind.ADR_LETTER, BOUNDARY
    )
    assert letter.origin is Origin.CODE


def test_the_remedy_deadline_comes_from_the_scheme_the_code_names() -> None:
    on = date(2026, 11, 21)
    (remedy,) = in_force(load_code(CODES / "v4voip.toml"), ObligationKind.ADR_REMEDY, on)
    assert remedy.duration == Duration.parse("28 days")
    assert (remedy.origin, remedy.rule_id, remedy.starts) == (
        Origin.LAW,
        "ADR.CO.REMEDY",
        Starts.ADR_DECISION_ACCEPTED,
    )
    (remedy,) = in_force(template_with(scheme="CISAS"), ObligationKind.ADR_REMEDY, on)
    assert remedy.duration == Duration.parse("20 working days")
    # ISS names Ofcom: there is no scheme, so no remedy deadline.
    assert in_force(load_code(CODES / "iss.toml"), ObligationKind.ADR_REMEDY, on) == []


def test_iss_promises_in_force_are_its_own_and_the_laws_adr_point() -> None:
    code = load_code(CODES / "iss.toml")
    promises = promises_in_force(code, kind=CaseKind.COMPLAINT, first_received=BOUNDARY)
    summary = {(p.kind, str(p.duration), p.origin) for p in promises}
    assert summary == {
        (ObligationKind.ACKNOWLEDGE, "24 working hours", Origin.CODE),
        (ObligationKind.INTRODUCE_HANDLER, "48 hours", Origin.CODE),
        (ObligationKind.AGREE_UPDATES, "3 working days", Origin.CODE),
        (ObligationKind.ADR_LETTER, "6 weeks", Origin.LAW),
    }
    acknowledge = next(p for p in promises if p.kind is ObligationKind.ACKNOWLEDGE)
    assert acknowledge.source == f"{code.filename}: case_kinds.complaint.promises[0]"
    assert acknowledge.rule_id is None


@pytest.mark.parametrize(
    ("support_contract", "expected"),
    [(True, ["4 working hours"]), (False, []), (None, ["4 working hours"])],
)
def test_v4voip_support_reply_holds_only_with_a_support_contract(
    support_contract: bool | None, expected: list[str]
) -> None:
    code = load_code(CODES / "v4voip.toml")
    replies = in_force(
        code,
        ObligationKind.FIRST_RESPONSE,
        BOUNDARY,
        case=CaseKind.SUPPORT_REQUEST,
        facts=CaseFacts(support_contract=support_contract),
    )
    assert [str(r.duration) for r in replies] == expected


def test_the_strictest_matching_promise_of_a_kind_is_in_force() -> None:
    data = template_data()
    data["case_kinds"]["complaint"]["promises"][0] = {
        "kind": "acknowledge",
        "within": "3 working days",
    }
    data["case_kinds"]["complaint"]["promises"].append(
        {"kind": "acknowledge", "within": "4 working hours", "when": {"channel": ["email"]}}
    )
    code = code_from_mapping(data)
    by_email = in_force(
        code, ObligationKind.ACKNOWLEDGE, BOUNDARY, facts=CaseFacts(ChannelType.EMAIL)
    )
    by_phone = in_force(
        code, ObligationKind.ACKNOWLEDGE, BOUNDARY, facts=CaseFacts(ChannelType.PHONE)
    )
    assert [str(p.duration) for p in by_email] == ["4 working hours"]
    assert [str(p.duration) for p in by_phone] == ["3 working days"]


def test_escalation_reviews_and_update_cadences_are_in_force_with_their_start() -> None:
    template = load_code(CODES / "template.toml")
    manager, director = in_force(template, ObligationKind.ESCALATION_REVIEW, BOUNDARY)
    assert [(r.level, str(r.duration), r.starts) for r in (manager, director)] == [
        (1, "5 working days", Starts.ESCALATION),
        (2, "10 working days", Starts.ESCALATION),
    ]
    # V4VoIP's reviews have no time (its 20 working days is a resolution target).
    assert (
        in_force(load_code(CODES / "v4voip.toml"), ObligationKind.ESCALATION_REVIEW, BOUNDARY) == []
    )
    (update,) = in_force(template, ObligationKind.UPDATE, BOUNDARY)
    assert update.repeats and str(update.duration) == "5 working days"


def test_other_case_kinds_have_no_adr_letter() -> None:
    code = load_code(CODES / "template.toml")
    for kind in (CaseKind.ACCOUNT_QUERY, CaseKind.SUPPORT_REQUEST, CaseKind.ABUSE_REPORT):
        kinds = {p.kind for p in promises_in_force(code, kind=kind, first_received=BOUNDARY)}
        assert ObligationKind.ADR_LETTER not in kinds


def test_a_code_naming_no_approved_scheme_takes_the_remedy_deadline_of_the_providers_scheme() -> (
    None
):
    from amends.codes import SHIPPED_CODES
    from amends.domain.codes import load_code

    iss = load_code(SHIPPED_CODES["iss"])
    on = date(2026, 5, 1)
    kinds = {p.kind for p in promises_in_force(iss, kind=CaseKind.COMPLAINT, first_received=on)}
    assert ObligationKind.ADR_REMEDY not in kinds  # Ofcom is no scheme: nothing to take it from
    remedy = next(
        p
        for p in promises_in_force(
            iss, kind=CaseKind.COMPLAINT, first_received=on, member_scheme="cisas"
        )
        if p.kind is ObligationKind.ADR_REMEDY
    )
    assert (remedy.rule_id, str(remedy.duration)) == ("ADR.CISAS.REMEDY", "20 working days")


def test_automatic_compensation_rates_apply_by_the_date_of_the_event() -> None:
    from amends.domain.regulation import automatic_compensation_rates

    april_2026 = automatic_compensation_rates(date(2026, 4, 1))
    assert april_2026 is not None
    assert (april_2026.value.delayed_repair_per_day, april_2026.value.missed_appointment) == (
        1034,
        3231,
    )
    march_2026 = automatic_compensation_rates(date(2026, 3, 31))
    assert march_2026 is not None and march_2026.value.delayed_repair_per_day == 998
    first = automatic_compensation_rates(date(2019, 4, 1))
    assert first is not None and first.value.delayed_start_per_day == 500
    # Rates between April 2021 and March 2024 are not held: never guessed.
    assert automatic_compensation_rates(date(2022, 6, 1)) is None
    assert automatic_compensation_rates(date(2019, 3, 31)) is None
    assert april_2026.source.url.startswith("https://www.ofcom.org.uk/")
