"""The stages of an evaluation round, in order, and their names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trading.errors import Conflict

if TYPE_CHECKING:
    from bidding.evaluation.records import EvaluationSession

# Stages of a session, in order.
CHAIR, QUALIFICATION, PRELIMINARY, DETAILED, REPORT, COMPLETED = (
    "chair", "qualification", "preliminary", "detailed", "report", "completed")
STAGES = (CHAIR, QUALIFICATION, PRELIMINARY, DETAILED, REPORT, COMPLETED)
STAGE_NAMES = {CHAIR: "推选评标委员会组长", QUALIFICATION: "资格审查", PRELIMINARY: "初步评审", DETAILED: "详细评审",
               REPORT: "评标报告签署", COMPLETED: "评标结束"}
REVIEW_STAGES = (QUALIFICATION, PRELIMINARY, DETAILED)


def stage_is(evaluation: EvaluationSession, *stages: str) -> None:
    if evaluation.stage not in stages:
        wanted = "、".join(STAGE_NAMES[s] for s in stages)
        raise Conflict(f"评标当前处于「{STAGE_NAMES[evaluation.stage]}」阶段，不能进行{wanted}",
                       code="evaluation_stage", stage=evaluation.stage)
