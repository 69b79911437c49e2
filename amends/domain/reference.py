"""Human case references with a check character: ``V4V-26-000123-K``.

``PREFIX-YY-NNNNNN-C``: the provider's prefix (2 to 5 letters or digits), the last two digits
of the year the case was entered, a serial number unique within the provider, and a check
character computed with the Luhn mod N algorithm over the alphabet 0-9A-Z (N = 36). Luhn mod N
catches every single-character mistake and every swap of two adjacent characters except the
pair 0 and Z, so a reference read out over the phone or typed from a letter is caught when
mistyped instead of opening someone else's case. Source: Luhn, US patent 2,950,048 (1960);
the mod N generalisation as described in ISO/IEC 7812-1 Annex B's family of check digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_N: Final = len(ALPHABET)
_PATTERN: Final = re.compile(r"^([A-Z0-9]{2,5})-(\d{2})-(\d{6,})-([A-Z0-9])$")
_PREFIX: Final = re.compile(r"^[A-Z0-9]{2,5}$")


class ReferenceError(ValueError):
    """A reference that is malformed or whose check character does not match."""


def check_character(payload: str) -> str:
    """The Luhn mod 36 check character of ``payload`` (letters and digits only)."""
    factor = 2
    total = 0
    for char in reversed(payload):
        code = ALPHABET.index(char) * factor
        factor = 1 if factor == 2 else 2
        total += code // _N + code % _N
    return ALPHABET[(_N - total % _N) % _N]


@dataclass(frozen=True, slots=True)
class CaseReference:
    prefix: str
    year: int  # two digits
    serial: int

    def __str__(self) -> str:
        body = f"{self.prefix}-{self.year:02d}-{self.serial:06d}"
        return f"{body}-{check_character(body.replace('-', ''))}"


def make_reference(prefix: str, year: int, serial: int) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(
            f"reference prefix must be 2 to 5 capital letters or digits, not {prefix!r}"
        )
    if serial < 1:
        raise ValueError("reference serial numbers start at 1")
    return str(CaseReference(prefix=prefix, year=year % 100, serial=serial))


def parse_reference(text: str) -> CaseReference:
    """Parse a reference as a person may type it (any case, spaces around), checking it."""
    cleaned = re.sub(r"\s+", "", text).upper()
    match = _PATTERN.match(cleaned)
    if match is None:
        raise ReferenceError(
            "A case reference looks like V4V-26-000123-K: letters, the year, a number "
            "and a check character, separated by hyphens."
        )
    prefix, year, serial, check = match.groups()
    if check_character(f"{prefix}{year}{serial}") != check:
        raise ReferenceError(
            "That case reference is not valid: please check it for a typing mistake."
        )
    return CaseReference(prefix=prefix, year=int(year), serial=int(serial))
