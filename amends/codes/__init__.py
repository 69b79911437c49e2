"""Codes of Practice: the shipped codes, `amends code check` and `amends code render`.

The shipped codes are TOML files beside this module: ``v4voip.toml`` and ``iss.toml`` (the two
seed providers' codes, encoded faithfully with their defects) and ``template.toml`` (a compliant
code to start from). The model and loader are in :mod:`amends.domain.codes`.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent
SHIPPED_CODES = {
    "v4voip": SHIPPED_DIR / "v4voip.toml",
    "iss": SHIPPED_DIR / "iss.toml",
    "template": SHIPPED_DIR / "template.toml",
}
