"""Working time and deadlines on the UK's nation calendars.

Every clock in Amends rests on this module: "acknowledge within 24 working hours",
"resolve within 10 working days", "contact within 48 hours", "ADR letter 6 weeks after
first receipt". Pure Python plus numpy and ``holidays``; no Django, no clock reading.

Usage::

    cal = BusinessCalendar(
        nation="scotland",
        hours=WorkingHours.weekdays("09:00", "17:30"),
        closed_dates=(date(2026, 12, 24),),
    )
    cal.add_working_time(received, timedelta(hours=24))   # "24 working hours"
    cal.add_working_days(received, 10)                     # "10 working days"
    cal.add_weeks(received, 6)                             # "6 weeks" (42 calendar days)
    add_elapsed(received, timedelta(hours=48))             # "48 hours" (real hours)

Semantics, and where each convention comes from
===============================================

Instants and zones
    Inputs are *aware* datetimes in any zone (UTC, Europe/London, anything with a
    ``tzinfo`` that gives an offset); a naive datetime raises ``ValueError``, because
    its instant is unknown (architecture.md, convention 2: store aware instants, count
    on Europe/London local time). Outputs are aware datetimes in Europe/London
    (``zoneinfo``, IANA tz database), so their dates are the UK local dates that
    regulation speaks of (regulatory.md, "Things the system must make impossible",
    item 6: "All dates are UK local dates"). The batch functions take and return int64
    UTC epoch seconds.

Wall times that do not exist or occur twice
    At the spring change (e.g. Sun 29 Mar 2026) local times 01:00-01:59 do not exist;
    at the autumn change (e.g. Sun 25 Oct 2026) they occur twice. A wall time is turned
    into an instant as RFC 5545 section 3.3.5 (iCalendar) and PEP 495 ``fold=0``
    prescribe: a time that occurs twice means its *first* occurrence (BST); a time in
    the gap is read with the offset before the gap, which moves it forward by the
    length of the gap (01:30 becomes 02:30 BST). This applies to opening and closing
    times and to :meth:`BusinessCalendar.add_weeks`.

Working days
    A working day is a local date whose weekday has hours in :class:`WorkingHours`
    (Monday to Friday for ``WorkingHours.weekdays``), that is not a bank holiday of the
    chosen nation and not one of ``closed_dates``. This is the FCA Handbook's "business
    day" shape (Glossary: not a Saturday or Sunday, Christmas Day, Good Friday or "a
    bank holiday in that part of the United Kingdom") and what Ofcom's automatic
    compensation scheme and the CISAS rules mean by working days (regulatory.md
    sections D, E and I).

Bank holidays of each nation
    The divisions and names are GOV.UK's (https://www.gov.uk/bank-holidays.json:
    ``england-and-wales``, ``scotland``, ``northern-ireland``). The dates come from the
    ``holidays`` package (>= 0.91) as ``country_holidays("GB", subdiv=...)`` with
    ENG, SCT or NIR. Never the UK-wide set without a subdivision: it lacks Easter
    Monday and the August holidays (regulatory.md item 27). England and Wales use ENG;
    ``holidays`` gives WLS the same dates (checked for 2000-2100 in the tests). The
    legal sources are the Banking and Financial Dealings Act 1971, Schedule 1, the St
    Andrew's Day Bank Holiday (Scotland) Act 2007, royal proclamations for one-off
    days (the 2023 Coronation, Scotland's 15 June 2026) and common law for Christmas
    Day and Good Friday in England, Wales and Northern Ireland. Substitute days
    ("observed") are included. A one-off holiday proclaimed after the installed
    ``holidays`` release is missing until it is upgraded: pass it in
    ``closed_dates`` meanwhile. A bank holiday that falls on a day with hours (for
    example a Saturday) closes that day too.

Working time (``add_working_time``, ``working_time_between``, ``is_working_time``)
    Working time is *real elapsed time* inside each working day's ``[open, close)``,
    in Europe/London. An hour is always 3600 seconds: a day with hours across a clock
    change has one hour more or less of working time (Amends convention: deadlines
    measure time that passed, not clock readings). ``add_working_time(start, d)`` is
    the earliest instant ``t >= start`` with exactly ``d`` of working time in
    ``[start, t]``: a start outside working hours counts from the next opening, and a
    result that falls exactly on a closing time *is* that closing time (17:30), never
    the next opening. ``d == 0`` returns ``start`` itself (converted to London), the
    earliest such instant even outside working hours; a negative ``d`` raises
    ``ValueError``. ``working_time_between(a, b)`` is signed: negative when
    ``b < a``. All arithmetic is exact to the microsecond (integers, no floats).

Working days (``add_working_days``)
    ``add_working_days(start, n)``, ``n >= 1``, is the closing time of the n-th working
    day strictly after the local date of ``start``, whatever the time of day ``start``
    has: received Saturday, 3 working days, due at close on Wednesday. The day of
    receipt never counts. The shape follows the FCA's DISP 1.5.1R ("by close of
    business on the third business day following the day on which it is received").

Weeks (``add_weeks``)
    ``add_weeks(start, w)`` is the same local wall-clock time on the local date
    ``7 * w`` days later: date arithmetic, so "6 weeks" is receipt date + 42 days and
    never moves across midnight at a DST change (regulatory.md section B item (b):
    weeks are calendar weeks; Ombudsman Services guidance on 8-week letters). A wall
    time that does not exist on that date moves forward past the gap (see above).
    ``w == 0`` returns ``start`` itself; a negative ``w`` raises ``ValueError``.

Elapsed hours (``add_elapsed``)
    "Within 48 hours" means 48 real hours: ``start + timedelta`` computed on the UTC
    instant, which is what :func:`add_elapsed` does. ``aware_london + timedelta`` in
    Python is *wall-clock* arithmetic and gives 47 or 49 real hours across a clock
    change: never write it for a deadline.

Supported range
    Instants from 2000-01-01 00:00 to 2101-01-01 00:00 Europe/London (local dates in
    ``SUPPORTED_YEARS``), inputs and results alike. Outside it every method of
    :class:`BusinessCalendar` raises :class:`CalendarRangeError` (a ``ValueError``):
    never a wrong answer. (:func:`add_elapsed` needs no calendar and has no limit.)

Performance
    A calendar precomputes, once per (nation, hours, closed dates) and process (an LRU
    cache of 16, about 9 MB each; constructing one per request then costs ~2 µs), the UTC
    instants of every working interval in the range and the cumulative working time
    before each. A scalar call is then two binary searches and integer arithmetic; the
    batch functions replace the searches with bucket tables and numpy gathers. The
    first calendar of a process takes ~0.2 s to build (``holidays`` for 101 years, then
    ~37,000 local days). See benchmarks/RESULTS.md.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from operator import index
from typing import Final
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

__all__ = [
    "LONDON",
    "NATIONS",
    "SUPPORTED_YEARS",
    "BusinessCalendar",
    "CalendarRangeError",
    "DayHours",
    "WorkingHours",
    "add_elapsed",
]

LONDON: Final = ZoneInfo("Europe/London")

#: GOV.UK's division names mapped to the ``holidays`` subdivision codes.
NATIONS: Final[Mapping[str, str]] = {
    "england-and-wales": "ENG",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}

#: Local years the calendars cover; instants outside raise CalendarRangeError.
SUPPORTED_YEARS: Final = range(2000, 2101)

_DAY_KEYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)\Z")
_MINUTES_PER_DAY: Final = 1440
_US_PER_S: Final = 1_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US: Final = timedelta(microseconds=1)


class CalendarRangeError(ValueError):
    """An instant, date or result outside ``SUPPORTED_YEARS``."""


# --------------------------------------------------------------------------- hours


def _parse_hhmm(text: str, what: str, *, allow_24: bool) -> int:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string 'HH:MM', got {text!r}")
    if allow_24 and text == "24:00":
        return _MINUTES_PER_DAY
    m = _HHMM.match(text)
    if m is None:
        upper = "24:00" if allow_24 else "23:59"
        raise ValueError(f"{what} must be 'HH:MM' from 00:00 to {upper}, got {text!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class DayHours:
    """One day's opening hours ``[open, close)``, as minutes after local midnight.

    ``close_minute`` may be 1440 ("24:00", the next midnight).
    """

    open_minute: int
    close_minute: int

    def __post_init__(self) -> None:
        if not 0 <= self.open_minute < self.close_minute <= _MINUTES_PER_DAY:
            raise ValueError(
                "opening hours need 00:00 <= open < close <= 24:00, got "
                f"{_format_minutes(self.open_minute)}-{_format_minutes(self.close_minute)}"
            )

    @classmethod
    def parse(cls, open_: str, close: str) -> DayHours:
        """``DayHours.parse("09:00", "17:30")``; close may be "24:00"."""
        o = _parse_hhmm(open_, "opening time", allow_24=False)
        c = _parse_hhmm(close, "closing time", allow_24=True)
        if o >= c:
            raise ValueError(f"opening time {open_} must be before closing time {close}")
        return cls(o, c)

    def __str__(self) -> str:
        return f"{_format_minutes(self.open_minute)}-{_format_minutes(self.close_minute)}"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Opening hours for each weekday, Monday first (``date.weekday()`` order).

    ``None`` means closed all day. Build with :meth:`weekdays` or :meth:`per_day`.
    """

    days: tuple[DayHours | None, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.days, tuple) or len(self.days) != 7:
            raise ValueError("WorkingHours needs a tuple of 7 days, Monday first")
        if any(d is not None and not isinstance(d, DayHours) for d in self.days):
            raise ValueError("each day of WorkingHours must be DayHours or None")
        if all(d is None for d in self.days):
            raise ValueError("WorkingHours needs at least one day with hours")

    @classmethod
    def weekdays(cls, open_: str, close: str) -> WorkingHours:
        """The same hours Monday to Friday, closed at weekends."""
        h = DayHours.parse(open_, close)
        return cls((h, h, h, h, h, None, None))

    @classmethod
    def per_day(cls, hours: Mapping[str, tuple[str, str] | None]) -> WorkingHours:
        """Hours per day, keyed "mon" ... "sun"; days not given (or None) are closed.

        ``WorkingHours.per_day({"mon": ("09:00", "17:30"), "sat": ("10:00", "14:00")})``
        """
        days: list[DayHours | None] = [None] * 7
        for key, value in hours.items():
            k = key.lower() if isinstance(key, str) else key
            if k not in _DAY_KEYS:
                raise ValueError(f"unknown day {key!r}: use one of {', '.join(_DAY_KEYS)}")
            if value is None:
                continue
            if not (isinstance(value, tuple | list) and len(value) == 2):
                raise ValueError(f"hours for {key!r} must be (open, close), got {value!r}")
            days[_DAY_KEYS.index(k)] = DayHours.parse(value[0], value[1])
        return cls(tuple(days))

    def __str__(self) -> str:
        return ", ".join(
            f"{k} {h}" for k, h in zip(_DAY_KEYS, self.days, strict=True) if h is not None
        )


