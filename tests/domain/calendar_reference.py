"""A slow, obviously-correct reference for amends.domain.calendar.

It shares no code with the module under test: it walks local days one by one, builds
each working day's ``[open, close)`` as aware instants with ``zoneinfo`` and counts
with aware UTC datetime arithmetic (real elapsed time). Used by the property tests
and by benchmarks/calendar.py to measure agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
SUBDIV = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
ONE_DAY = timedelta(days=1)


def _wall(day: date, hhmm: str) -> datetime:
    """Local wall time on ``day`` as an aware UTC instant (fold=0; "24:00" = next midnight)."""
    if hhmm == "24:00":
        day, hhmm = day + ONE_DAY, "00:00"
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=LONDON).astimezone(UTC)


class ReferenceCalendar:
    """hours: weekday number (Monday 0) -> ("HH:MM", "HH:MM")."""

    def __init__(
        self,
        nation: str,
        hours: Mapping[int, tuple[str, str]],
        closed_dates: Iterable[date] = (),
    ) -> None:
        self.bank_holidays = holidays.country_holidays("GB", subdiv=SUBDIV[nation])
        self.hours = dict(hours)
        self.closed = set(closed_dates)

    def interval(self, day: date) -> tuple[datetime, datetime] | None:
        h = self.hours.get(day.weekday())
        if h is None or day in self.bank_holidays or day in self.closed:
            return None
        return _wall(day, h[0]), _wall(day, h[1])

    def is_working_time(self, t: datetime) -> bool:
        t = t.astimezone(UTC)
        iv = self.interval(t.astimezone(LONDON).date())
        return iv is not None and iv[0] <= t < iv[1]

    def add_working_time(self, start: datetime, d: timedelta) -> datetime:
        if d < timedelta(0):
            raise ValueError("negative")
        t = start.astimezone(UTC)
        if d == timedelta(0):
            return t.astimezone(LONDON)
        remaining = d
        day = t.astimezone(LONDON).date()
        while True:
            iv = self.interval(day)
            if iv is not None:
                begin = max(iv[0], t)
                if iv[1] > begin:
                    available = iv[1] - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(LONDON)
                    remaining -= available
            day += ONE_DAY

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        day = a.astimezone(LONDON).date() - ONE_DAY
        last = b.astimezone(LONDON).date()
        while day <= last:
            iv = self.interval(day)
            if iv is not None:
                lo, hi = max(iv[0], a), min(iv[1], b)
                if hi > lo:
                    total += hi - lo
            day += ONE_DAY
        return total

    def add_working_days(self, start: datetime, n: int) -> datetime:
        day = start.astimezone(LONDON).date()
        count = 0
        while True:
            day += ONE_DAY
            iv = self.interval(day)
            if iv is not None:
                count += 1
                if count == n:
                    return iv[1].astimezone(LONDON)

    def add_weeks(self, start: datetime, weeks: int) -> datetime:
        local = start.astimezone(LONDON)
        wall = datetime.combine(
            local.date() + timedelta(days=7 * weeks),
            local.time().replace(fold=0),
            tzinfo=LONDON,
        )
        return wall.astimezone(UTC).astimezone(LONDON)
