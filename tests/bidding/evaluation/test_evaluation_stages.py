"""The evaluation round's stage table: each step is taken only from the stages it names,
and a step out of turn is refused with the words and code the service always used."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidding.evaluation.stages import (
    CHAIR,
    COMPLETED,
    DETAILED,
    REPORT,
    REVIEW_STAGES,
    STAGE_NAMES,
    STAGES,
    STEPS,
    advance,
    check_step,
)
from trading.errors import Conflict

# What each step function allowed before the table, in the order it named the stages.
ACTS_BEFORE = {
    "vote_for_chair": (CHAIR,),
    "record_review": REVIEW_STAGES,
    "record_scores": (DETAILED,),
    "close_stage": REVIEW_STAGES,
    "sign_report": (REPORT,),
    "record_dissent": (REPORT,),
    "complete_report": (REPORT,),
}


def refusal_before(stage: str, stages: tuple[str, ...]) -> tuple[str, str, dict]:
    """The refusal of the hand-written stage check the table replaced."""
    wanted = "、".join(STAGE_NAMES[s] for s in stages)
    return f"评标当前处于「{STAGE_NAMES[stage]}」阶段，不能进行{wanted}", "evaluation_stage", {"stage": stage}


@given(action=st.sampled_from(sorted(ACTS_BEFORE)), stage=st.sampled_from(STAGES))
def test_an_act_outside_its_stages_is_refused_as_before(action, stage):
    allowed = ACTS_BEFORE[action]
    assert STEPS[action].sources == frozenset(allowed)
    if stage in allowed:
        assert check_step(stage, action) is STEPS[action]
        return
    with pytest.raises(Conflict) as refused:
        check_step(stage, action)
    assert (refused.value.message, refused.value.code, refused.value.details) == refusal_before(stage, allowed)


@given(action=st.sampled_from(sorted(STEPS)), stage=st.sampled_from(STAGES))
def test_every_step_of_the_table_is_refused_from_a_stage_not_in_its_sources(action, stage):
    step = STEPS[action]
    if step.allows(stage):
        return
    with pytest.raises(Conflict) as refused:
        check_step(stage, action)
    named = tuple(s for s in STAGES if s in step.sources)
    assert (refused.value.message, refused.value.code, refused.value.details) == refusal_before(stage, named)


def test_the_moves_lead_through_the_stages_in_order_and_nothing_leaves_the_end():
    stage, path = CHAIR, [CHAIR]
    for move in ("elect_chair", "close_qualification", "close_preliminary", "close_detailed", "complete"):
        stage = advance(stage, move)
        path.append(stage)
    assert tuple(path) == STAGES
    assert all(advance(s, "reject_all") == COMPLETED for s in REVIEW_STAGES)
    assert not any(step.allows(COMPLETED) for step in STEPS.values())
    with pytest.raises(ValueError):
        advance(REPORT, "sign_report")  # an act, not a move
