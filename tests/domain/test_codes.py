"""The code format: durations, the loader's model of the shipped codes, and its error paths."""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from amends.domain.codes import (
    AdrContactType,
    CaseFacts,
    CaseKind,
    ChannelType,
    Code,
    CodeFileError,
    CompensationApproach,
    Condition,
    CustomerType,
    Duration,
    DurationUnit,
    Nation,
    ObligationKind,
    OpeningHours,
    PaymentMethod,
    Purpose,
    Weekday,
    code_from_mapping,
    format_clock,
    load_code,
    parse_code,
)

CODES = Path(__file__).resolve().parents[2] / "amends" / "codes"


def template_data() -> dict[str, Any]:
    return tomllib.loads((CODES / "template.toml").read_text(encoding="utf-8"))


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(CodeFileError) as caught:
        code_from_mapping(data, filename="test.toml")
    assert caught.value.reason == "invalid"
    return {problem.path: problem.message for problem in caught.value.problems}


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "amount", "unit", "canonical"),
    [
        ("24 working hours", "24", DurationUnit.WORKING_HOURS, "24 working hours"),
        ("1.5 working hours", "1.5", DurationUnit.WORKING_HOURS, "1.5 working hours"),
        ("10 working days", "10", DurationUnit.WORKING_DAYS, "10 working days"),
        ("5 business days", "5", DurationUnit.WORKING_DAYS, "5 working days"),
        ("1 working day", "1", DurationUnit.WORKING_DAYS, "1 working day"),
        ("48 hours", "48", DurationUnit.HOURS, "48 hours"),
        ("0.5 hours", "0.5", DurationUnit.HOURS, "0.5 hours"),
        ("28 days", "28", DurationUnit.DAYS, "28 days"),
        ("8 weeks", "8", DurationUnit.WEEKS, "8 weeks"),
        ("1 week", "1", DurationUnit.WEEKS, "1 week"),
        ("  3  Working   Days ", "3", DurationUnit.WORKING_DAYS, "3 working days"),
        ("4 HOURS", "4", DurationUnit.HOURS, "4 hours"),
    ],
)
def test_durations_parse_the_forms_codes_write(
    text: str, amount: str, unit: DurationUnit, canonical: str
) -> None:
    duration = Duration.parse(text)
    assert duration.amount == Decimal(amount)
    assert duration.unit is unit
    assert str(duration) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "8",
        "weeks",
        "eight weeks",
        "2 months",
        "0 days",
        "0 working hours",
        "1.5 days",
        "2.5 weeks",
        "3 working weeks",
        "-1 hours",
        "10 wd",
        "24 working hours and 2 days",
        "a fortnight",
    ],
)
def test_durations_reject_anything_else_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Duration.parse(text)
    message = str(caught.value)
    assert message.startswith("expected")
    assert repr(text) in message


def test_duration_objects_refuse_zero_and_fractional_days() -> None:
    with pytest.raises(ValueError):
        Duration(Decimal(0), DurationUnit.HOURS)
    with pytest.raises(ValueError):
        Duration(Decimal("1.5"), DurationUnit.WORKING_DAYS)


@pytest.mark.parametrize(
    ("shorter", "longer", "expected"),
    [
        ("5 working days", "10 working days", True),  # same unit: exact
        ("10 working days", "5 working days", False),
        ("42 days", "6 weeks", True),  # calendar units: exact
        ("43 days", "6 weeks", False),
        ("1008 hours", "6 weeks", True),
        ("48 hours", "2 days", True),
        ("20 working days", "6 weeks", True),  # V4VoIP's review fits before the ADR point
        ("10 working days", "6 weeks", True),
        ("24 working hours", "6 weeks", True),
        ("60 working days", "6 weeks", False),  # at least 82 days
        ("30 working days", "6 weeks", None),  # 42 days at least, more with holidays
        ("2 working days", "48 hours", None),
        ("4 working hours", "3 working days", True),  # working time against working time
        ("1 working day", "24 working hours", True),  # 7 to 14 working hours at 7 a day
        ("3 working days", "24 working hours", None),  # 21 to 28 working hours
        ("40 working hours", "3 working days", False),
        ("6 weeks", "8 weeks", True),
        ("8 weeks", "6 weeks", False),
    ],
)
def test_durations_compare_exactly_or_by_bounds(
    shorter: str, longer: str, expected: bool | None
) -> None:
    assert Duration.parse(shorter).at_most(Duration.parse(longer)) is expected


def test_working_time_bounds_allow_weekends_and_holidays() -> None:
    least, most = Duration.parse("5 working days").calendar_bounds()
    assert least == 4 * 24  # received late on a Monday, due at close on Monday next
    assert most >= 11 * 24  # received on a Friday before Christmas
    least, most = Duration.parse("8 working hours").calendar_bounds(Decimal(8))
    assert least == 8
    assert most > 48  # from closing time on a Friday


