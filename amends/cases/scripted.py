"""Driving the typed services from a script (the simulator, the demo, tests): an action of the
lifecycle mapped to the one service that performs it. Faces call the services directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amends.cases import actions
from amends.cases.models import Case
from amends.domain.lifecycle import Action

SERVICES: dict[Action, Callable[..., Case]] = {
    Action.ACKNOWLEDGE: actions.case_acknowledge,
    Action.ASSIGN: actions.case_assign,
    Action.INTRODUCE_HANDLER: actions.case_introduce_handler,
    Action.RECORD_UPDATE: actions.case_record_update,
    Action.AGREE_UPDATES: actions.case_agree_updates,
    Action.INVESTIGATE: actions.case_investigate,
    Action.ESCALATE: actions.case_escalate,
    Action.PROPOSE_RESOLUTION: actions.case_propose_resolution,
    Action.ACCEPT_RESOLUTION: actions.case_accept_resolution,
    Action.REJECT_RESOLUTION: actions.case_reject_resolution,
    Action.CLOSE: actions.case_close,
    Action.REOPEN: actions.case_reopen,
    Action.DECLARE_DEADLOCK: actions.case_declare_deadlock,
    Action.REQUEST_ADR_LETTER: actions.case_request_adr_letter,
    Action.ISSUE_ADR_LETTER: actions.case_issue_adr_letter,
    Action.REFER_TO_SCHEME: actions.case_refer_to_scheme,
    Action.SCHEME_DECLINED: actions.case_scheme_declined,
    Action.RECORD_SCHEME_DECISION: actions.case_record_scheme_decision,
    Action.ACCEPT_DECISION: actions.case_accept_decision,
    Action.COMPLETE_REMEDY: actions.case_complete_remedy,
    Action.WITHDRAW: actions.case_withdraw,
    Action.CONVERT_TO_COMPLAINT: actions.case_convert_to_complaint,
}


def perform(action: Action, **arguments: Any) -> Case:
    """Call the service for ``action`` with its own keyword arguments."""
    return SERVICES[action](**arguments)
