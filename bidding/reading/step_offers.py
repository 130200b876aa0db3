"""What the center's and the parties' tender pages offer to do next, asked of the packages
that own each rule: the transition table's steps for the person's role
(:func:`bidding.tender.offers.offered_actions`), then the facts a step needs beyond the
tender's state (the decryption window over, a committee drawn, no evaluation session
running, the award notice not yet issued). The pages show a button only where this says
so; the step's service still refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import AwardNotice
from bidding.draws.project_draws import COMMITTEE_STATES
from bidding.evaluation.records import EvaluationSession
from bidding.opening.proceedings import window_closed
from bidding.tender.offers import offered_actions
from bidding.tender.projects import Project
from bidding.tender.states import TenderState
from expert_pool.committees import CommitteeRequest


@dataclass(frozen=True)
class CenterOffers:
    """The center's buttons on one tender."""

    request_committee: bool
    finish_opening: bool
    start_evaluation: bool
    evaluation_running: bool
    publish_candidates: bool
    issue_award_notice: bool


async def evaluation_running(session: AsyncSession, project: Project) -> bool:
    return await session.scalar(select(EvaluationSession.id).where(
        EvaluationSession.project_id == project.id, EvaluationSession.completed_at.is_(None)).limit(1)) is not None


async def center_offers(session: AsyncSession, project: Project, role: str, *, committee: CommitteeRequest | None,
                        notice: AwardNotice | None) -> CenterOffers:
    offered = offered_actions(project, role)
    running = await evaluation_running(session, project)
    # The opening ends in evaluation or, with too few valid bids, in failure (流标): either step.
    finishing = "start_evaluation" in offered and await window_closed(session, project.code)
    return CenterOffers(
        request_committee=committee is None and project.state in COMMITTEE_STATES,
        finish_opening=finishing,
        start_evaluation=project.state == TenderState.EVALUATING and committee is not None and not running,
        evaluation_running=running,
        publish_candidates="publish_candidates" in offered,
        # The notice goes out with the award (taken from publicity) or after it, once.
        issue_award_notice=notice is None and ("award" in offered or project.state == TenderState.AWARDED),
    )


def may_publish_candidates(project: Project, role: str, *, report_signed: bool) -> bool:
    """A party's page offers the publicity once the evaluation report is in (the agency's step, not the party's)."""
    return "publish_candidates" in offered_actions(project, role) and report_signed


def may_record_contract(project: Project, role: str, notice: AwardNotice | None) -> bool:
    """The contract is recorded once the award notice is out."""
    return "record_contract" in offered_actions(project, role) and notice is not None