# --------------------------------------------------------------------------- shipped codes


def test_the_v4voip_code_says_what_the_seed_says() -> None:
    code = load_code(CODES / "v4voip.toml")
    assert code.provider.name == "V4VoIP Ltd"
    assert code.meta.version is None
    assert code.meta.effective_from is None
    assert code.meta.references == ("GC 14.4", "GC 14.5")
    assert code.nation is Nation.ENGLAND_AND_WALES
    assert code.working_hours.opens == time(9) and code.working_hours.closes == time(18)

    phones = [c for c in code.channels if c.type is ChannelType.PHONE]
    assert [p.value for p in phones] == ["0345 034 3901", "0845 034 3910"]
    assert all(p.serves(Purpose.COMPLAINTS) for p in phones)
    post = next(c for c in code.channels if c.type is ChannelType.POST)
    assert post.lines[-1] == "London NW10 7QL"

    complaint = code.case_kind(CaseKind.COMPLAINT)
    assert complaint is not None
    acknowledge, resolve, resolve_all = complaint.promises
    assert acknowledge.kind is ObligationKind.ACKNOWLEDGE
    assert acknowledge.within is None
    assert acknowledge.condition.channels == frozenset({ChannelType.EMAIL, ChannelType.POST})
    assert resolve.within == Duration.parse("10 working days")
    # "We aim to resolve all complaints within 20 working days from when you notify us": a
    # second resolution target from first receipt, as written (check reports the clash).
    assert resolve_all.kind is ObligationKind.RESOLVE
    assert resolve_all.within == Duration.parse("20 working days")
    assert resolve_all.detail is not None and "Managing Director" in resolve_all.detail
    abuse = code.case_kind(CaseKind.ABUSE_REPORT)
    assert abuse is not None and abuse.promises[0].within is None  # untimed, flagged

    support = code.case_kind(CaseKind.SUPPORT_REQUEST)
    assert support is not None
    (reply,) = support.promises
    assert reply.within == Duration.parse("4 working hours")
    assert reply.condition.support_contract is True
    query = code.case_kind(CaseKind.ACCOUNT_QUERY)
    assert query is not None
    assert query.promises[0].within == Duration.parse("5 working days")

    # "escalated to the manager, and ultimately to the Director": the Director is the top.
    assert [level.role for level in code.escalation] == ["Manager", "Director"]
    assert all(level.review_within is None for level in code.escalation)

    adr = code.adr
    assert adr is not None
    assert adr.scheme == "Ombudsman Services"
    assert adr.after == Duration.parse("8 weeks")
    assert adr.deadlock_route and not adr.states_free and not adr.states_time_limit
    assert {c.type for c in adr.contacts} == {
        AdrContactType.POST,
        AdrContactType.PHONE,
        AdrContactType.FAX,
        AdrContactType.TEXTPHONE,
    }
    assert not code.closure.requires_customer_confirmation
    assert not code.accessibility.says_anything
    assert code.compensation.approach is CompensationApproach.NOT_STATED


def test_the_iss_code_says_what_the_seed_says() -> None:
    code = load_code(CODES / "iss.toml")
    assert code.meta.version == "Vsn 1.3"
    assert code.provider.trading_name == "ISS"
    assert code.working_hours.closes == time(17)
    complaint = code.case_kind(CaseKind.COMPLAINT)
    assert complaint is not None
    by_kind = {p.kind: p for p in complaint.promises}
    assert by_kind[ObligationKind.ACKNOWLEDGE].within == Duration.parse("24 working hours")
    assert by_kind[ObligationKind.INTRODUCE_HANDLER].within == Duration.parse("48 hours")
    assert by_kind[ObligationKind.AGREE_UPDATES].within == Duration.parse("3 working days")
    assert by_kind[ObligationKind.UPDATE].agreed
    fax = next(c for c in code.channels if c.type is ChannelType.FAX)
    assert fax.value == "08432 651 492"
    assert any(c.type is ChannelType.ACCOUNT_MANAGER for c in code.channels)
    assert code.escalation[0].role.startswith("Customer Service Manager")
    assert code.closure.requires_customer_confirmation and code.closure.reopening
    assert code.adr is not None and code.adr.scheme == "Ofcom"
    assert code.adr.after == Duration.parse("8 weeks")
    assert code.compensation.approach is CompensationApproach.CASE_BY_CASE
    assert code.compensation.paid_as == (PaymentMethod.INVOICE_CREDIT, PaymentMethod.AS_AGREED)
    assert code.comments.invited
    assert code.case_kind(CaseKind.CODE_COMMENT) is not None


