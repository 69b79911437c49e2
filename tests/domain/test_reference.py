from __future__ import annotations

import itertools

import pytest

from amends.domain.reference import ALPHABET, ReferenceError, make_reference, parse_reference


def test_reference_shape() -> None:
    ref = make_reference("V4V", 2026, 123)
    assert ref.startswith("V4V-26-000123-")
    assert len(ref) == len("V4V-26-000123-K")
    assert parse_reference(ref).serial == 123


def test_typed_loosely_still_parses() -> None:
    ref = make_reference("ISS", 2026, 42)
    assert parse_reference(" " + ref.lower() + " ").serial == 42


def test_every_single_character_mistake_is_caught() -> None:
    ref = make_reference("V4V", 2026, 123)
    for position, char in enumerate(ref):
        if char == "-":
            continue
        for replacement in ALPHABET:
            if replacement == char or (
                position >= 4 and position <= 5 and not replacement.isdigit()
            ):
                continue
            if position in range(7, 13) and not replacement.isdigit():
                continue
            typo = ref[:position] + replacement + ref[position + 1 :]
            with pytest.raises(ReferenceError):
                parse_reference(typo)


def test_adjacent_swaps_of_digits_are_caught() -> None:
    for serial in range(1, 300):
        ref = make_reference("V4V", 2026, serial)
        digits = ref[7:13]
        for i in range(len(digits) - 1):
            if digits[i] == digits[i + 1]:
                continue
            swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            with pytest.raises(ReferenceError):
                parse_reference(ref[:7] + swapped + ref[13:])


def test_references_are_unique_per_serial() -> None:
    refs = {make_reference("AB", 2026, n) for n in range(1, 5000)}
    assert len(refs) == 4999


@pytest.mark.parametrize(
    "bad", ["", "V4V26000123K", "V4V-2026-000123-K", "V4V-26-12-K", "v4v-26-000123-!"]
)
def test_malformed_references_get_a_clear_message(bad: str) -> None:
    with pytest.raises(ReferenceError, match="looks like V4V-26-000123-K"):
        parse_reference(bad)


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        make_reference("toolong", 2026, 1)
    assert list(itertools.islice(ALPHABET, 3)) == ["0", "1", "2"]
