"""The README's role table is the code's table: a newcomer reads what the services enforce."""

from __future__ import annotations

from amends.domain.access import Role, role_table
from tests.conftest import REPO


def test_the_readme_role_table_matches_the_code() -> None:
    text = (REPO / "README.md").read_text()
    roles = list(Role)
    for permission, have in role_table():
        cells = " | ".join("yes" if r.value in have else "" for r in roles)
        assert f"| `{permission}` | {cells} |" in text, permission