# ----------------------------------------------------------------------- schedule


@cache
def _bank_holidays(subdiv: str) -> frozenset[date]:
    years = range(SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop)
    return frozenset(holidays.country_holidays("GB", subdiv=subdiv, years=years))


def _wall_to_epoch(day: date, minute: int) -> int:
    """The UTC epoch second of local wall time ``minute`` on ``day`` (fold=0, RFC 5545)."""
    if minute == _MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), 0
    wall = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=LONDON)
    return int(wall.timestamp())


def _bucket_table(
    values: npt.NDArray[np.int64], origin: int, span: int, side: str
) -> tuple[int, npt.NDArray[np.intp], int]:
    """A lookup table over ``[origin, origin + span)`` in buckets of ``2**shift``.

    side "right": entry b is the last index with ``values[i] <= bucket start``.
    side "left": entry b is the first index with ``values[i] >= bucket start``.
    Returns (shift, table, fix_ups), where fix_ups is the most values in one bucket:
    the number of compare-and-step corrections a lookup needs.
    """
    best: tuple[int, npt.NDArray[np.intp], int] | None = None
    for shift in range(17, 10, -1):  # widest bucket with at most one value inside
        n = (span >> shift) + 2
        starts = origin + (np.arange(n, dtype=np.int64) << shift)
        if side == "right":
            table = np.searchsorted(values, starts, side="right").astype(np.intp) - 1
        else:
            table = np.searchsorted(values, starts, side="left").astype(np.intp)
        fix_ups = int(np.diff(table).max()) if n > 1 else 0
        best = (shift, table, fix_ups)
        if fix_ups <= 1:
            break
    assert best is not None
    return best


