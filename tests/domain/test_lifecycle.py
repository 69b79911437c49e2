"""The transition table and its guards, whatever the caller."""

from __future__ import annotations

import pytest

from amends.domain.codes import CaseKind
from amends.domain.lifecycle import (
    OPEN_STATES,
    TRANSITIONS,
    Action,
    CaseStatus,
    State,
    TransitionRefused,
    allowed_actions,
    decide,
)

COMPLAINT = CaseKind.COMPLAINT


def status(state: State, **kw: object) -> CaseStatus:
    return CaseStatus(kind=kw.pop("kind", COMPLAINT), state=state, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "state",
    [State.RESOLVED, State.ADR_LETTER_ISSUED, State.REFERRED, State.SCHEME_DECISION],
)
def test_a_complaint_cannot_close_without_acceptance_or_adr_letter(state: State) -> None:
    with pytest.raises(TransitionRefused, match="acceptance is recorded or an ADR letter"):
        decide(status(state), Action.CLOSE)


def test_a_complaint_closes_with_recorded_acceptance() -> None:
    assert (
        decide(status(State.RESOLVED, acceptance_recorded=True), Action.CLOSE).target
        is State.CLOSED
    )


def test_a_complaint_closes_after_an_adr_letter() -> None:
    decision = decide(status(State.ADR_LETTER_ISSUED, adr_letter_issued=True), Action.CLOSE)
    assert decision.target is State.CLOSED


def test_an_open_complaint_under_investigation_cannot_simply_close() -> None:
    with pytest.raises(TransitionRefused, match="cannot be closed"):
        decide(status(State.INVESTIGATING, acceptance_recorded=True), Action.CLOSE)


@pytest.mark.parametrize("kind", list(CaseKind))
@pytest.mark.parametrize("state", sorted(State))
def test_a_customer_request_for_an_adr_letter_is_never_refused(
    state: State, kind: CaseKind
) -> None:
    assert decide(status(state, kind=kind), Action.REQUEST_ADR_LETTER).target is state


def test_the_adr_letter_leaves_a_proposed_resolution_with_the_customer() -> None:
    proposed = status(State.RESOLUTION_PROPOSED)
    assert decide(proposed, Action.ISSUE_ADR_LETTER).target is State.RESOLUTION_PROPOSED
    assert decide(proposed, Action.ACCEPT_RESOLUTION).target is State.RESOLVED


def test_a_premature_referral_goes_back_to_investigation() -> None:
    assert decide(status(State.REFERRED), Action.SCHEME_DECLINED).target is State.INVESTIGATING


def test_an_accepted_decision_must_be_remedied_before_closing() -> None:
    accepted = status(
        State.SCHEME_DECISION,
        adr_letter_issued=True,
        decision_accepted=True,
        decision_recorded=True,
    )
    with pytest.raises(TransitionRefused, match="record the remedy as done"):
        decide(accepted, Action.CLOSE)
    assert (
        decide(
            status(State.SCHEME_DECISION, adr_letter_issued=True, decision_recorded=True),
            Action.CLOSE,
        ).target
        is State.CLOSED
    )


def test_a_decision_accepted_after_closure_still_starts_the_remedy() -> None:
    closed = status(State.CLOSED, decision_recorded=True)
    assert decide(closed, Action.ACCEPT_DECISION).target is State.CLOSED
    with pytest.raises(TransitionRefused, match="Record the scheme's decision first"):
        decide(status(State.CLOSED), Action.ACCEPT_DECISION)


def test_a_withdrawn_complaint_can_be_reopened() -> None:
    assert decide(status(State.WITHDRAWN), Action.REOPEN).target is State.REOPENED


def test_deadlock_is_reached_from_investigation_and_leads_to_the_letter() -> None:
    deadlock = decide(status(State.INVESTIGATING), Action.DECLARE_DEADLOCK)
    assert deadlock.target is State.DEADLOCK
    assert decide(status(State.DEADLOCK), Action.ISSUE_ADR_LETTER).target is State.ADR_LETTER_ISSUED


@pytest.mark.parametrize("kind", [k for k in CaseKind if k is not COMPLAINT])
def test_a_query_can_become_a_complaint(kind: CaseKind) -> None:
    decision = decide(status(State.INVESTIGATING, kind=kind), Action.CONVERT_TO_COMPLAINT)
    assert decision.kind is COMPLAINT
    assert decision.target is State.RECEIVED


def test_a_complaint_is_not_converted_again() -> None:
    with pytest.raises(TransitionRefused, match="complaint cannot be converted"):
        decide(status(State.RECEIVED), Action.CONVERT_TO_COMPLAINT)


def test_queries_have_no_adr_letter_or_deadlock() -> None:
    query = status(State.INVESTIGATING, kind=CaseKind.ACCOUNT_QUERY)
    for action in (Action.DECLARE_DEADLOCK, Action.ISSUE_ADR_LETTER, Action.ESCALATE):
        with pytest.raises(TransitionRefused):
            decide(query, action)


def test_a_query_closes_without_acceptance() -> None:
    query = status(State.INVESTIGATING, kind=CaseKind.SUPPORT_REQUEST)
    assert decide(query, Action.CLOSE).target is State.CLOSED


def test_escalation_stops_at_the_top_of_the_ladder() -> None:
    assert (
        decide(
            status(State.INVESTIGATING, escalation_level=1, top_escalation_level=2), Action.ESCALATE
        ).target
        is State.ESCALATED
    )
    with pytest.raises(TransitionRefused, match="top of the escalation ladder"):
        decide(status(State.ESCALATED, escalation_level=2, top_escalation_level=2), Action.ESCALATE)


def test_remedy_done_needs_the_customers_acceptance_of_the_decision() -> None:
    with pytest.raises(TransitionRefused, match="accepted the scheme's decision"):
        decide(status(State.SCHEME_DECISION), Action.COMPLETE_REMEDY)
    done = decide(status(State.SCHEME_DECISION, decision_accepted=True), Action.COMPLETE_REMEDY)
    assert done.target is State.REMEDY_DONE


def test_reopening_a_closed_complaint() -> None:
    assert decide(status(State.CLOSED), Action.REOPEN).target is State.REOPENED


def test_withdrawn_allows_only_reopening_and_the_adr_letter_request() -> None:
    assert set(allowed_actions(status(State.WITHDRAWN))) == {
        Action.REOPEN,
        Action.REQUEST_ADR_LETTER,
    }


def test_every_transition_targets_a_state_and_starts_somewhere() -> None:
    for transition in TRANSITIONS:
        assert transition.sources, transition
    assert OPEN_STATES.isdisjoint({State.CLOSED, State.WITHDRAWN, State.REMEDY_DONE})
