"""Writing a benchmark's figures into benchmarks/RESULTS.md: each benchmark owns a block
between two markers, rewritten by each run; the notes after the block are kept."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_block(*, begin: str, end: str, heading: str, intro: str, text: str) -> None:
    """Replace the block between ``begin`` and ``end`` with ``text``, or append the section
    (``heading``, ``intro``, the block) when the file has no such block yet."""
    block = f"{begin}\n{text}{end}\n"
    current = RESULTS.read_text(encoding="utf-8")
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        _, tail = rest.split(end, 1)
        tail = tail.lstrip("\n")
        current = head + block + ("\n" + tail if tail else "")
    else:
        current = current.rstrip("\n") + f"\n\n{heading}\n\n{intro}\n\n{block}"
    RESULTS.write_text(current, encoding="utf-8")


def machine() -> dict[str, Any]:
    """The machine a benchmark ran on: cores, CPU model, memory."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = ""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram": ram}
