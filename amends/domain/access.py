"""Who may do what: staff roles, the customer and the worker, as a table.

The services ask :func:`may` before every write (``amends.cases.actions``); the console's
buttons and the API's answers only mirror it. What the lifecycle allows *now* is the other half
(:func:`amends.domain.lifecycle.allowed_actions`); an action is offered only where both agree.

Choices recorded here (the seed codes name advisers, handlers, managers and a director; the
compliance lead and the administrator are Amends' own roles):

* **Advisers** take calls and letters: they open cases, acknowledge, log calls and updates,
  and may resolve at first contact (propose, record the customer's acceptance, close), as
  V4VoIP's code has its advisers try first. They pass a case to a handler (assign) and record
  what the customer asks for (escalation, withdrawal, the ADR letter).
* **Case handlers** own complaints through to closure or the ADR letter, record compensation,
  and record the ADR scheme's referral and decision.
* **Managers and directors** are the escalation ladder: everything a handler does, plus
  re-opening and reassigning.
* **The compliance lead** reads everything, adds notes, and may issue an ADR letter by hand
  (to put right a letter that should have gone): never changes a case otherwise.
* **Administrators** manage the provider's code, staff and API tokens, and mark compensation
  applied to an invoice (the billing loop); they do not handle cases.
* **The customer** (through their private link) accepts or rejects a proposed resolution, asks
  to escalate, withdraws, replies, and asks for the ADR letter (never refused).
* **The system** (the worker, the public forms, inbound mail) opens cases, issues the
  time-triggered ADR letter, escalates a breached target, and turns a query that expresses
  dissatisfaction into a complaint.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from amends.domain.lifecycle import Action


class Role(StrEnum):
    """Staff roles within one provider."""

    ADVISER = "adviser"
    CASE_HANDLER = "case_handler"
    MANAGER = "manager"
    DIRECTOR = "director"
    COMPLIANCE = "compliance"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]


_ROLE_LABELS: Final[Mapping[Role, str]] = {
    Role.ADVISER: "Adviser",
    Role.CASE_HANDLER: "Case handler",
    Role.MANAGER: "Manager",
    Role.DIRECTOR: "Director",
    Role.COMPLIANCE: "Compliance lead",
    Role.ADMIN: "Administrator",
}


class Work(StrEnum):
    """What a person may do besides moving a case through the lifecycle."""

    VIEW_CASES = "view_cases"
    OPEN_CASE = "open_case"
    LOG_CALL = "log_call"
    ADD_NOTE = "add_note"
    RECORD_COMPENSATION = "record_compensation"
    APPLY_COMPENSATION = "apply_compensation"
    SEND_CASE_LINK = "send_case_link"
    MERGE_CASES = "merge_cases"
    VIEW_DASHBOARD = "view_dashboard"
    EXPORT = "export"
    MANAGE_CODE = "manage_code"
    #: Check a candidate text of the code and see its findings (nothing is stored).
    CHECK_CODE = "check_code"
    MANAGE_STAFF = "manage_staff"
    MANAGE_API = "manage_api"
    MANAGE_WEBHOOKS = "manage_webhooks"


Permission = Action | Work

_ADVISER: Final[frozenset[Permission]] = frozenset(
    {
        Work.VIEW_CASES,
        Work.OPEN_CASE,
        Work.LOG_CALL,
        Work.ADD_NOTE,
        Work.SEND_CASE_LINK,
        Action.ACKNOWLEDGE,
        Action.ASSIGN,
        Action.RECORD_UPDATE,
        Action.AGREE_UPDATES,
        Action.PROPOSE_RESOLUTION,
        Action.ACCEPT_RESOLUTION,
        Action.REJECT_RESOLUTION,
        Action.CLOSE,
        Action.CONVERT_TO_COMPLAINT,
        Action.ESCALATE,
        Action.REQUEST_ADR_LETTER,
        Action.WITHDRAW,
    }
)
_HANDLER: Final[frozenset[Permission]] = _ADVISER | {
    Work.RECORD_COMPENSATION,
    Work.MERGE_CASES,
    Action.INTRODUCE_HANDLER,
    Action.INVESTIGATE,
    Action.DECLARE_DEADLOCK,
    Action.ISSUE_ADR_LETTER,
    Action.REFER_TO_SCHEME,
    Action.SCHEME_DECLINED,
    Action.RECORD_SCHEME_DECISION,
    Action.ACCEPT_DECISION,
    Action.COMPLETE_REMEDY,
}
_MANAGER: Final[frozenset[Permission]] = _HANDLER | {
    Action.REOPEN,
    Work.VIEW_DASHBOARD,
    Work.EXPORT,
}
_COMPLIANCE: Final[frozenset[Permission]] = frozenset(
    {
        Work.VIEW_CASES,
        Work.ADD_NOTE,
        Work.VIEW_DASHBOARD,
        Work.EXPORT,
        Work.MANAGE_CODE,
        Work.CHECK_CODE,
        Action.ISSUE_ADR_LETTER,
        Action.REQUEST_ADR_LETTER,
    }
)
_ADMIN: Final[frozenset[Permission]] = frozenset(
    {
        Work.VIEW_CASES,
        Work.ADD_NOTE,
        Work.VIEW_DASHBOARD,
        Work.EXPORT,
        Work.MANAGE_CODE,
        Work.CHECK_CODE,
        Work.MANAGE_STAFF,
        Work.MANAGE_API,
        Work.MANAGE_WEBHOOKS,
        Work.APPLY_COMPENSATION,
    }
)

#: The role table (README, "Roles"): what each staff role may do within its own provider.
STAFF_PERMISSIONS: Final[Mapping[Role, frozenset[Permission]]] = {
    Role.ADVISER: _ADVISER,
    Role.CASE_HANDLER: _HANDLER,
    Role.MANAGER: _MANAGER,
    Role.DIRECTOR: _MANAGER,
    Role.COMPLIANCE: _COMPLIANCE,
    Role.ADMIN: _ADMIN,
}

#: What the customer may do on their own case (through its private link).
CUSTOMER_PERMISSIONS: Final[frozenset[Permission]] = frozenset(
    {
        Action.ACCEPT_RESOLUTION,
        Action.REJECT_RESOLUTION,
        Action.ESCALATE,
        Action.WITHDRAW,
        Action.REQUEST_ADR_LETTER,
        Work.VIEW_CASES,
        Work.ADD_NOTE,
    }
)

#: What the worker does by itself when a clock runs out.
SYSTEM_PERMISSIONS: Final[frozenset[Permission]] = frozenset(
    {Action.ISSUE_ADR_LETTER, Action.ESCALATE, Action.CONVERT_TO_COMPLAINT, Work.OPEN_CASE}
)


class ApiScope(StrEnum):
    """What a provider's API token may do (its administrator chooses when making it)."""

    READ = "read"
    WRITE = "write"
    WEBHOOKS = "webhooks"


