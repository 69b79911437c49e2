"""Checks at the service boundary: bad input is refused with :class:`CaseError` naming the
field, never a TypeError, a CalendarRangeError or a database DataError later on.

Strings: no NUL (PostgreSQL refuses it, SQLite would store it), no lone surrogate (it cannot
be encoded), at most the column's length. Instants: aware, within the calendars' range, and
for things that happened on a case, not before it was first received.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from amends.cases.errors import CaseError, ErrorCode
from amends.domain.calendar import SUPPORTED_YEARS

#: The earliest and latest instants a service accepts (the calendars' range, with a margin of
#: a year at the end so that clocks counted from the latest first receipt stay inside it).
EARLIEST: Final = datetime(SUPPORTED_YEARS.start, 1, 2, tzinfo=UTC)
LATEST: Final = datetime(SUPPORTED_YEARS.stop - 2, 12, 31, tzinfo=UTC)


def invalid(field: str, message: str) -> CaseError:
    return CaseError(message, field=field, code=ErrorCode.INVALID)


def text(value: object, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    """A clean string: stripped, no NUL or lone surrogate, at most ``max_length``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, f"{label} must be text.")
    value = value.strip()
    if "\x00" in value:
        raise invalid(field, f"{label} contains a NUL character; remove it and try again.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(
            field, f"{label} contains a character that cannot be stored (a lone surrogate)."
        ) from None
    if required and not value:
        raise invalid(field, f"{label} is required.")
    if len(value) > max_length:
        raise invalid(field, f"{label} is {len(value)} characters long; the most is {max_length}.")
    return value


def instant(value: object, *, field: str, label: str) -> datetime:
    """An aware instant within the supported range."""
    if not isinstance(value, datetime):
        raise invalid(field, f"{label} must be a date and time.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise invalid(field, f"{label} must include its time zone (e.g. Europe/London).")
    if not EARLIEST <= value <= LATEST:
        raise invalid(
            field,
            f"{label} must be between {EARLIEST.year} and {LATEST.year}; "
            f"{value.isoformat()} is not.",
        )
    return value


def happened(
    value: object, *, field: str, label: str, now: datetime, not_before: datetime | None
) -> datetime:
    """When something happened on a case: aware, not in the future, not before its receipt."""
    moment = instant(value, field=field, label=label)
    if moment > now:
        raise invalid(field, f"{label} cannot be in the future.")
    if not_before is not None and moment < not_before:
        raise invalid(
            field,
            f"{label} cannot be before the case was first received "
            f"({not_before.isoformat(timespec='minutes')}).",
        )
    return moment


def pence(value: object, *, field: str, label: str, most: int = 10_000_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, f"{label} must be a whole number of pence.")
    if value <= 0:
        raise invalid(field, f"{label} must be more than zero.")
    if value > most:
        raise invalid(field, f"{label} is more than £{most // 100:,}; check the amount.")
    return value