def test_the_template_has_every_part_of_a_code() -> None:
    code = load_code(CODES / "template.toml")
    assert code.meta.version == "1.0"
    assert code.meta.effective_from == date(2026, 4, 8)
    assert {spec.kind for spec in code.case_kinds} == set(CaseKind)
    assert code.intake.collect and code.intake.identity_checks
    assert code.adr is not None and code.adr.after == Duration.parse("6 weeks")
    assert code.accessibility.says_anything
    assert code.comments.invited


def test_domain_objects_are_frozen() -> None:
    code = load_code(CODES / "template.toml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        code.channels[0].value = "0800 000 0000"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        code.meta.version = "2"  # type: ignore[misc]
    assert isinstance(code.channels, tuple)


# --------------------------------------------------------------------------- vocabularies


def test_nations_and_customer_types_have_labels_and_django_choices() -> None:
    assert Nation.choices() == [
        ("england-and-wales", "England and Wales"),
        ("scotland", "Scotland"),
        ("northern-ireland", "Northern Ireland"),
    ]
    assert CustomerType.choices() == [
        ("domestic", "Domestic"),
        ("small_business", "Small business"),
        ("not_for_profit", "Not-for-profit"),
        ("other_business", "Business (more than 10 working individuals)"),
    ]
    assert CustomerType.NOT_FOR_PROFIT.label == "Not-for-profit"


def test_a_code_may_serve_every_customer_type() -> None:
    data = template_data()
    data["provider"]["customers"] = [c.value for c in CustomerType]
    code = code_from_mapping(data)
    assert code.provider.customers == tuple(CustomerType)


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("condition", "facts", "holds"),
    [
        (Condition(), CaseFacts(), True),
        (Condition(channels=frozenset({ChannelType.EMAIL})), CaseFacts(ChannelType.EMAIL), True),
        (Condition(channels=frozenset({ChannelType.EMAIL})), CaseFacts(ChannelType.PHONE), False),
        (Condition(channels=frozenset({ChannelType.EMAIL})), CaseFacts(), True),  # unknown
        (Condition(support_contract=True), CaseFacts(support_contract=True), True),
        (Condition(support_contract=True), CaseFacts(support_contract=False), False),
        (Condition(support_contract=True), CaseFacts(), True),
        (
            Condition(channels=frozenset({ChannelType.POST}), support_contract=True),
            CaseFacts(ChannelType.POST, support_contract=False),
            False,
        ),
    ],
)
def test_conditions_hold_unless_a_known_fact_contradicts_them(
    condition: Condition, facts: CaseFacts, holds: bool
) -> None:
    assert condition.matches(facts) is holds


def test_conditions_and_hours_read_as_english() -> None:
    condition = Condition(channels=frozenset({ChannelType.POST, ChannelType.EMAIL}))
    assert condition.describe() == "if you contact us by email or by post"
    assert Condition(support_contract=True).describe().startswith("if you have a support")
    hours = OpeningHours(tuple(Weekday)[:5], time(9), time(17, 30))
    assert hours.describe() == "Monday to Friday, 9am to 5:30pm, except bank holidays"
    assert hours.hours_per_day == Decimal("8.5")
    weekend = OpeningHours((Weekday.SAT, Weekday.SUN), time(10), time(12), bank_holidays=True)
    assert weekend.describe() == "Saturday and Sunday, 10am to 12 noon"
    assert format_clock(time(0)) == "midnight"


# --------------------------------------------------------------------------- loader errors


def test_a_toml_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(CodeFileError) as caught:
        parse_code('format = 1\n[code]\ntitle = "x"\n[provider\n', filename="broken.toml")
    error = caught.value
    assert error.reason == "syntax"
    (problem,) = error.problems
    assert problem.path.startswith("line 4, column ")
    assert "TOML syntax error" in problem.message
    assert str(error).startswith("broken.toml is not valid TOML:")


def test_a_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(CodeFileError) as caught:
        load_code(tmp_path / "absent.toml")
    assert caught.value.reason == "unreadable"
    assert "No such file" in str(caught.value)


