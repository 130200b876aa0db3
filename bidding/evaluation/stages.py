"""The stages of an evaluation round, in order, and the steps between them as a table
(the shape of the tender's, :mod:`trading.transitions`).

Two kinds of step: what members and the chair do within a stage (the stage stays:
``target`` None), and the moves from stage to stage that those acts bring about. A step
function asks :func:`check_step` before it acts and :func:`advance` for the stage a move
leads to.
"""

from __future__ import annotations

from collections.abc import Mapping

from trading.errors import Conflict
from trading.transitions import Transition, transition_table

# Stages of a session, in order.
CHAIR, QUALIFICATION, PRELIMINARY, DETAILED, REPORT, COMPLETED = (
    "chair", "qualification", "preliminary", "detailed", "report", "completed")
STAGES = (CHAIR, QUALIFICATION, PRELIMINARY, DETAILED, REPORT, COMPLETED)
STAGE_NAMES = {CHAIR: "推选评标委员会组长", QUALIFICATION: "资格审查", PRELIMINARY: "初步评审", DETAILED: "详细评审",
               REPORT: "评标报告签署", COMPLETED: "评标结束"}
REVIEW_STAGES = (QUALIFICATION, PRELIMINARY, DETAILED)

_REVIEWING = frozenset(REVIEW_STAGES)

STEPS: Mapping[str, Transition[str]] = transition_table(
    # Acts within a stage.
    Transition("vote_for_chair", "推选组长", frozenset({CHAIR}), None),
    Transition("record_review", "评审", _REVIEWING, None),
    Transition("record_scores", "打分", frozenset({DETAILED}), None),
    Transition("close_stage", "结束评审阶段", _REVIEWING, None),
    Transition("sign_report", "签署评标报告", frozenset({REPORT}), None),
    Transition("record_dissent", "提出不同意见", frozenset({REPORT}), None),
    Transition("complete_report", "结束评标报告签署", frozenset({REPORT}), None),
    # Moves.
    Transition("elect_chair", "选出组长", frozenset({CHAIR}), QUALIFICATION),
    Transition("close_qualification", "资格审查结束", frozenset({QUALIFICATION}), PRELIMINARY),
    Transition("close_preliminary", "初步评审结束", frozenset({PRELIMINARY}), DETAILED),
    Transition("close_detailed", "详细评审结束，起草评标报告", frozenset({DETAILED}), REPORT),
    # 招标投标法 第四十二条: every bid rejected, the round ends without candidates.
    Transition("reject_all", "否决全部投标", _REVIEWING, COMPLETED),
    Transition("complete", "评标报告签署完毕", frozenset({REPORT}), COMPLETED),
)


def check_step(stage: str, action: str) -> Transition[str]:
    """The step ``action``, or a refusal naming the current stage and the stages it needs."""
    step = STEPS[action]
    if not step.allows(stage):
        wanted = "、".join(STAGE_NAMES[s] for s in STAGES if s in step.sources)
        raise Conflict(f"评标当前处于「{STAGE_NAMES[stage]}」阶段，不能进行{wanted}",
                       code="evaluation_stage", stage=stage)
    return step


def advance(stage: str, move: str) -> str:
    """The stage the move ``move`` leads to from ``stage``."""
    target = check_step(stage, move).target
    if target is None:
        raise ValueError(f"{move} is an act within a stage, not a move")
    return target
