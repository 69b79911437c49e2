"""A handler process for tests/cases/test_lock_order.py: acts on the given cases as fast as
it can, beside the workers, and reports every outcome. Exit 1 if any action failed for a
reason other than the lifecycle refusing it (a deadlock, an integrity error, a crash)."""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.utils import timezone

    from amends.cases import actions
    from amends.cases.actors import staff_actor
    from amends.cases.errors import CaseError, ErrorCode
    from amends.providers.models import StaffMember

    actor = staff_actor(StaffMember.objects.get(user__username=sys.argv[1]))
    case_ids = [int(n) for n in sys.argv[2].split(",")]
    rounds = int(sys.argv[3])
    outcome = {"ok": 0, "refused": 0, "errors": []}
    for _ in range(rounds):
        for case_id in case_ids:
            calls = [
                lambda case_id=case_id: actions.case_record_update(
                    case_id=case_id, actor=actor, channel="phone", now=timezone.now()
                ),
                lambda case_id=case_id: actions.case_add_note(
                    case_id=case_id, actor=actor, text="called the customer", now=timezone.now()
                ),
                lambda case_id=case_id: actions.case_escalate(
                    case_id=case_id, actor=actor, reason="customer asked", now=timezone.now()
                ),
            ]
            for call in calls:
                try:
                    call()
                except CaseError as error:
                    if error.code in (ErrorCode.REFUSED, ErrorCode.CONFLICT):
                        outcome["refused"] += 1
                    else:
                        outcome["errors"].append(f"CaseError {error.code}: {error.message}")
                except Exception as error:  # what this test exists to catch
                    outcome["errors"].append(f"{type(error).__name__}: {str(error)[:200]}")
                else:
                    outcome["ok"] += 1
    print(json.dumps(outcome))
    return 1 if outcome["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
