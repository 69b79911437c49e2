"""Durations as a code writes them ("10 working days"), and how two of them compare.

See "Durations" in :mod:`amends.domain.codes` for the accepted forms and the bounds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

__all__ = ["DEFAULT_HOURS_PER_DAY", "DURATION_FORMS", "Duration", "DurationUnit"]


class DurationUnit(StrEnum):
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"

    @property
    def is_working_time(self) -> bool:
        return self in (DurationUnit.WORKING_HOURS, DurationUnit.WORKING_DAYS)


DURATION_FORMS: Final = (
    '"24 working hours", "1.5 working hours", "10 working days", "5 business days", '
    '"48 hours", "28 days" or "8 weeks"'
)

_DURATION_RE: Final = re.compile(
    r"(?P<amount>\d+(?:\.\d+)?)\s+(?:(?P<working>working|business)\s+)?"
    r"(?P<unit>hours?|days?|weeks?)",
    re.IGNORECASE,
)

_HOUR: Final = Decimal(1)
_DAY_HOURS: Final = Decimal(24)
_WEEK_HOURS: Final = Decimal(168)
#: Working hours in a day when a code gives none, for bounding working hours in calendar time.
DEFAULT_HOURS_PER_DAY: Final = Decimal(7)


def _working_days_bounds_days(n: int) -> tuple[int, int]:
    """Least and most calendar days that ``n`` working days can take (see Duration docs)."""
    least = 7 * ((n - 1) // 5) + (n - 1) % 5
    holidays_allowance = 4 + n // 25
    most = 7 * math.ceil((n + holidays_allowance) / 5) + 2
    return least, most


@dataclass(frozen=True, slots=True)
class Duration:
    """A span a promise is kept within, as a code writes it ("10 working days").

    ``amount`` is a positive :class:`~decimal.Decimal`, whole except for hours.
    """

    amount: Decimal
    unit: DurationUnit

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"a duration must be more than zero, got {self.amount}")
        hours = (DurationUnit.HOURS, DurationUnit.WORKING_HOURS)
        if self.unit not in hours and self.amount != self.amount.to_integral_value():
            raise ValueError(f"only hours may be fractional, got {self.amount} {self.unit}")

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse "24 working hours", "8 weeks" ...; ValueError naming the accepted forms."""
        match = _DURATION_RE.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"expected a duration such as {DURATION_FORMS}, got {text!r}")
        try:
            amount = Decimal(match["amount"])
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise ValueError(f"expected a number, got {match['amount']!r}") from exc
        word = match["unit"].lower().rstrip("s")
        working = match["working"] is not None
        if working and word == "week":
            raise ValueError(
                f"expected a duration such as {DURATION_FORMS}, got {text!r} "
                "(weeks are always calendar weeks)"
            )
        unit = {
            ("hour", True): DurationUnit.WORKING_HOURS,
            ("day", True): DurationUnit.WORKING_DAYS,
            ("hour", False): DurationUnit.HOURS,
            ("day", False): DurationUnit.DAYS,
            ("week", False): DurationUnit.WEEKS,
        }[(word, working)]
        if amount <= 0:
            raise ValueError(f"expected a duration of more than zero, got {text!r}")
        if unit not in (DurationUnit.HOURS, DurationUnit.WORKING_HOURS) and (
            amount != amount.to_integral_value()
        ):
            raise ValueError(
                f"expected a whole number of {word}s (only hours may be fractional), got {text!r}"
            )
        return cls(amount.normalize() if amount == amount.to_integral_value() else amount, unit)

    @classmethod
    def of(cls, amount: int | str | Decimal, unit: DurationUnit | str) -> Duration:
        return cls(Decimal(amount), DurationUnit(unit))

    @property
    def whole(self) -> int:
        """The amount as an int (for days, weeks and whole hours)."""
        return int(self.amount)

    def __str__(self) -> str:
        amount = format(self.amount.normalize(), "f")
        noun = {
            DurationUnit.WORKING_HOURS: ("working hour", "working hours"),
            DurationUnit.WORKING_DAYS: ("working day", "working days"),
            DurationUnit.HOURS: ("hour", "hours"),
            DurationUnit.DAYS: ("day", "days"),
            DurationUnit.WEEKS: ("week", "weeks"),
        }[self.unit]
        return f"{amount} {noun[0] if self.amount == 1 else noun[1]}"

    def calendar_bounds(
        self, hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    ) -> tuple[Decimal, Decimal]:
        """The least and the most calendar time, in hours, this duration can take.

        Calendar units are exact (a day is 24 hours, a week 7 days: the ADR weeks are calendar
        days, regulatory.md B9). Working time depends on the start and the holidays, so:

        * ``n`` working days take at least ``7*((n-1)//5) + (n-1)%5`` days (start late on a
          working day, no weekend or holiday but the ones five working days force) and at most
          ``7*ceil((n + 4 + n//25) / 5) + 2`` days: a weekend on either side, and room for four
          bank holidays (Scotland's Christmas and New Year cluster is the longest run) plus one
          more every 25 working days (the UK has 8 to 10 a year).
        * ``h`` working hours take at least ``h`` hours, and at most as long as
          ``ceil(h / hours_per_day) + 1`` working days (the start may be at closing time).
        """
        amount = self.amount
        if self.unit is DurationUnit.HOURS:
            return amount * _HOUR, amount * _HOUR
        if self.unit is DurationUnit.DAYS:
            return amount * _DAY_HOURS, amount * _DAY_HOURS
        if self.unit is DurationUnit.WEEKS:
            return amount * _WEEK_HOURS, amount * _WEEK_HOURS
        if self.unit is DurationUnit.WORKING_DAYS:
            least, most = _working_days_bounds_days(int(amount))
            return Decimal(least) * _DAY_HOURS, Decimal(most) * _DAY_HOURS
        per_day = hours_per_day if hours_per_day > 0 else DEFAULT_HOURS_PER_DAY
        days = math.ceil(amount / per_day) + 1
        return amount, Decimal(_working_days_bounds_days(days)[1]) * _DAY_HOURS

    def working_bounds(
        self, hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    ) -> tuple[Decimal, Decimal]:
        """The least and the most working time, in working hours, of a working duration.

        ``n`` working days end at the close of the n-th working day after the day of receipt
        (:mod:`amends.domain.calendar`), so they hold at least ``n`` and at most ``n + 1`` days
        of working hours (the most when the complaint arrives at opening time).
        """
        per_day = hours_per_day if hours_per_day > 0 else DEFAULT_HOURS_PER_DAY
        if self.unit is DurationUnit.WORKING_HOURS:
            return self.amount, self.amount
        if self.unit is DurationUnit.WORKING_DAYS:
            return self.amount * per_day, (self.amount + 1) * per_day
        raise ValueError(f"{self} is not working time")

    def at_most(
        self, other: Duration, hours_per_day: Decimal = DEFAULT_HOURS_PER_DAY
    ) -> bool | None:
        """Is this duration never longer than ``other``? None when it depends on the start.

        Same unit, or both calendar units: exact. Working hours against working days: by
        :meth:`working_bounds`. Working against calendar time: by :meth:`calendar_bounds`.
        """
        if self.unit is other.unit:
            return self.amount <= other.amount
        if self.unit.is_working_time and other.unit.is_working_time:
            mine_least, mine_most = self.working_bounds(hours_per_day)
            theirs_least, theirs_most = other.working_bounds(hours_per_day)
        else:
            mine_least, mine_most = self.calendar_bounds(hours_per_day)
            theirs_least, theirs_most = other.calendar_bounds(hours_per_day)
        if mine_most <= theirs_least:
            return True
        if mine_least > theirs_most:
            return False
        return None
