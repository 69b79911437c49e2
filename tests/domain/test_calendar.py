"""BusinessCalendar: a table of hand-checked dates, then properties against a reference.

Every expected value in CASES was worked out by hand from GOV.UK's bank holiday lists
(https://www.gov.uk/bank-holidays) and the UK clock changes (last Sunday of March and
of October at 01:00 UTC). Hours are Monday to Friday 09:00-17:30 unless the row says
"sat" (plus Saturday 10:00-14:00) or "24x7" (every day 00:00-24:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amends.domain.calendar import (
    LONDON,
    SUPPORTED_YEARS,
    BusinessCalendar,
    CalendarRangeError,
    DayHours,
    WorkingHours,
    add_elapsed,
)
from tests.domain.calendar_reference import ReferenceCalendar

H = timedelta(hours=1)
M = timedelta(minutes=1)
WEEK = WorkingHours.weekdays("09:00", "17:30")
WEEK_REF = {d: ("09:00", "17:30") for d in range(5)}
SAT = WorkingHours.per_day(
    {
        "mon": ("09:00", "17:30"),
        "tue": ("09:00", "17:30"),
        "wed": ("09:00", "17:30"),
        "thu": ("09:00", "17:30"),
        "fri": ("09:00", "17:30"),
        "sat": ("10:00", "14:00"),
    }
)
SAT_REF = {**WEEK_REF, 5: ("10:00", "14:00")}
ALWAYS = WorkingHours.per_day(
    {d: ("00:00", "24:00") for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
)
ALWAYS_REF = {d: ("00:00", "24:00") for d in range(7)}
HOURS = {"wk": (WEEK, WEEK_REF), "sat": (SAT, SAT_REF), "24x7": (ALWAYS, ALWAYS_REF)}

ENG, SCT, NIR = "england-and-wales", "scotland", "northern-ireland"


def dt(iso: str) -> datetime:
    t = datetime.fromisoformat(iso)
    assert t.tzinfo is not None, iso
    return t


# (nation, hours, operation, start, argument, expected). Expected datetimes are written
# in Europe/London with their offset, so the comparison also checks the output zone.
# fmt: off
_CASES: list[tuple[str, str, str, str, object, object, str]] = [
    # --- Christmas and New Year substitute days, 2026 and 2027, each nation ---------------
    (ENG, "wk", "days", "2026-12-24T10:00+00:00", 1, "2026-12-29T17:30:00+00:00",
     "eng-boxing-day-2026-observed-mon-28-dec"),
    (SCT, "wk", "days", "2026-12-24T10:00+00:00", 1, "2026-12-29T17:30:00+00:00",
     "sct-boxing-day-2026-observed-mon-28-dec"),
    (NIR, "wk", "days", "2026-12-24T10:00+00:00", 1, "2026-12-29T17:30:00+00:00",
     "nir-boxing-day-2026-observed-mon-28-dec"),
    (ENG, "wk", "days", "2026-12-31T12:00+00:00", 1, "2027-01-04T17:30:00+00:00",
     "eng-new-year-2027-fri-1-jan-only"),
    (SCT, "wk", "days", "2026-12-31T12:00+00:00", 1, "2027-01-05T17:30:00+00:00",
     "sct-2-jan-2027-sat-observed-mon-4-jan"),
    (NIR, "wk", "days", "2026-12-31T12:00+00:00", 1, "2027-01-04T17:30:00+00:00",
     "nir-new-year-2027-no-2-jan-holiday"),
    (ENG, "wk", "days", "2027-12-24T10:00+00:00", 1, "2027-12-29T17:30:00+00:00",
     "eng-christmas-2027-sat-observed-mon-27-boxing-tue-28"),
    (SCT, "wk", "days", "2027-12-24T10:00+00:00", 1, "2027-12-29T17:30:00+00:00",
     "sct-christmas-2027-sat-observed-mon-27-boxing-tue-28"),
    (NIR, "wk", "days", "2027-12-24T10:00+00:00", 1, "2027-12-29T17:30:00+00:00",
     "nir-christmas-2027-sat-observed-mon-27-boxing-tue-28"),
    (ENG, "wk", "days", "2027-12-31T10:00+00:00", 1, "2028-01-04T17:30:00+00:00",
     "eng-1-jan-2028-sat-observed-mon-3-jan"),
    (SCT, "wk", "days", "2027-12-31T10:00+00:00", 1, "2028-01-05T17:30:00+00:00",
     "sct-1-and-2-jan-2028-weekend-observed-mon-3-tue-4"),
    (NIR, "wk", "days", "2027-12-31T10:00+00:00", 1, "2028-01-04T17:30:00+00:00",
     "nir-1-jan-2028-sat-observed-mon-3-jan"),
    (SCT, "wk", "days", "2025-12-31T12:00+00:00", 1, "2026-01-05T17:30:00+00:00",
     "sct-2-jan-2026-fri-is-holiday"),
    (ENG, "wk", "days", "2025-12-31T12:00+00:00", 1, "2026-01-02T17:30:00+00:00",
     "eng-2-jan-2026-fri-is-working"),
    (ENG, "wk", "time", "2026-12-24T16:00+00:00", 8.5 * H, "2026-12-29T16:00:00+00:00",
     "eng-8h30-from-christmas-eve-skips-25-to-28-dec"),
    (ENG, "wk", "between", "2026-12-24T09:00+00:00", "2026-12-31T09:00+00:00", 25.5 * H,
     "eng-christmas-week-2026-has-three-working-days"),
    (ENG, "wk", "between", "2026-12-31T09:00+00:00", "2027-01-07T09:00+00:00", 34 * H,
     "eng-new-year-week-2027-has-four-working-days"),
    (SCT, "wk", "between", "2026-12-31T09:00+00:00", "2027-01-07T09:00+00:00", 25.5 * H,
     "sct-new-year-week-2027-loses-1-and-4-jan"),
    # --- Easter: England and Wales and NI have Easter Monday, Scotland does not --------
    (ENG, "wk", "days", "2026-04-02T12:00+01:00", 1, "2026-04-07T17:30:00+01:00",
     "eng-easter-2026-good-friday-and-easter-monday"),
    (SCT, "wk", "days", "2026-04-02T12:00+01:00", 1, "2026-04-06T17:30:00+01:00",
     "sct-easter-2026-no-easter-monday"),
    (NIR, "wk", "days", "2026-04-02T12:00+01:00", 1, "2026-04-07T17:30:00+01:00",
     "nir-easter-2026-has-easter-monday"),
    (ENG, "wk", "days", "2027-03-25T12:00+00:00", 1, "2027-03-30T17:30:00+01:00",
     "eng-easter-2027-across-spring-change"),
    (SCT, "wk", "days", "2027-03-25T12:00+00:00", 1, "2027-03-29T17:30:00+01:00",
     "sct-easter-monday-2027-is-working"),
    (SCT, "wk", "time", "2026-04-06T10:00+01:00", H, "2026-04-06T11:00:00+01:00",
     "sct-start-easter-monday-2026-counts-at-once"),
    (ENG, "wk", "time", "2026-04-06T10:00+01:00", H, "2026-04-07T10:00:00+01:00",
     "eng-start-on-easter-monday-holiday-counts-from-tue"),
    (SCT, "wk", "is", "2026-04-06T12:00+01:00", None, True,
     "sct-easter-monday-noon-is-working-time"),
    (ENG, "wk", "is", "2026-04-06T12:00+01:00", None, False,
     "eng-easter-monday-noon-is-not-working-time"),
    # --- Scotland's own days -----------------------------------------------------------
    (SCT, "wk", "days", "2026-07-31T12:00+01:00", 1, "2026-08-04T17:30:00+01:00",
     "sct-first-monday-of-august-2026"),
    (ENG, "wk", "days", "2026-07-31T12:00+01:00", 1, "2026-08-03T17:30:00+01:00",
     "eng-3-aug-2026-is-working"),
    (ENG, "wk", "days", "2026-08-28T12:00+01:00", 1, "2026-09-01T17:30:00+01:00",
     "eng-last-monday-of-august-2026"),
    (SCT, "wk", "days", "2026-08-28T12:00+01:00", 1, "2026-08-31T17:30:00+01:00",
     "sct-no-late-august-holiday"),
    (SCT, "wk", "days", "2026-11-27T12:00+00:00", 1, "2026-12-01T17:30:00+00:00",
     "sct-st-andrews-day-2026-mon-30-nov"),
    (ENG, "wk", "days", "2026-11-27T12:00+00:00", 1, "2026-11-30T17:30:00+00:00",
     "eng-no-st-andrews-day"),
    (SCT, "wk", "days", "2025-11-28T12:00+00:00", 1, "2025-12-02T17:30:00+00:00",
     "sct-st-andrews-day-2025-sun-observed-mon-1-dec"),
    (SCT, "wk", "days", "2026-06-12T12:00+01:00", 1, "2026-06-16T17:30:00+01:00",
     "sct-15-june-2026-world-cup-holiday"),
    (ENG, "wk", "days", "2026-06-12T12:00+01:00", 1, "2026-06-15T17:30:00+01:00",
     "eng-15-june-2026-is-working"),
    # --- Northern Ireland ----------------------------------------------------------------
    (NIR, "wk", "days", "2026-03-16T12:00+00:00", 1, "2026-03-18T17:30:00+00:00",
     "nir-st-patricks-day-2026-tue-17-mar"),
    (ENG, "wk", "days", "2026-03-16T12:00+00:00", 1, "2026-03-17T17:30:00+00:00",
     "eng-17-mar-is-working"),
    (NIR, "wk", "days", "2026-07-10T12:00+01:00", 1, "2026-07-14T17:30:00+01:00",
     "nir-12-july-2026-sun-observed-mon-13-jul"),
    (ENG, "wk", "days", "2026-07-10T12:00+01:00", 1, "2026-07-13T17:30:00+01:00",
     "eng-13-jul-2026-is-working"),
    (NIR, "wk", "days", "2027-07-09T12:00+01:00", 1, "2027-07-13T17:30:00+01:00",
     "nir-12-july-2027-mon"),
    (NIR, "wk", "days", "2026-03-14T12:00+00:00", 3, "2026-03-19T17:30:00+00:00",
     "nir-sat-plus-3-skips-st-patricks-day"),
    # --- the 2023 Coronation -------------------------------------------------------------
    (ENG, "wk", "days", "2023-05-05T12:00+01:00", 1, "2023-05-09T17:30:00+01:00",
     "eng-coronation-mon-8-may-2023"),
    (SCT, "wk", "days", "2023-05-05T12:00+01:00", 1, "2023-05-09T17:30:00+01:00",
     "sct-coronation-mon-8-may-2023"),
    (NIR, "wk", "days", "2023-05-05T12:00+01:00", 1, "2023-05-09T17:30:00+01:00",
     "nir-coronation-mon-8-may-2023"),
    # --- working days: counting rule -------------------------------------------------------
    (ENG, "wk", "days", "2026-03-14T12:00+00:00", 3, "2026-03-18T17:30:00+00:00",
     "eng-received-saturday-plus-3-due-wednesday-close"),
    (ENG, "wk", "days", "2026-12-14T10:00+00:00", 10, "2026-12-30T17:30:00+00:00",
     "eng-10-working-days-over-christmas-2026"),
    (ENG, "wk", "days", "2026-12-25T10:00+00:00", 1, "2026-12-29T17:30:00+00:00",
     "eng-received-on-christmas-day-plus-1"),
    (ENG, "wk", "days", "2026-12-24T23:30+00:00", 1, "2026-12-29T17:30:00+00:00",
     "eng-received-late-christmas-eve-plus-1"),
    (ENG, "wk", "days", "2026-06-01T23:30+00:00", 1, "2026-06-03T17:30:00+01:00",
     "utc-2330-in-bst-is-next-local-date"),
    (ENG, "wk", "days", "2026-03-09T08:00+00:00", 1, "2026-03-10T17:30:00+00:00",
     "receipt-day-never-counts-even-before-opening"),
    (ENG, "sat", "days", "2026-03-13T12:00+00:00", 1, "2026-03-14T14:00:00+00:00",
     "saturday-hours-close-at-1400"),
    # --- working time: starts and ends around opening and closing ---------------------------
    (ENG, "wk", "time", "2026-03-09T07:00+00:00", H, "2026-03-09T10:00:00+00:00",
     "start-before-opening-counts-from-0900"),
    (ENG, "wk", "time", "2026-03-09T18:00+00:00", H, "2026-03-10T10:00:00+00:00",
     "start-after-closing-counts-from-next-opening"),
    (ENG, "wk", "time", "2026-03-09T17:30+00:00", H, "2026-03-10T10:00:00+00:00",
     "start-exactly-at-closing-counts-from-next-opening"),
    (ENG, "wk", "time", "2026-03-09T09:00+00:00", 8.5 * H, "2026-03-09T17:30:00+00:00",
     "result-exactly-at-closing-is-closing-not-next-opening"),
    (ENG, "wk", "time", "2026-03-09T16:00+00:00", 1.5 * H, "2026-03-09T17:30:00+00:00",
     "result-at-closing-from-mid-afternoon"),
    (ENG, "wk", "time", "2026-03-09T12:00+00:00", 24 * H, "2026-03-12T10:30:00+00:00",
     "24-working-hours-from-monday-noon"),
    (ENG, "wk", "time", "2026-03-09T09:00+00:00", H + 15 * M + timedelta(seconds=30.5),
     "2026-03-09T10:15:30.500000+00:00", "fractional-seconds-exact-to-microsecond"),
    (ENG, "wk", "time", "2026-03-13T17:00+00:00", 0.75 * H, "2026-03-16T09:15:00+00:00",
     "fractional-hour-friday-to-monday"),
    (ENG, "wk", "time", "2026-03-14T12:00+00:00", timedelta(0), "2026-03-14T12:00:00+00:00",
     "zero-duration-returns-start-even-on-saturday"),
    (ENG, "wk", "time", "2026-12-25T10:00+00:00", H, "2026-12-29T10:00:00+00:00",
     "start-on-christmas-holiday"),
    (ENG, "sat", "time", "2026-03-13T17:00+00:00", H, "2026-03-14T10:30:00+00:00",
     "saturday-hours-continue-friday-clock"),
    (ENG, "sat", "time", "2027-12-24T17:00+00:00", H, "2027-12-29T09:30:00+00:00",
     "saturday-christmas-2027-closed-then-two-substitute-days"),
    # --- inputs in other zones ---------------------------------------------------------------
    (ENG, "wk", "time", "2026-07-01T08:00+00:00", H, "2026-07-01T10:00:00+01:00",
     "utc-input-in-summer-counts-london-hours"),
    (ENG, "wk", "time", "2026-07-01T04:00-04:00", 8.5 * H, "2026-07-01T17:30:00+01:00",
     "new-york-input-0400-is-0900-london"),
    (ENG, "wk", "time", "2026-12-28T02:00+09:00", H, "2026-12-29T10:00:00+00:00",
     "tokyo-monday-morning-is-london-sunday"),
    (ENG, "wk", "time", "2026-07-03T16:00+00:00", H, "2026-07-06T09:30:00+01:00",
     "utc-friday-1600-is-1700-bst-rolls-to-monday-not-saturday"),
    (ENG, "wk", "is", "2026-06-01T08:30+00:00", None, True, "utc-0830-in-bst-is-open"),
    (ENG, "wk", "is", "2026-06-01T16:45+00:00", None, False, "utc-1645-in-bst-is-closed"),
    # --- is_working_time at the edges --------------------------------------------------------
    (ENG, "wk", "is", "2026-03-09T09:00+00:00", None, True, "opening-instant-is-working"),
    (ENG, "wk", "is", "2026-03-09T17:30+00:00", None, False, "closing-instant-is-not-working"),
    (ENG, "wk", "is", "2026-03-09T17:29:59.999999+00:00", None, True,
     "last-microsecond-before-close-is-working"),
    (ENG, "wk", "is", "2026-03-14T12:00+00:00", None, False, "saturday-is-not-working"),
    # --- working_time_between ----------------------------------------------------------------
    (ENG, "wk", "between", "2026-03-10T12:00+00:00", "2026-03-09T12:00+00:00", -8.5 * H,
     "between-is-negative-when-b-before-a"),
    (ENG, "wk", "between", "2026-03-10T12:00+00:00", "2026-03-10T12:00+00:00", timedelta(0),
     "between-same-instant-is-zero"),
    (ENG, "wk", "between", "2026-03-09T08:00+00:00", "2026-03-09T20:00+00:00", 8.5 * H,
     "between-outside-hours-counts-the-day"),
    # --- clock changes: 29 Mar 2026 (spring) and 25 Oct 2026 (autumn) -------------------------
    (ENG, "wk", "between", "2026-03-27T17:00+00:00", "2026-03-30T10:00+01:00", 1.5 * H,
     "working-time-across-spring-change-weekend"),
    (ENG, "wk", "between", "2026-10-23T17:00+01:00", "2026-10-26T10:00+00:00", 1.5 * H,
     "working-time-across-autumn-change-weekend"),
    (ENG, "24x7", "between", "2026-03-28T00:00+00:00", "2026-03-30T00:00+01:00", 47 * H,
     "24x7-spring-sunday-has-23-real-hours"),
    (ENG, "24x7", "between", "2026-10-24T00:00+01:00", "2026-10-26T00:00+00:00", 49 * H,
     "24x7-autumn-sunday-has-25-real-hours"),
    (ENG, "24x7", "time", "2026-03-28T12:00+00:00", 24 * H, "2026-03-29T13:00:00+01:00",
     "24x7-24-working-hours-across-spring-change-are-real-hours"),
    (ENG, "24x7", "time", "2026-10-24T12:00+01:00", 24 * H, "2026-10-25T11:00:00+00:00",
     "24x7-24-working-hours-across-autumn-change-are-real-hours"),
    (ENG, "wk", "time", "2026-03-27T17:00+00:00", H, "2026-03-30T09:30:00+01:00",
     "working-hours-resume-at-0900-bst-after-spring-change"),
    (ENG, "wk", "elapsed", "2026-03-27T12:00+00:00", 48 * H, "2026-03-29T13:00:00+01:00",
     "48-elapsed-hours-across-spring-change-are-real-hours"),
    (ENG, "wk", "elapsed", "2026-10-23T12:00+01:00", 48 * H, "2026-10-25T11:00:00+00:00",
     "48-elapsed-hours-across-autumn-change-are-real-hours"),
    (ENG, "wk", "weeks", "2026-02-19T10:00+00:00", 6, "2026-04-02T10:00:00+01:00",
     "6-weeks-across-spring-change-keeps-wall-time"),
    (ENG, "wk", "weeks", "2026-09-17T00:30+01:00", 6, "2026-10-29T00:30:00+00:00",
     "6-weeks-from-0030-bst-stays-on-date-across-autumn-change"),
    (ENG, "wk", "weeks", "2026-03-15T01:30+00:00", 2, "2026-03-29T02:30:00+01:00",
     "weeks-into-spring-gap-moves-forward-past-gap"),
    (ENG, "wk", "weeks", "2026-10-11T01:30+01:00", 2, "2026-10-25T01:30:00+01:00",
     "weeks-into-autumn-repeat-takes-first-occurrence"),
    (ENG, "wk", "weeks", "2026-04-08T14:00+01:00", 6, "2026-05-20T14:00:00+01:00",
     "adr-6-weeks-from-8-april-2026-is-42-days"),
    (ENG, "wk", "weeks", "2026-06-30T23:30+00:00", 6, "2026-08-12T00:30:00+01:00",
     "weeks-count-from-london-date-of-utc-input"),
]
# fmt: on

CASES = [pytest.param(*row[:6], id=row[6]) for row in _CASES]


@pytest.mark.parametrize(("nation", "hours", "op", "start", "arg", "expected"), CASES)
def test_hand_checked_case(
    nation: str, hours: str, op: str, start: str, arg: Any, expected: Any
) -> None:
    wh, ref_hours = HOURS[hours]
    cal = BusinessCalendar(nation=nation, hours=wh)
    ref = ReferenceCalendar(nation, ref_hours)
    s = dt(start)
    got: Any
    want: Any
    if op == "days":
        got, want = cal.add_working_days(s, arg), ref.add_working_days(s, arg)
    elif op == "time":
        got, want = cal.add_working_time(s, arg), ref.add_working_time(s, arg)
    elif op == "weeks":
        got, want = cal.add_weeks(s, arg), ref.add_weeks(s, arg)
    elif op == "elapsed":
        got, want = add_elapsed(s, arg), s.astimezone(UTC) + arg
    elif op == "between":
        e = dt(arg)
        got, want = cal.working_time_between(s, e), ref.working_time_between(s, e)
        assert got == expected
        assert want == expected
        return
    elif op == "is":
        got, want = cal.is_working_time(s), ref.is_working_time(s)
        assert got is expected
        assert want is expected
        return
    else:  # pragma: no cover
        raise AssertionError(op)
    assert got.tzinfo is LONDON
    assert got.isoformat() == expected
    assert got == want


def test_table_has_at_least_60_cases() -> None:
    assert len(CASES) >= 60


def test_wall_clock_addition_is_the_trap_add_elapsed_avoids() -> None:
    start = dt("2026-03-27T12:00+00:00").astimezone(LONDON)
    wall = start + 48 * H  # Python: wall-clock arithmetic in the same tzinfo
    assert wall.isoformat() == "2026-03-29T12:00:00+01:00"
    assert wall - start == 48 * H  # Python even claims so, same tzinfo
    assert wall.timestamp() - start.timestamp() == 47 * 3600
    assert add_elapsed(start, 48 * H).timestamp() - start.timestamp() == 48 * 3600


# --------------------------------------------------------------------- holiday sources


def test_england_and_wales_holidays_agree_2000_to_2100() -> None:
    years = range(SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop)
    eng = holidays.country_holidays("GB", subdiv="ENG", years=years)
    wls = holidays.country_holidays("GB", subdiv="WLS", years=years)
    assert set(eng) == set(wls)


def test_uk_wide_set_lacks_easter_monday_so_it_is_never_used() -> None:
    uk = holidays.country_holidays("GB", years=2026)
    assert date(2026, 4, 6) not in uk
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    assert not cal.is_working_time(dt("2026-04-06T12:00+01:00"))
    assert not cal.is_working_time(dt("2026-08-31T12:00+01:00"))


# ------------------------------------------------------------------------- bad input


def test_naive_datetime_raises_clear_value_error() -> None:
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    naive = datetime(2026, 3, 9, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_time(naive, H)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_time_between(dt("2026-03-09T12:00+00:00"), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_weeks(naive, 6)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.is_working_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_elapsed(naive, H)


def test_unknown_nation_lists_the_three_names() -> None:
    with pytest.raises(ValueError) as err:
        BusinessCalendar(nation="wales", hours=WEEK)
    for name in (ENG, SCT, NIR):
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("open_", "close", "message"),
    [
        pytest.param("9:00", "17:30", "HH:MM", id="one-digit-hour"),
        pytest.param("09:00", "17:60", "HH:MM", id="minute-60"),
        pytest.param("24:00", "24:00", "HH:MM", id="open-at-24"),
        pytest.param("17:30", "09:00", "before", id="open-after-close"),
        pytest.param("09:00", "09:00", "before", id="open-equals-close"),
        pytest.param("09:00", "25:00", "HH:MM", id="close-25"),
    ],
)
def test_bad_hours_raise(open_: str, close: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours.weekdays(open_, close)


def test_bad_per_day_hours_raise() -> None:
    with pytest.raises(ValueError, match="unknown day"):
        WorkingHours.per_day({"monday": ("09:00", "17:00")})
    with pytest.raises(ValueError, match="at least one day"):
        WorkingHours.per_day({})
    with pytest.raises(ValueError, match="open, close"):
        WorkingHours.per_day({"mon": ("09:00",)})  # type: ignore[dict-item]


def test_per_day_hours_are_typed_and_frozen() -> None:
    h = WorkingHours.per_day({"Mon": ("09:00", "17:30"), "sat": ("10:00", "14:00")})
    assert h.days[0] == DayHours(540, 1050)
    assert h.days[5] == DayHours(600, 840)
    assert h.days[1] is None
    assert str(h) == "mon 09:00-17:30, sat 10:00-14:00"
    with pytest.raises(AttributeError):
        h.days = ()  # type: ignore[misc]
    assert WorkingHours.weekdays("09:00", "17:30") == WEEK


def test_negative_amounts_raise() -> None:
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    s = dt("2026-03-09T12:00+00:00")
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_time(s, -M)
    with pytest.raises(ValueError, match="at least 1"):
        cal.add_working_days(s, 0)
    with pytest.raises(ValueError, match="negative"):
        cal.add_weeks(s, -1)
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_time_many([int(s.timestamp())], [-1])
    assert cal.add_weeks(s, 0) == s


def test_outside_supported_range_raises_never_answers() -> None:
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    with pytest.raises(CalendarRangeError, match="supported range"):
        cal.add_working_time(dt("1999-12-31T23:59+00:00"), H)
    with pytest.raises(CalendarRangeError, match="supported range"):
        cal.add_working_time(dt("2100-12-31T12:00+00:00"), 24 * H)
    with pytest.raises(CalendarRangeError, match="supported range"):
        cal.add_working_days(dt("2100-12-30T12:00+00:00"), 5)
    with pytest.raises(CalendarRangeError, match="supported range"):
        cal.add_weeks(dt("2100-12-20T12:00+00:00"), 6)
    with pytest.raises(CalendarRangeError, match="supported range"):
        cal.working_time_between(dt("2026-01-01T00:00+00:00"), dt("2101-01-01T00:00+00:00"))
    with pytest.raises(CalendarRangeError, match="supported range"):
        cal.is_working_time(dt("2101-06-01T12:00+00:00"))
    for extreme in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        with pytest.raises(CalendarRangeError, match="supported range"):
            cal.add_working_time(extreme, H)
    with pytest.raises(CalendarRangeError):
        cal.add_working_time_many([int(dt("2102-01-01T00:00+00:00").timestamp())], [60])
    with pytest.raises(CalendarRangeError):
        cal.working_time_between_many([0], [np.iinfo(np.int64).min])
    with pytest.raises(CalendarRangeError):
        cal.add_working_time_many([int(dt("2100-12-31T12:00+00:00").timestamp())], [86400])
    with pytest.raises(CalendarRangeError):
        BusinessCalendar(nation=ENG, hours=WEEK, closed_dates=[date(2150, 1, 1)])
    # The edges themselves work.
    assert cal.add_working_days(dt("2000-01-01T00:00+00:00"), 1).isoformat() == (
        "2000-01-04T17:30:00+00:00"  # Sat 1 Jan 2000: substitute Mon 3 Jan
    )
    assert cal.add_working_time(dt("2100-12-31T09:00+00:00"), 8.5 * H).isoformat() == (
        "2100-12-31T17:30:00+00:00"
    )


def test_batch_rejects_float_arrays() -> None:
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    with pytest.raises(ValueError, match="integers"):
        cal.add_working_time_many(np.array([1.7e9]), [60])


def test_closed_dates_close_the_day_and_calendar_is_immutable_and_cached() -> None:
    closed = (date(2026, 12, 24),)
    cal = BusinessCalendar(nation=ENG, hours=WEEK, closed_dates=closed)
    s = dt("2026-12-14T10:00+00:00")
    assert cal.add_working_days(s, 10).isoformat() == "2026-12-31T17:30:00+00:00"
    assert not cal.is_working_time(dt("2026-12-24T12:00+00:00"))
    same = BusinessCalendar(nation=ENG, hours=WEEK, closed_dates=list(closed))
    assert same == cal and hash(same) == hash(cal)
    assert same._s is cal._s  # the precomputed schedule is shared
    with pytest.raises(AttributeError):
        cal.nation = SCT  # type: ignore[misc]
    with pytest.raises(ValueError, match="dates"):
        BusinessCalendar(nation=ENG, hours=WEEK, closed_dates=[datetime(2026, 1, 2, tzinfo=UTC)])


def test_hours_that_vanish_in_the_spring_gap_raise() -> None:
    hours = WorkingHours.per_day({"sun": ("01:30", "02:15")})
    with pytest.raises(ValueError, match="clock change"):
        BusinessCalendar(nation=ENG, hours=hours)


def test_other_tzinfo_implementations_are_accepted() -> None:
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    fixed = datetime(2026, 7, 1, 13, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert cal.add_working_time(fixed, H).isoformat() == "2026-07-01T10:00:00+01:00"


# ------------------------------------------------------------------ property tests

_LO = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
_HI = int(datetime(2029, 1, 1, tzinfo=UTC).timestamp())
_ZONES = [UTC, LONDON, ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")]

_CONFIGS = [
    (ENG, WEEK, WEEK_REF, ()),
    (
        SCT,
        WorkingHours.weekdays("08:00", "18:00"),
        {d: ("08:00", "18:00") for d in range(5)},
        (date(2026, 12, 24), date(2027, 12, 31)),
    ),
    (NIR, SAT, SAT_REF, ()),
    (ENG, ALWAYS, ALWAYS_REF, ()),
    # Sunday hours across both clock changes: 01:30 is in the spring gap and repeats in
    # autumn; 00:30-03:00 straddles the change.
    (
        SCT,
        WorkingHours.per_day({"wed": ("12:00", "24:00"), "sun": ("01:30", "04:00")}),
        {2: ("12:00", "24:00"), 6: ("01:30", "04:00")},
        (),
    ),
    (
        ENG,
        WorkingHours.per_day({"sun": ("00:30", "03:00"), "mon": ("00:00", "00:01")}),
        {6: ("00:30", "03:00"), 0: ("00:00", "00:01")},
        (),
    ),
]
_CALS = [
    (BusinessCalendar(nation=n, hours=h, closed_dates=c), ReferenceCalendar(n, r, c))
    for n, h, r, c in _CONFIGS
]

calendars = st.sampled_from(_CALS)
epoch_seconds = st.integers(_LO, _HI)
micros = st.one_of(st.just(0), st.integers(0, 999_999))
durations = st.one_of(
    st.integers(0, 40 * 3600),
    st.integers(0, 400 * 3600),
    st.sampled_from([0, 1, 3600, 8.5 * 3600, 24 * 3600]).map(int),
)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    t = datetime.fromtimestamp(draw(epoch_seconds), UTC).replace(microsecond=draw(micros))
    return t.astimezone(draw(st.sampled_from(_ZONES)))


@st.composite
def spans(draw: st.DrawFn) -> timedelta:
    return timedelta(seconds=draw(durations), microseconds=draw(micros))


FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(calendars, instants(), spans())
def test_add_working_time_equals_reference(
    cals: tuple[BusinessCalendar, ReferenceCalendar], start: datetime, d: timedelta
) -> None:
    cal, ref = cals
    got = cal.add_working_time(start, d)
    want = ref.add_working_time(start, d)
    assert got == want
    assert got.isoformat() == want.isoformat()  # same offset: fold kept in October
    assert got.tzinfo is LONDON
    assert got.utcoffset() == got.tzinfo.utcoffset(got)


@FAST
@given(calendars, instants(), instants())
def test_working_time_between_equals_reference_and_is_antisymmetric(
    cals: tuple[BusinessCalendar, ReferenceCalendar], a: datetime, b: datetime
) -> None:
    cal, ref = cals
    ab = cal.working_time_between(a, b)
    assert ab == ref.working_time_between(a, b)
    assert cal.working_time_between(b, a) == -ab


@FAST
@given(calendars, instants(), spans())
def test_add_then_measure_gives_back_the_duration_and_is_earliest(
    cals: tuple[BusinessCalendar, ReferenceCalendar], start: datetime, d: timedelta
) -> None:
    cal, _ = cals
    end = cal.add_working_time(start, d)
    assert end >= start
    assert cal.working_time_between(start, end) == d
    if d:
        one_us = timedelta(microseconds=1)
        assert cal.working_time_between(start, end - one_us) < d


@FAST
@given(calendars, instants(), instants(), spans(), spans())
def test_add_working_time_is_monotonic_in_start_and_duration(
    cals: tuple[BusinessCalendar, ReferenceCalendar],
    a: datetime,
    b: datetime,
    d1: timedelta,
    d2: timedelta,
) -> None:
    cal, _ = cals
    a, b = sorted((a, b))
    d1, d2 = sorted((d1, d2))
    # Compare instants in UTC: Python compares two datetimes of the same zone by wall time and
    # ignores fold, so 01:30 BST would sort after 01:10 GMT (which is 40 minutes later).
    assert cal.add_working_time(a, d1).astimezone(UTC) <= cal.add_working_time(b, d1).astimezone(
        UTC
    )
    assert cal.add_working_time(a, d1).astimezone(UTC) <= cal.add_working_time(a, d2).astimezone(
        UTC
    )


@FAST
@given(calendars, instants(), st.integers(1, 30), st.integers(1, 60))
def test_working_days_weeks_and_is_working_equal_reference(
    cals: tuple[BusinessCalendar, ReferenceCalendar], start: datetime, n: int, w: int
) -> None:
    cal, ref = cals
    assert cal.add_working_days(start, n).isoformat() == ref.add_working_days(start, n).isoformat()
    got = cal.add_weeks(start, w)
    assert got == ref.add_weeks(start, w)
    assert got.isoformat() == ref.add_weeks(start, w).isoformat()
    assert cal.is_working_time(start) is ref.is_working_time(start)


@settings(max_examples=40, deadline=None)
@given(
    calendars,
    st.lists(st.tuples(epoch_seconds, epoch_seconds, durations), min_size=1, max_size=40),
)
def test_batch_functions_equal_scalar_ones(
    cals: tuple[BusinessCalendar, ReferenceCalendar], rows: list[tuple[int, int, int]]
) -> None:
    cal, _ = cals
    a = np.array([r[0] for r in rows], dtype=np.int64)
    b = np.array([r[1] for r in rows], dtype=np.int64)
    d = np.array([r[2] for r in rows], dtype=np.int64)
    added = cal.add_working_time_many(a, d)
    between = cal.working_time_between_many(a, b)
    assert added.dtype == np.int64 and between.dtype == np.int64
    for x, y, s, r, w in zip(
        a.tolist(), b.tolist(), d.tolist(), added.tolist(), between.tolist(), strict=True
    ):
        ax = datetime.fromtimestamp(x, UTC)
        expected = cal.add_working_time(ax, timedelta(seconds=s))
        assert r == int(expected.timestamp())
        by = datetime.fromtimestamp(y, UTC)
        assert w == cal.working_time_between(ax, by) // timedelta(seconds=1)


def test_batch_broadcasts_a_scalar_duration_and_keeps_shape() -> None:
    cal = BusinessCalendar(nation=ENG, hours=WEEK)
    starts = np.array([[_LO, _LO + 3600], [_LO + 7200, _LO + 86400]], dtype=np.int64)
    out = cal.add_working_time_many(starts, 3600)
    assert out.shape == (2, 2)
    for x, r in zip(starts.ravel().tolist(), out.ravel().tolist(), strict=True):
        assert r == int(cal.add_working_time(datetime.fromtimestamp(x, UTC), H).timestamp())
    assert cal.working_time_between_many([], []).shape == (0,)


def test_batch_over_many_chunks_equals_scalar() -> None:
    cal = BusinessCalendar(nation=SCT, hours=SAT)
    rng = np.random.default_rng(7)
    n = 100_000  # several internal chunks
    x = rng.integers(_LO, _HI, n)
    d = rng.integers(0, 200 * 3600, n)
    y = rng.integers(_LO, _HI, n)
    added = cal.add_working_time_many(x, d)
    between = cal.working_time_between_many(x, y)
    for k in rng.integers(0, n, 300).tolist():
        ax = datetime.fromtimestamp(int(x[k]), UTC)
        got = cal.add_working_time(ax, timedelta(seconds=int(d[k])))
        assert int(added[k]) == int(got.timestamp())
        by = datetime.fromtimestamp(int(y[k]), UTC)
        assert int(between[k]) == cal.working_time_between(ax, by).total_seconds()


def test_results_in_the_repeated_autumn_hour_keep_their_real_order() -> None:
    """Found by hypothesis: a later start gives a later instant even when the wall clock
    reads earlier (01:12 GMT is 42 minutes after 01:30 BST on 26 Oct 2025)."""
    cal = BusinessCalendar(
        nation="scotland",
        hours=WorkingHours.per_day({"wed": ("12:00", "24:00"), "sun": ("01:30", "04:00")}),
        closed_dates=(),
    )
    d = timedelta(seconds=11545)
    early = cal.add_working_time(datetime(2025, 10, 22, 19, 47, 39, tzinfo=UTC), d)
    late = cal.add_working_time(datetime(2025, 10, 22, 20, 30, 16, tzinfo=UTC), d)
    assert early.isoformat() == "2025-10-26T01:30:04+01:00"
    assert late.isoformat() == "2025-10-26T01:12:41+00:00"
    assert late.astimezone(UTC) - early.astimezone(UTC) == timedelta(minutes=42, seconds=37)