class _Batch:
    """numpy tables for the vectorised functions, in epoch seconds."""

    __slots__ = (
        "lo",
        "hi",
        "total",
        "opens",
        "closes",
        "durs",
        "cum",
        "cum_end",
        "t_shift",
        "t_table",
        "t_fix",
        "w_shift",
        "w_table",
        "w_fix",
    )

    lo: int
    hi: int
    total: int
    opens: npt.NDArray[np.int64]
    closes: npt.NDArray[np.int64]
    durs: npt.NDArray[np.int64]
    cum: npt.NDArray[np.int64]
    cum_end: npt.NDArray[np.int64]
    t_shift: int
    t_table: npt.NDArray[np.intp]
    t_fix: int
    w_shift: int
    w_table: npt.NDArray[np.intp]
    w_fix: int

    def __init__(self, lo: int, hi: int, opens: list[int], closes: list[int]) -> None:
        o = np.array(opens, dtype=np.int64)
        c = np.array(closes, dtype=np.int64)
        d = c - o
        cum = np.concatenate(([0], np.cumsum(d)[:-1])).astype(np.int64)
        cum_end = cum + d
        self.lo, self.hi, self.total = lo, hi, int(cum_end[-1])
        # A trailing sentinel so that the fix-up compare ``opens[i + 1]`` never overruns.
        self.opens = np.concatenate((o, [np.iinfo(np.int64).max])).astype(np.int64)
        self.closes, self.durs, self.cum, self.cum_end = c, d, cum, cum_end
        self.t_shift, self.t_table, self.t_fix = _bucket_table(o, lo, hi - lo, "right")
        # The working-time axis starts at 0; the sentinel's cum_end (0) is excluded.
        self.w_shift, w_table, self.w_fix = _bucket_table(cum_end[1:], 0, self.total + 1, "left")
        self.w_table = w_table + 1


