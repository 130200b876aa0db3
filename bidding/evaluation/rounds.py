"""An evaluation round as every step reads it: the project's current round, its members
and bids, the acting member, and the live events the steps publish."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.records import EvaluationBid, EvaluationMember, EvaluationScore, EvaluationSession
from bidding.evaluation.scoring import EvaluationScheme
from bidding.evaluation.stages import check_step
from bidding.tender.projects import Project, get_project
from trading.errors import InvalidInput, NotFound, PermissionDenied
from trading.events import publish_event
from trading.rules.store import RuleSetRecord


def subject(project: Project) -> str:
    return f"project:{project.code}"


# Live events of the evaluation, on the project's topic (``trading.events``): they name the
# step and the member who acted, never a verdict, a score or a reason, which only the
# report makes known; watchers re-read the progress (:func:`evaluation_progress`).
LIVE_KINDS = ("evaluation.started", "evaluation.chair_vote", "evaluation.chair_elected",
              "evaluation.chair_vote_repeated", "evaluation.reviewed", "evaluation.scored",
              "evaluation.stage_closed", "evaluation.all_rejected", "evaluation.report_drawn_up",
              "evaluation.report_signed", "evaluation.dissent_recorded", "evaluation.report_completed")


async def announce(session: AsyncSession, project: Project, kind: str, evaluation: EvaluationSession,
                   **data: Any) -> None:
    await publish_event(session, subject(project), kind, {"round": evaluation.round, **data})


def text_field(value: Any, field: str, what: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"须填写{what}", code="text_required", field=field)
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}应为文本", code="text_required", field=field)
    return value.strip()


async def pinned_rules(session: AsyncSession, project: Project) -> dict[str, Any]:
    return (await session.get(RuleSetRecord, project.rule_set_id)).values()


async def current_session(session: AsyncSession, project: Project, *, lock: bool = False) -> EvaluationSession:
    """The project's latest evaluation round."""
    query = (select(EvaluationSession).where(EvaluationSession.project_id == project.id)
             .order_by(EvaluationSession.round.desc()).limit(1))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound(f"项目 {project.code} 尚未开始评标", code="evaluation_not_started", project=project.code)
    return found


async def members_of(session: AsyncSession, evaluation: EvaluationSession) -> list[EvaluationMember]:
    return list((await session.scalars(select(EvaluationMember).where(EvaluationMember.session_id == evaluation.id)
                                       .order_by(EvaluationMember.position)
                                       .execution_options(populate_existing=True))).all())


async def bids_of(session: AsyncSession, evaluation: EvaluationSession) -> list[EvaluationBid]:
    return list((await session.scalars(select(EvaluationBid).where(EvaluationBid.session_id == evaluation.id)
                                       .order_by(EvaluationBid.bid_order)
                                       .execution_options(populate_existing=True))).all())


def member_of(members: list[EvaluationMember], expert_id: int) -> EvaluationMember:
    member = next((m for m in members if m.expert_id == expert_id), None)
    if member is None:
        raise PermissionDenied("您不是本项目本轮评标委员会的成员", code="not_a_committee_member")
    return member


async def acting_member(session: AsyncSession, project_code: str, expert_id: int, action: str
                        ) -> tuple[Project, EvaluationSession, list[EvaluationMember], EvaluationMember]:
    """The round (locked) and the member acting in it, once the stage table allows ``action``."""
    project = await get_project(session, project_code)
    evaluation = await current_session(session, project, lock=True)
    members = await members_of(session, evaluation)
    member = member_of(members, expert_id)
    check_step(evaluation.stage, action)
    return project, evaluation, members, member


async def bid_of(session: AsyncSession, evaluation: EvaluationSession, bidder_credit_code: Any) -> EvaluationBid:
    if not isinstance(bidder_credit_code, str):
        raise InvalidInput("请填写投标人的统一社会信用代码", code="bidder_code_required", field="bidder_credit_code")
    bid = await session.scalar(select(EvaluationBid).where(
        EvaluationBid.session_id == evaluation.id, EvaluationBid.bidder_credit_code == bidder_credit_code)
        .execution_options(populate_existing=True))
    if bid is None:
        raise NotFound("本轮评标中没有该投标人的有效投标", bidder=bidder_credit_code)
    return bid


def scheme_of(evaluation: EvaluationSession) -> EvaluationScheme:
    return EvaluationScheme.from_json(evaluation.scheme)


async def scored_pairs(session: AsyncSession, evaluation: EvaluationSession) -> set[tuple[int, int]]:
    rows = await session.execute(select(EvaluationScore.member_id, EvaluationScore.evaluation_bid_id)
                                 .where(EvaluationScore.session_id == evaluation.id))
    return {(member_id, bid_id) for member_id, bid_id in rows}
