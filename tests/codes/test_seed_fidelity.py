"""The shipped seed codes say what their providers wrote: every promise, escalation rung and
the ADR section carries a comment quoting the sentence it comes from, and each quotation is in
the seed text word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from amends.codes import SHIPPED_CODES

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
SEED_OF = {
    "v4voip": "v4voip-code-of-practice.txt",
    "iss": "iss-customer-complaints-code-v1.3.txt",
}
#: The tables that make a promise of the provider's (each must cite its sentence).
TRACED = re.compile(r"^\[\[(case_kinds\.\w+\.promises|escalation)\]\]$|^\[adr\]$")


def normal(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2013", "-")
    return re.sub(r"\s+", " ", text).strip().casefold()


def traced_blocks(toml: str) -> list[tuple[str, str]]:
    """(table header, the comment block right above it) for every traced table."""
    lines = toml.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if not TRACED.match(line.strip()):
            continue
        comment: list[str] = []
        above = index - 1
        while above >= 0 and lines[above].startswith("#"):
            comment.insert(0, lines[above].lstrip("#").strip())
            above -= 1
        blocks.append((f"{line.strip()} (line {index + 1})", " ".join(comment)))
    return blocks


@pytest.mark.parametrize("name", sorted(SEED_OF))
def test_every_promise_quotes_the_sentence_it_comes_from(name: str) -> None:
    if not SEEDS.exists():
        pytest.fail(f"the seeds are not beside the repository ({SEEDS})")
    seed = normal((SEEDS / SEED_OF[name]).read_text(encoding="utf-8"))
    toml = SHIPPED_CODES[name].read_text(encoding="utf-8")
    blocks = traced_blocks(toml)
    assert blocks, "no promise found"
    for header, comment in blocks:
        quotes = re.findall(r'"([^"]+)"', comment)
        assert quotes, f"{name}: {header} has no comment quoting its sentence"
        for quote in quotes:
            for part in re.split(r"\.\.\.|\u2026", quote):
                part = normal(part).strip(" .,;:")
                if len(part) < 12:  # a fragment too short to trace
                    continue
                assert part in seed, f"{name}: {header} quotes words not in the seed: {part!r}"