def test_a_file_that_is_not_utf8_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('format = 1\ntitle = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(CodeFileError) as caught:
        load_code(path)
    assert caught.value.reason == "unreadable"
    assert "UTF-8" in caught.value.problems[0].message


def test_a_file_without_format_or_with_another_format_is_rejected() -> None:
    data = template_data()
    del data["format"]
    assert "format" in problems_of(data)
    data["format"] = 2
    assert problems_of(data)["format"].startswith("expected 1")


def test_a_missing_required_value_names_its_path() -> None:
    data = template_data()
    del data["provider"]["name"]
    assert problems_of(data) == {
        "provider.name": "expected a value, got nothing (this key is required)"
    }


def test_a_bad_duration_names_its_path_and_the_accepted_forms() -> None:
    data = template_data()
    data["case_kinds"]["complaint"]["promises"][3]["within"] = "ten days"
    message = problems_of(data)["case_kinds.complaint.promises[3].within"]
    assert message.startswith('expected a duration such as "24 working hours"')
    assert message.endswith('got "ten days"')
    data["case_kinds"]["complaint"]["promises"][3]["within"] = 10
    assert problems_of(data)["case_kinds.complaint.promises[3].within"].endswith("got 10")


def test_unknown_keys_are_errors_listing_the_keys_allowed_there() -> None:
    data = template_data()
    data["colour"] = "blue"
    data["channels"][1]["vlaue"] = data["channels"][1].pop("value")
    data["case_kinds"]["complain"] = {}
    problems = problems_of(data)
    assert problems["colour"].startswith("unknown key; expected one of: format, code, provider")
    assert "value" in problems["channels[1].vlaue"]
    assert "complaint, account_query" in problems["case_kinds.complain"]


@pytest.mark.parametrize(
    ("path", "set_to", "where", "expected"),
    [
        (("channels", 0, "type"), "pigeon", "channels[0].type", 'got "pigeon"'),
        (("channels", 0, "purposes"), [], "channels[0].purposes", "at least one purpose"),
        (("channels", 0, "purposes"), ["gossip"], "channels[0].purposes[0]", "'complaints'"),
        (("adr", "states_free"), "yes", "adr.states_free", 'boolean, got "yes"'),
        (("adr", "states_free"), 1, "adr.states_free", "boolean, got 1"),
        (("working_hours", "opens"), "9am", "working_hours.opens", 'time of day such as "09:00"'),
        (("working_hours", "days"), "mon-funday", "working_hours.days", 'days such as "mon-fri"'),
        (("working_hours", "nation"), "wales", "working_hours.nation", "'england-and-wales'"),
        (("code", "effective_from"), "8 April 2026", "code.effective_from", "TOML date"),
        (("code", "title"), "   ", "code.title", "non-empty text"),
        (("channels", 4, "value"), [], "channels[4].value", "list of non-empty lines"),
        (("intake", "collect", 0, "key"), "Name!", "intake.collect[0].key", "snake_case"),
    ],
)
def test_wrong_values_say_what_was_expected_and_what_was_found(
    path: tuple[str | int, ...], set_to: object, where: str, expected: str
) -> None:
    data = template_data()
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = set_to
    problems = problems_of(data)
    assert where in problems, problems
    assert expected in problems[where]
    assert problems[where].startswith(("expected", "unknown"))


def test_closing_before_opening_is_rejected() -> None:
    data = template_data()
    data["working_hours"]["closes"] = "08:00"
    message = problems_of(data)["working_hours"]
    assert message == "expected closes after opens, got opens 09:00 and closes 08:00"


def test_the_adr_point_cannot_be_written_as_a_promise() -> None:
    data = template_data()
    data["case_kinds"]["complaint"]["promises"][0]["kind"] = "adr_letter"
    message = problems_of(data)["case_kinds.complaint.promises[0].kind"]
    assert "[adr].after" in message
    assert message.startswith("expected one of acknowledge")


def test_a_promise_has_one_timing_and_cadences_are_for_updates() -> None:
    data = template_data()
    promise = data["case_kinds"]["complaint"]["promises"][0]
    promise["every"] = "2 working days"
    assert "at most one of within, every" in problems_of(data)["case_kinds.complaint.promises[0]"]
    del promise["within"]
    assert "for kind update" in problems_of(data)["case_kinds.complaint.promises[0]"]


def test_every_problem_is_reported_at_once() -> None:
    data = copy.deepcopy(template_data())
    del data["provider"]["name"]
    data["adr"]["after"] = "six weeks"
    data["channels"][0]["type"] = "carrier pigeon"
    assert set(problems_of(data)) == {"provider.name", "adr.after", "channels[0].type"}


def test_a_minimal_code_loads_with_defaults() -> None:
    code = code_from_mapping(
        {
            "format": 1,
            "code": {"title": "Minimal"},
            "provider": {"name": "Minimal Ltd"},
            "working_hours": {
                "nation": "scotland",
                "days": ["mon", "wed"],
                "opens": time(9),
                "closes": "17:00",
            },
        }
    )
    assert isinstance(code, Code)
    assert code.adr is None
    assert code.channels == ()
    assert code.working_hours.days == (Weekday.MON, Weekday.WED)
    assert code.filename == "<code>"
