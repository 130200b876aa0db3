"""The steps a page offers come from the transition table (bidding.tender.offers): a button is
shown for a step only in the states the step starts from, and only to the roles that take it;
the center's and the parties' pages ask bidding.reading.step_offers instead of listing states."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, strategies as st

from bidding.reading.bidder_desk import TenderDesk
from bidding.reading.step_offers import may_publish_candidates, may_record_contract
from bidding.tender.offers import TAKEN_BY, check_takes, offered_actions
from bidding.tender.states import TERMINAL_STATES, TRANSITIONS, TenderState
from trading.errors import PermissionDenied
from trading.roles import UserRole

S = TenderState
ADMIN, PARTY, AGENCY, SUPERVISOR, BIDDER = (UserRole.ADMIN.value, UserRole.TENDERING_PARTY.value,
                                            UserRole.AGENCY.value, UserRole.SUPERVISOR.value, UserRole.BIDDER.value)
STATES = st.sampled_from(list(S))
ROLES = st.sampled_from([None, *(role.value for role in UserRole)])


def tender(state: TenderState) -> SimpleNamespace:
    return SimpleNamespace(state=state.value)


@given(state=STATES, role=ROLES)
def test_a_step_is_offered_only_from_its_sources(state, role):
    for action in offered_actions(tender(state), role):
        assert state in TRANSITIONS[action].sources


@given(state=STATES, role=ROLES)
def test_every_step_the_role_takes_from_the_state_is_offered(state, role):
    offered = offered_actions(tender(state), role)
    for action, transition in TRANSITIONS.items():
        if state in transition.sources and role in TAKEN_BY.get(action, ()):
            assert action in offered


@given(state=STATES)
def test_bidders_and_visitors_are_offered_no_tender_step(state):
    assert offered_actions(tender(state), BIDDER) == () and offered_actions(tender(state), None) == ()


@given(state=st.sampled_from(sorted(TERMINAL_STATES)), role=ROLES)
def test_nothing_is_offered_once_the_tender_has_ended(state, role):
    assert offered_actions(tender(state), role) == ()


def test_the_takers_name_real_steps_and_only_the_chronograph_opens_bidding():
    assert set(TAKEN_BY) <= set(TRANSITIONS)
    assert set(TRANSITIONS) - set(TAKEN_BY) == {"open_bidding"}


@pytest.mark.parametrize(("state", "role", "offered"), [
    (S.REGISTERED, PARTY, ("announce",)),
    (S.REGISTERED, AGENCY, ("announce",)),
    (S.REGISTERED, ADMIN, ("announce", "terminate")),
    (S.ANNOUNCED, PARTY, ()),
    (S.BIDDING, ADMIN, ("start_opening", "terminate")),
    (S.OPENING, ADMIN, ("fail", "start_evaluation", "terminate")),
    (S.EVALUATING, AGENCY, ("publish_candidates",)),
    (S.EVALUATING, PARTY, ()),
    (S.EVALUATING, SUPERVISOR, ("suspend",)),
    (S.PUBLICITY, ADMIN, ("award", "terminate")),
    (S.SUSPENDED, SUPERVISOR, ("resume", "reevaluate")),
    (S.AWARDED, PARTY, ("record_contract",)),
    (S.CONTRACTED, ADMIN, ("close", "terminate")),
])
def test_what_each_page_offers(state, role, offered):
    assert offered_actions(tender(state), role) == offered


def test_the_agency_publishes_the_candidates_once_the_report_is_signed_and_the_party_never():
    evaluating = tender(S.EVALUATING)
    assert may_publish_candidates(evaluating, AGENCY, report_signed=True)
    assert not may_publish_candidates(evaluating, AGENCY, report_signed=False)
    assert not may_publish_candidates(evaluating, PARTY, report_signed=True)
    assert not may_publish_candidates(tender(S.PUBLICITY), AGENCY, report_signed=True)


def test_the_contract_is_offered_after_the_award_notice():
    notice = object()
    assert may_record_contract(tender(S.AWARDED), PARTY, notice)
    assert not may_record_contract(tender(S.AWARDED), PARTY, None)
    assert not may_record_contract(tender(S.PUBLICITY), PARTY, notice)


@pytest.mark.parametrize(("state", "registers", "bids", "opening"), [
    (S.REGISTERED, False, False, False),
    (S.ANNOUNCED, True, False, False),
    (S.BIDDING, True, True, False),
    (S.OPENING, False, False, True),
    (S.EVALUATING, False, False, True),
    (S.FAILED, False, False, True),
])
def test_what_a_bidders_tender_page_offers(state, registers, bids, opening):
    desk = TenderDesk(tender(state), None, None, [])
    assert (desk.registration_open, desk.bidding_open, desk.opening_reached) == (registers, bids, opening)


def test_a_tendering_party_is_refused_the_agencys_publicity_step():
    check_takes("publish_candidates", AGENCY, "中标候选人由交易中心或项目的代理机构公示")
    with pytest.raises(PermissionDenied) as refused:
        check_takes("publish_candidates", PARTY, "中标候选人由交易中心或项目的代理机构公示")
    assert (refused.value.code, refused.value.message) == ("may_not_publish_candidates", "中标候选人由交易中心或项目的代理机构公示")