#: What each API scope allows. ``write`` is what a manager may do with cases (open, read and
#: act on them, calls, notes, compensation, merging) and the billing loop (marking
#: compensation applied to an invoice); ``read`` reads cases, customers, the code and the
#: figures; ``webhooks`` manages the endpoints. A token never manages the code, staff or
#: other tokens.
SCOPE_PERMISSIONS: Final[Mapping[ApiScope, frozenset[Permission]]] = {
    ApiScope.READ: frozenset({Work.VIEW_CASES, Work.VIEW_DASHBOARD, Work.EXPORT, Work.CHECK_CODE}),
    ApiScope.WRITE: (_MANAGER - {Work.VIEW_DASHBOARD, Work.EXPORT})
    | {Work.OPEN_CASE, Work.APPLY_COMPENSATION},
    ApiScope.WEBHOOKS: frozenset({Work.MANAGE_WEBHOOKS}),
}


class ActorKind(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    SYSTEM = "system"
    #: A provider's own system (CRM, billing) through an API token, by the token's scopes.
    INTEGRATION = "integration"


def may(
    kind: ActorKind,
    role: Role | None,
    permission: Permission,
    scopes: frozenset[ApiScope] = frozenset(),
) -> bool:
    """Whether an actor of ``kind`` (for staff, with ``role``; for an integration, with
    ``scopes``) may do ``permission``."""
    if kind is ActorKind.STAFF:
        return role is not None and permission in STAFF_PERMISSIONS[role]
    if kind is ActorKind.CUSTOMER:
        return permission in CUSTOMER_PERMISSIONS
    if kind is ActorKind.INTEGRATION:
        return any(permission in SCOPE_PERMISSIONS[scope] for scope in scopes)
    return permission in SYSTEM_PERMISSIONS


def role_table() -> list[tuple[str, list[str]]]:
    """(permission, [roles that have it]) for every permission: the README's table."""
    rows: list[tuple[str, list[str]]] = []
    for permission in [*Action, *Work]:
        roles = [role.value for role in Role if permission in STAFF_PERMISSIONS[role]]
        rows.append((permission.value, roles))
    return rows
