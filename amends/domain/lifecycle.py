"""Case states and the transition table, as data.

Only the typed services of ``amends.cases.actions`` change a case's state, and they ask
:func:`decide` first. The table says which action moves a case from which state to which;
the guards say what must be true whatever the caller (the rules Ofcom has fined providers for
breaking):

* A complaint cannot close without the customer's recorded acceptance or an ADR letter issued.
  Three was fined for closing complaints without establishing they were resolved
  (regulatory.md §6, §20); the Communications Ombudsman will not take a case the customer has
  agreed is resolved, so acceptance is evidence that must be recorded (who, when, how).
* Deadlock issues the ADR letter, without the customer asking (Annex to GC C4 since
  October 2018; regulatory.md §9(a)). The service follows ``declare_deadlock`` with
  ``issue_adr_letter`` in the same transaction.
* A customer's request for an ADR letter is never refused (EE was fined for refusing them,
  regulatory.md §21): ``request_adr_letter`` is allowed from every state of every kind (the
  service re-opens a withdrawn case and turns a query into a complaint first: asking for the
  ombudsman is dissatisfaction), and when a letter was issued already it is sent again.
* A query or support request can become a complaint, keeping its first receipt
  (regulatory.md, "things that must be impossible to get wrong" §4).

Re-opening never resets the first-received instant: that is a field of the case no transition
writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from amends.domain.codes import CaseKind


class State(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    INVESTIGATING = "investigating"
    ESCALATED = "escalated"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    DEADLOCK = "deadlock"
    ADR_LETTER_ISSUED = "adr_letter_issued"
    REFERRED = "referred"
    SCHEME_DECISION = "scheme_decision"
    REMEDY_DONE = "remedy_done"
    WITHDRAWN = "withdrawn"
    #: A duplicate joined to another case of the same customer (``case_merge``): its
    #: timeline and mail live on there; nothing is owed on it any more.
    MERGED = "merged"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS: Final[Mapping[State, str]] = {
    State.RECEIVED: "Received",
    State.ACKNOWLEDGED: "Acknowledged",
    State.ASSIGNED: "Handler assigned",
    State.INVESTIGATING: "Under investigation",
    State.ESCALATED: "Escalated",
    State.RESOLUTION_PROPOSED: "Resolution proposed",
    State.RESOLVED: "Resolved (customer accepted)",
    State.CLOSED: "Closed",
    State.REOPENED: "Re-opened",
    State.DEADLOCK: "Deadlock",
    State.ADR_LETTER_ISSUED: "ADR letter issued",
    State.REFERRED: "Referred to the ADR scheme",
    State.SCHEME_DECISION: "ADR scheme decision",
    State.REMEDY_DONE: "Remedy done",
    State.WITHDRAWN: "Withdrawn",
    State.MERGED: "Merged into another case",
}

#: States in which the provider still owes the customer something on the case itself.
#: (After a scheme decision the open item is the remedy, which has its own clock.)
OPEN_STATES: Final = frozenset(
    {
        State.RECEIVED,
        State.ACKNOWLEDGED,
        State.ASSIGNED,
        State.INVESTIGATING,
        State.ESCALATED,
        State.RESOLUTION_PROPOSED,
        State.REOPENED,
        State.DEADLOCK,
        State.ADR_LETTER_ISSUED,
        State.REFERRED,
        State.SCHEME_DECISION,
    }
)
#: Open and not yet resolved: the ADR time trigger and the provider's own targets run.
UNRESOLVED_STATES: Final = frozenset(
    {
        State.RECEIVED,
        State.ACKNOWLEDGED,
        State.ASSIGNED,
        State.INVESTIGATING,
        State.ESCALATED,
        State.RESOLUTION_PROPOSED,
        State.REOPENED,
    }
)
TERMINAL_STATES: Final = frozenset({State.CLOSED, State.WITHDRAWN, State.REMEDY_DONE, State.MERGED})


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ASSIGN = "assign"
    INTRODUCE_HANDLER = "introduce_handler"
    RECORD_UPDATE = "record_update"
    AGREE_UPDATES = "agree_updates"
    INVESTIGATE = "investigate"
    ESCALATE = "escalate"
    PROPOSE_RESOLUTION = "propose_resolution"
    ACCEPT_RESOLUTION = "accept_resolution"
    REJECT_RESOLUTION = "reject_resolution"
    CLOSE = "close"
    REOPEN = "reopen"
    DECLARE_DEADLOCK = "declare_deadlock"
    REQUEST_ADR_LETTER = "request_adr_letter"
    ISSUE_ADR_LETTER = "issue_adr_letter"
    REFER_TO_SCHEME = "refer_to_scheme"
    SCHEME_DECLINED = "scheme_declined"
    RECORD_SCHEME_DECISION = "record_scheme_decision"
    ACCEPT_DECISION = "accept_decision"
    COMPLETE_REMEDY = "complete_remedy"
    WITHDRAW = "withdraw"
    CONVERT_TO_COMPLAINT = "convert_to_complaint"


class Guard(StrEnum):
    """A condition a transition needs beyond its source state."""

    ACCEPTANCE_OR_ADR_LETTER = "acceptance_or_adr_letter"
    NO_REMEDY_OUTSTANDING = "no_remedy_outstanding"
    DECISION_RECORDED = "decision_recorded"
    BELOW_TOP_ESCALATION_LEVEL = "below_top_escalation_level"
    CUSTOMER_ACCEPTED_DECISION = "customer_accepted_decision"


ALL_KINDS: Final = frozenset(CaseKind)
COMPLAINT_ONLY: Final = frozenset({CaseKind.COMPLAINT})
NOT_COMPLAINT: Final = ALL_KINDS - COMPLAINT_ONLY


@dataclass(frozen=True, slots=True)
class Transition:
    """``action`` moves a case of one of ``kinds`` from any of ``sources`` to ``target``.

    ``target`` None means the action is recorded (an Event) but the state stays.
    """

    action: Action
    sources: frozenset[State]
    target: State | None
    kinds: frozenset[CaseKind] = ALL_KINDS
    guards: tuple[Guard, ...] = ()
    description: str = ""


_EARLY = frozenset({State.RECEIVED, State.ACKNOWLEDGED, State.REOPENED})
_WORKING = frozenset(
    {
        State.RECEIVED,
        State.ACKNOWLEDGED,
        State.ASSIGNED,
        State.INVESTIGATING,
        State.ESCALATED,
        State.REOPENED,
    }
)
_BEFORE_ADR = _WORKING | {State.RESOLUTION_PROPOSED}

TRANSITIONS: Final[tuple[Transition, ...]] = (
    Transition(
        Action.ACKNOWLEDGE,
        frozenset({State.RECEIVED}),
        State.ACKNOWLEDGED,
        description="the customer is told the case is received, with its reference",
    ),
    Transition(Action.ASSIGN, _EARLY, State.ASSIGNED, description="a handler owns the case"),
    Transition(
        Action.ASSIGN,
        OPEN_STATES - _EARLY,
        None,
        description="the case changes hands; its state stays",
    ),
    Transition(
        Action.INTRODUCE_HANDLER,
        OPEN_STATES,
        None,
        description="the handler introduced themselves with direct contact details",
    ),
    Transition(
        Action.AGREE_UPDATES,
        OPEN_STATES,
        None,
        description="an update schedule was agreed with the customer",
    ),
    Transition(
        Action.RECORD_UPDATE, OPEN_STATES, None, description="the customer was given an update"
    ),
    Transition(
        Action.INVESTIGATE,
        frozenset({State.RECEIVED, State.ACKNOWLEDGED, State.ASSIGNED, State.REOPENED}),
        State.INVESTIGATING,
    ),
    Transition(
        Action.ESCALATE,
        _BEFORE_ADR,
        State.ESCALATED,
        COMPLAINT_ONLY,
        (Guard.BELOW_TOP_ESCALATION_LEVEL,),
        "the next level of the code's escalation ladder reviews the complaint",
    ),
    Transition(
        Action.PROPOSE_RESOLUTION,
        _WORKING | {State.ADR_LETTER_ISSUED},
        State.RESOLUTION_PROPOSED,
        description="the provider tells the customer how it proposes to resolve the case",
    ),
    Transition(
        Action.ACCEPT_RESOLUTION,
        frozenset({State.RESOLUTION_PROPOSED}),
        State.RESOLVED,
        description="the customer's acceptance is recorded: who, when and how",
    ),
    Transition(
        Action.REJECT_RESOLUTION,
        frozenset({State.RESOLUTION_PROPOSED}),
        State.INVESTIGATING,
        description="the customer does not accept; work goes on",
    ),
    Transition(
        Action.CLOSE,
        frozenset({State.RESOLVED, State.ADR_LETTER_ISSUED, State.REFERRED, State.SCHEME_DECISION}),
        State.CLOSED,
        COMPLAINT_ONLY,
        (Guard.ACCEPTANCE_OR_ADR_LETTER, Guard.NO_REMEDY_OUTSTANDING),
    ),
    Transition(
        Action.CLOSE,
        frozenset(
            {
                State.RESOLVED,
                State.RESOLUTION_PROPOSED,
                State.INVESTIGATING,
                State.ASSIGNED,
                State.ACKNOWLEDGED,
                State.RECEIVED,
            }
        ),
        State.CLOSED,
        NOT_COMPLAINT,
    ),
    Transition(
        Action.REOPEN,
        frozenset({State.RESOLVED, State.CLOSED, State.WITHDRAWN}),
        State.REOPENED,
        description="the customer is not satisfied after all; the first receipt stands",
    ),
    Transition(
        Action.DECLARE_DEADLOCK,
        _BEFORE_ADR,
        State.DEADLOCK,
        COMPLAINT_ONLY,
        description="the provider's final position; the customer remains unhappy",
    ),
    Transition(
        Action.ISSUE_ADR_LETTER,
        _WORKING | {State.DEADLOCK},
        State.ADR_LETTER_ISSUED,
        COMPLAINT_ONLY,
        description="the ADR letter opens the customer's free route to the scheme",
    ),
    Transition(
        Action.ISSUE_ADR_LETTER,
        frozenset({State.RESOLUTION_PROPOSED}),
        None,
        COMPLAINT_ONLY,
        description="the letter goes out; the proposed resolution stays with the customer",
    ),
    Transition(
        Action.REQUEST_ADR_LETTER,
        frozenset(State),
        None,
        description=(
            "the customer asked for the ADR letter: never refused (the service re-opens a "
            "withdrawn case and converts a query into a complaint first)"
        ),
    ),
    Transition(
        Action.REFER_TO_SCHEME,
        OPEN_STATES - {State.REFERRED, State.SCHEME_DECISION} | {State.CLOSED},
        State.REFERRED,
        COMPLAINT_ONLY,
        description="the customer took the complaint to the ADR scheme",
    ),
    Transition(
        Action.SCHEME_DECLINED,
        frozenset({State.REFERRED}),
        State.INVESTIGATING,
        COMPLAINT_ONLY,
        description="the scheme will not take the case yet (e.g. premature): work goes on",
    ),
    Transition(
        Action.RECORD_SCHEME_DECISION,
        frozenset({State.REFERRED}),
        State.SCHEME_DECISION,
        COMPLAINT_ONLY,
    ),
    Transition(
        Action.ACCEPT_DECISION,
        frozenset({State.SCHEME_DECISION, State.CLOSED}),
        None,
        COMPLAINT_ONLY,
        (Guard.DECISION_RECORDED,),
        description="the customer accepted the scheme's decision: the remedy clock starts",
    ),
    Transition(
        Action.COMPLETE_REMEDY,
        frozenset({State.SCHEME_DECISION, State.CLOSED}),
        State.REMEDY_DONE,
        COMPLAINT_ONLY,
        (Guard.CUSTOMER_ACCEPTED_DECISION,),
    ),
    Transition(
        Action.WITHDRAW, OPEN_STATES, State.WITHDRAWN, description="the customer withdrew the case"
    ),
    Transition(
        Action.CONVERT_TO_COMPLAINT,
        OPEN_STATES | {State.RESOLVED, State.CLOSED},
        State.RECEIVED,
        NOT_COMPLAINT,
        description="the contact is a complaint after all; its first receipt stands",
    ),
)


@dataclass(frozen=True, slots=True)
class CaseStatus:
    """What the guards need to know about a case."""

    kind: CaseKind
    state: State
    acceptance_recorded: bool = False
    adr_letter_issued: bool = False
    escalation_level: int = 0
    top_escalation_level: int = 0
    decision_accepted: bool = False
    decision_recorded: bool = False
    remedy_done: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    source: State
    target: State
    kind: CaseKind


class TransitionRefused(Exception):
    """The action is not allowed; ``reason`` says why in words a handler understands."""

    def __init__(self, action: Action, state: State, reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.state = state
        self.reason = reason


_GUARD_REASONS: Final[Mapping[Guard, str]] = {
    Guard.ACCEPTANCE_OR_ADR_LETTER: (
        "A complaint can close only when the customer's acceptance is recorded "
        "or an ADR letter has been issued."
    ),
    Guard.BELOW_TOP_ESCALATION_LEVEL: (
        "The complaint is already at the top of the escalation ladder."
    ),
    Guard.CUSTOMER_ACCEPTED_DECISION: (
        "The remedy can be marked done only after the customer accepted the scheme's decision."
    ),
    Guard.NO_REMEDY_OUTSTANDING: (
        "The customer accepted the scheme's decision: record the remedy as done before closing."
    ),
    Guard.DECISION_RECORDED: "Record the scheme's decision first.",
}


def _guard_holds(guard: Guard, status: CaseStatus) -> bool:
    if guard is Guard.ACCEPTANCE_OR_ADR_LETTER:
        return status.acceptance_recorded or status.adr_letter_issued
    if guard is Guard.BELOW_TOP_ESCALATION_LEVEL:
        return status.escalation_level < status.top_escalation_level
    if guard is Guard.NO_REMEDY_OUTSTANDING:
        return not status.decision_accepted or status.remedy_done
    if guard is Guard.DECISION_RECORDED:
        return status.decision_recorded
    return status.decision_accepted


def transitions_for(action: Action) -> tuple[Transition, ...]:
    return tuple(t for t in TRANSITIONS if t.action is action)


def decide(status: CaseStatus, action: Action) -> Decision:
    """The state ``action`` takes the case to, or :class:`TransitionRefused` saying why."""
    candidates = [t for t in transitions_for(action) if status.kind in t.kinds]
    if not candidates:
        raise TransitionRefused(
            action, status.state, f"A {status.kind.label.lower()} cannot be {_past(action)}."
        )
    for transition in candidates:
        if status.state not in transition.sources:
            continue
        for guard in transition.guards:
            if not _guard_holds(guard, status):
                raise TransitionRefused(action, status.state, _GUARD_REASONS[guard])
        target = transition.target if transition.target is not None else status.state
        kind = CaseKind.COMPLAINT if action is Action.CONVERT_TO_COMPLAINT else status.kind
        return Decision(action=action, source=status.state, target=target, kind=kind)
    raise TransitionRefused(
        action,
        status.state,
        f"A case that is {status.state.label.lower()} cannot be {_past(action)}.",
    )


def allowed_actions(status: CaseStatus) -> tuple[Action, ...]:
    """The actions :func:`decide` would accept now (for the console's buttons)."""
    allowed: list[Action] = []
    for action in Action:
        try:
            decide(status, action)
        except TransitionRefused:
            continue
        allowed.append(action)
    return tuple(allowed)


def _past(action: Action) -> str:
    return {
        Action.ACKNOWLEDGE: "acknowledged",
        Action.ASSIGN: "assigned",
        Action.INTRODUCE_HANDLER: "given a handler introduction",
        Action.RECORD_UPDATE: "given an update",
        Action.AGREE_UPDATES: "given an agreed update schedule",
        Action.INVESTIGATE: "put under investigation",
        Action.ESCALATE: "escalated",
        Action.PROPOSE_RESOLUTION: "given a proposed resolution",
        Action.ACCEPT_RESOLUTION: "marked as accepted",
        Action.REJECT_RESOLUTION: "marked as rejected",
        Action.CLOSE: "closed",
        Action.REOPEN: "re-opened",
        Action.DECLARE_DEADLOCK: "put in deadlock",
        Action.REQUEST_ADR_LETTER: "given an ADR letter",
        Action.ISSUE_ADR_LETTER: "given an ADR letter",
        Action.REFER_TO_SCHEME: "referred to the ADR scheme",
        Action.SCHEME_DECLINED: "marked as declined by the scheme",
        Action.RECORD_SCHEME_DECISION: "given a scheme decision",
        Action.ACCEPT_DECISION: "marked as accepting the scheme's decision",
        Action.COMPLETE_REMEDY: "marked as remedied",
        Action.WITHDRAW: "withdrawn",
        Action.CONVERT_TO_COMPLAINT: "converted into a complaint",
    }[action]