class _Schedule:
    """Working intervals of one (nation, hours, closed dates), built once.

    Interval 0 is an empty sentinel at the start of the range, so every instant in
    the range has a last interval opening at or before it. Scalar tables are Python
    lists of integer microseconds (bisect on lists beats numpy for one value).
    """

    __slots__ = (
        "lo",
        "hi",
        "days",
        "opens",
        "closes",
        "durs",
        "cum",
        "cum_end",
        "total",
        "_batch",
    )

    def __init__(self, subdiv: str, hours: WorkingHours, closed: frozenset[date]) -> None:
        first = date(SUPPORTED_YEARS.start, 1, 1)
        stop = date(SUPPORTED_YEARS.stop, 1, 1)
        lo = _wall_to_epoch(first, 0)
        hi = _wall_to_epoch(stop, 0)
        shut = _bank_holidays(subdiv) | closed
        days: list[int] = [first.toordinal() - 1]
        opens: list[int] = [lo]
        closes: list[int] = [lo]
        one = timedelta(days=1)
        day = first
        while day < stop:
            h = hours.days[day.weekday()]
            if h is not None and day not in shut:
                o = _wall_to_epoch(day, h.open_minute)
                c = _wall_to_epoch(day, h.close_minute)
                if c <= o:  # only when a time falls in the spring DST gap
                    raise ValueError(
                        f"hours {h} have no working time on {day.isoformat()} "
                        "(clock change): choose hours outside 01:00-02:00"
                    )
                days.append(day.toordinal())
                opens.append(o)
                closes.append(c)
            day += one
        self.lo, self.hi = lo * _US_PER_S, hi * _US_PER_S
        self.days = days
        self.opens = [o * _US_PER_S for o in opens]
        self.closes = [c * _US_PER_S for c in closes]
        self.durs = [c - o for o, c in zip(self.opens, self.closes, strict=True)]
        cum: list[int] = []
        acc = 0
        for d in self.durs:
            cum.append(acc)
            acc += d
        self.cum = cum
        self.cum_end = [a + d for a, d in zip(cum, self.durs, strict=True)]
        self.total = acc
        self._batch: _Batch | None = None

    def batch(self) -> _Batch:
        b = self._batch
        if b is None:  # built on first use; a race only builds it twice
            b = self._batch = _Batch(
                self.lo // _US_PER_S,
                self.hi // _US_PER_S,
                [o // _US_PER_S for o in self.opens],
                [c // _US_PER_S for c in self.closes],
            )
        return b


@lru_cache(maxsize=16)  # about 9 MB each (10.5 MB once the batch tables exist)
def _schedule(subdiv: str, hours: WorkingHours, closed: frozenset[date]) -> _Schedule:
    return _Schedule(subdiv, hours, closed)


# ------------------------------------------------------------------- conversions


def _not_aware(t: object, what: str) -> Exception:
    if isinstance(t, datetime):
        return ValueError(
            f"{what} must be timezone-aware (e.g. tzinfo=ZoneInfo('Europe/London')"
            f" or UTC), got naive {t.isoformat()}"
        )
    return TypeError(f"{what} must be an aware datetime, got {type(t).__name__}")


def _to_us(t: datetime, what: str = "datetime") -> int:
    """Exact UTC epoch microseconds of an aware datetime.

    Subtracting an aware epoch raises TypeError for a naive datetime (and for a tzinfo
    whose utcoffset() is None), so the check costs nothing on the fast path.
    """
    try:
        delta = t - _EPOCH
    except TypeError:
        raise _not_aware(t, what) from None
    return (delta.days * 86400 + delta.seconds) * _US_PER_S + delta.microseconds


def _from_us(x: int) -> datetime:
    s, us = divmod(x, _US_PER_S)
    out = datetime.fromtimestamp(s, LONDON)
    # replace() keeps fold (the second 01:xx in October); "+ timedelta" would not.
    return out.replace(microsecond=us) if us else out


def _range_error(x: int, what: str) -> CalendarRangeError:
    first, last = SUPPORTED_YEARS.start, SUPPORTED_YEARS.stop - 1
    try:
        shown = _from_us(x).isoformat()
    except (ValueError, OverflowError, OSError):  # beyond what datetime can show
        shown = f"{x // _US_PER_S} s after 1970-01-01T00:00Z"
    return CalendarRangeError(
        f"{what} {shown} is outside the supported range: "
        f"local dates 01 Jan {first} to 31 Dec {last}, Europe/London"
    )


def _non_negative_int(n: object, what: str) -> int:
    if isinstance(n, bool):
        raise ValueError(f"{what} must be an integer, got {n!r}")
    try:
        value = index(n)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{what} must be an integer, got {n!r}") from None
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return value


def add_elapsed(start: datetime, duration: timedelta) -> datetime:
    """``start`` plus real elapsed time ("within 48 hours"), in Europe/London.

    Computed on the UTC instant, so 48 hours are 48 real hours across a clock change
    (``aware_london + timedelta`` is wall-clock arithmetic: 47 or 49 real hours).
    """
    return _from_us(_to_us(start, "start") + duration // _ONE_US)


# ----------------------------------------------------------------------- calendar


class BusinessCalendar:
    """A nation's working calendar: hours, bank holidays, the provider's closures.

    Immutable and hashable; construction is cheap after the first with the same
    arguments (the precomputed schedule is shared through a module-level cache).
    """

    __slots__ = (
        "_nation",
        "_hours",
        "_closed",
        "_s",
        "_lo",
        "_hi",
        "_opens",
        "_closes",
        "_durs",
        "_cum",
        "_cum_end",
        "_total",
    )

    _nation: str
    _hours: WorkingHours
    _closed: frozenset[date]
    _s: _Schedule
    _lo: int
    _hi: int
    _opens: list[int]
    _closes: list[int]
    _durs: list[int]
    _cum: list[int]
    _cum_end: list[int]
    _total: int

    def __init__(
        self,
        nation: str,
        hours: WorkingHours,
        closed_dates: Iterable[date] = (),
    ) -> None:
        subdiv = NATIONS.get(nation) if isinstance(nation, str) else None
        if subdiv is None:
            raise ValueError(
                f"unknown nation {nation!r}: use one of {', '.join(map(repr, NATIONS))}"
            )
        if not isinstance(hours, WorkingHours):
            raise ValueError(f"hours must be WorkingHours, got {type(hours).__name__}")
        closed = frozenset(closed_dates)
        for d in closed:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"closed_dates must hold dates, got {d!r}")
            if d.year not in SUPPORTED_YEARS:
                raise CalendarRangeError(
                    f"closed date {d.isoformat()} is outside the supported years "
                    f"{SUPPORTED_YEARS.start}-{SUPPORTED_YEARS.stop - 1}"
                )
        s = _schedule(subdiv, hours, closed)
        set_ = object.__setattr__
        set_(self, "_nation", nation)
        set_(self, "_hours", hours)
        set_(self, "_closed", closed)
        set_(self, "_s", s)
        set_(self, "_lo", s.lo)
        set_(self, "_hi", s.hi)
        set_(self, "_opens", s.opens)
        set_(self, "_closes", s.closes)
        set_(self, "_durs", s.durs)
        set_(self, "_cum", s.cum)
        set_(self, "_cum_end", s.cum_end)
        set_(self, "_total", s.total)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("BusinessCalendar is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("BusinessCalendar is immutable")

    @property
    def nation(self) -> str:
        return self._nation

    @property
    def hours(self) -> WorkingHours:
        return self._hours

    @property
    def closed_dates(self) -> frozenset[date]:
        return self._closed

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return (self._nation, self._hours, self._closed) == (
            other._nation,
            other._hours,
            other._closed,
        )

    def __hash__(self) -> int:
        return hash((self._nation, self._hours, self._closed))

    def __repr__(self) -> str:
        closed = ", ".join(d.isoformat() for d in sorted(self._closed))
        return (
            f"BusinessCalendar(nation={self._nation!r}, hours={str(self._hours)!r}, "
            f"closed_dates=[{closed}])"
        )

    # ------------------------------------------------------------------ scalar

    def is_working_time(self, t: datetime) -> bool:
        """Whether instant ``t`` lies inside a working day's ``[open, close)``."""
        x = _to_us(t, "t")
        if not self._lo <= x < self._hi:
            raise _range_error(x, "t")
        return x < self._closes[bisect_right(self._opens, x) - 1]

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant with ``duration`` of working time since ``start``."""
        try:  # _to_us, inlined: this is the hot path
            delta = start - _EPOCH
        except TypeError:
            raise _not_aware(start, "start") from None
        x = (delta.days * 86400 + delta.seconds) * _US_PER_S + delta.microseconds
        if not self._lo <= x < self._hi:
            raise _range_error(x, "start")
        d = (duration.days * 86400 + duration.seconds) * _US_PER_S + duration.microseconds
        if d <= 0:
            if d == 0:
                return _from_us(x)
            raise ValueError(f"duration must not be negative, got {duration}")
        i = bisect_right(self._opens, x) - 1
        into = x - self._opens[i]
        dur = self._durs[i]
        w = self._cum[i] + (into if into < dur else dur) + d
        if w > self._total:
            raise CalendarRangeError(
                f"{duration} of working time from {start.isoformat()} ends after "
                f"{SUPPORTED_YEARS.stop - 1}, outside the supported range"
            )
        cum_end = self._cum_end
        j = bisect_left(cum_end, w)
        r = self._closes[j] - (cum_end[j] - w)
        s, us = divmod(r, _US_PER_S)
        out = datetime.fromtimestamp(s, LONDON)
        return out.replace(microsecond=us) if us else out

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b)``; negative when ``b < a``."""
        try:  # _to_us, inlined: this is the hot path
            delta = a - _EPOCH
        except TypeError:
            raise _not_aware(a, "a") from None
        xa = (delta.days * 86400 + delta.seconds) * _US_PER_S + delta.microseconds
        try:
            delta = b - _EPOCH
        except TypeError:
            raise _not_aware(b, "b") from None
        xb = (delta.days * 86400 + delta.seconds) * _US_PER_S + delta.microseconds
        lo, hi = self._lo, self._hi
        if not lo <= xa < hi:
            raise _range_error(xa, "a")
        if not lo <= xb < hi:
            raise _range_error(xb, "b")
        opens, durs, cum = self._opens, self._durs, self._cum
        i = bisect_right(opens, xa) - 1
        into = xa - opens[i]
        dur = durs[i]
        wa = cum[i] + (into if into < dur else dur)
        i = bisect_right(opens, xb) - 1
        into = xb - opens[i]
        dur = durs[i]
        wb = cum[i] + (into if into < dur else dur)
        return _ONE_US * (wb - wa)

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """Closing time of the n-th working day after the local date of ``start``."""
        count = _non_negative_int(n, "n")
        if count < 1:
            raise ValueError(f"n must be at least 1, got {count}")
        x = _to_us(start, "start")
        if not self._lo <= x < self._hi:
            raise _range_error(x, "start")
        local_day = datetime.fromtimestamp(x // _US_PER_S, LONDON).toordinal()
        k = bisect_right(self._s.days, local_day) + count - 1
        if k >= len(self._closes):
            raise CalendarRangeError(
                f"{count} working days after {start.isoformat()} ends after "
                f"{SUPPORTED_YEARS.stop - 1}, outside the supported range"
            )
        return _from_us(self._closes[k])

    def add_weeks(self, start: datetime, weeks: int) -> datetime:
        """The same local wall time ``7 * weeks`` calendar days later (date arithmetic)."""
        w = _non_negative_int(weeks, "weeks")
        x = _to_us(start, "start")
        if not self._lo <= x < self._hi:
            raise _range_error(x, "start")
        if w == 0:
            return _from_us(x)
        local = _from_us(x)
        day = local.date() + timedelta(days=7 * w)
        wall = datetime(  # fold=0: first occurrence; a gap time moves forward (RFC 5545)
            day.year,
            day.month,
            day.day,
            local.hour,
            local.minute,
            local.second,
            local.microsecond,
            tzinfo=LONDON,
        )
        r = _to_us(wall)
        if not self._lo <= r < self._hi:
            raise _range_error(r, "result")
        return _from_us(r)

    # ------------------------------------------------------------------- batch

    def add_working_time_many(
        self, starts: npt.ArrayLike, seconds: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Vectorised :meth:`add_working_time` on int64 UTC epoch seconds.

        ``starts`` and ``seconds`` broadcast together; the result has their shape.
        """
        x, d = _int64_pair(starts, seconds, "starts", "seconds")
        out = np.empty(x.shape, dtype=np.int64)
        if x.size == 0:
            return out
        b = self._s.batch()
        _check_range(b, x, "starts")
        if int(d.min()) < 0:
            raise ValueError("seconds must not be negative")
        xf, df, of = x.reshape(-1), d.reshape(-1), out.reshape(-1)
        for k in range(0, xf.size, _CHUNK):
            xs, ds = xf[k : k + _CHUNK], df[k : k + _CHUNK]
            w = _working_before(b, xs)
            w += ds
            if int(w.max()) > b.total:
                raise CalendarRangeError(
                    f"a result falls after {SUPPORTED_YEARS.stop - 1}, outside the supported range"
                )
            j = b.w_table[w >> b.w_shift]
            cum_end = b.cum_end
            for _ in range(b.w_fix):
                j += cum_end[j] < w
            r = b.closes[j]
            r -= cum_end[j]
            r += w
            np.copyto(of[k : k + _CHUNK], r)
            zero = ds == 0
            if zero.any():
                np.copyto(of[k : k + _CHUNK], xs, where=zero)
        return out

    def working_time_between_many(
        self, a: npt.ArrayLike, b: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Vectorised :meth:`working_time_between`: signed working seconds in ``[a, b)``."""
        xa, xb = _int64_pair(a, b, "a", "b")
        out = np.empty(xa.shape, dtype=np.int64)
        if xa.size == 0:
            return out
        t = self._s.batch()
        _check_range(t, xa, "a")
        _check_range(t, xb, "b")
        af, bf, of = xa.reshape(-1), xb.reshape(-1), out.reshape(-1)
        for k in range(0, af.size, _CHUNK):
            r = _working_before(t, bf[k : k + _CHUNK])
            r -= _working_before(t, af[k : k + _CHUNK])
            np.copyto(of[k : k + _CHUNK], r)
        return out


# Chunks keep the temporaries of one pass in the CPU cache.
_CHUNK: Final = 1 << 15


def _int64_pair(
    a: npt.ArrayLike, b: npt.ArrayLike, name_a: str, name_b: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    arrays = []
    for value, name in ((a, name_a), (b, name_b)):
        arr = np.asarray(value)
        if arr.size == 0:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "iu" or arr.dtype == np.uint64:
            raise ValueError(f"{name} must be integers (int64 epoch seconds), got {arr.dtype}")
        arrays.append(arr.astype(np.int64, copy=False))
    x, y = np.broadcast_arrays(arrays[0], arrays[1])
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _check_range(t: _Batch, x: npt.NDArray[np.int64], name: str) -> None:
    lo, hi = int(x.min()), int(x.max())
    if lo < t.lo:
        raise _range_error(lo * _US_PER_S, name)
    if hi >= t.hi:
        raise _range_error(hi * _US_PER_S, name)


def _working_before(t: _Batch, x: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Working seconds from the start of the range to each instant in ``x``."""
    opens = t.opens
    i = t.t_table[(x - t.lo) >> t.t_shift]
    for _ in range(t.t_fix):
        i += opens[i + 1] <= x
    into: npt.NDArray[np.int64] = x - opens[i]
    np.minimum(into, t.durs[i], out=into)
    into += t.cum[i]
    return into
