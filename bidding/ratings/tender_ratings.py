"""Ratings after a tender (评价): the project's tendering party or a supervisor rates each
expert who sat on its committee and the agency that served it.

The pools own the ratings and their consequences (expert_pool.ratings suspends an expert
under the rule set's thresholds); this module checks what only the project knows: that the
rater belongs to the project, that the expert sat on its committee or the agency served it,
and that the work being rated is over.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment
from agency_pool.ratings import AgencyRating, rate_agency
from bidding.tender.projects import Project, get_project
from bidding.tender.states import STATE_NAMES, TenderState
from expert_pool.committees import sat_on_project
from expert_pool.experts import get_expert
from expert_pool.ratings import RatingOutcome, rate_expert
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import Conflict, NotFound, PermissionDenied
from trading.roles import UserRole
from trading.rules.store import RuleSetRecord

S = TenderState
# The committee's work is over once its report is out.
AFTER_EVALUATION = frozenset({S.PUBLICITY, S.AWARDED, S.CONTRACTED, S.CLOSED})
# The agency's work is over once the tender has ended one way or another.
AFTER_AGENCY_WORK = frozenset({S.AWARDED, S.CONTRACTED, S.CLOSED, S.FAILED, S.TERMINATED})


def _check_rater(project: Project, user: User) -> None:
    if user.role == UserRole.SUPERVISOR:
        return
    if user.role == UserRole.TENDERING_PARTY and user.organisation_id == project.tendering_party_id:
        return
    raise PermissionDenied(f"只有项目 {project.code} 的招标人或监督人员可以评价", code="may_not_rate")


def _check_state(project: Project, allowed: frozenset[TenderState], what: str) -> None:
    if project.state not in allowed:
        raise Conflict(f"项目 {project.code} 当前状态为「{STATE_NAMES.get(project.state, project.state)}」，{what}尚未结束，不能评价",
                       code="state_conflict", project=project.code, state=project.state)


async def rate_committee_expert(session: AsyncSession, *, user: User, project_code: str, expert_code: str,
                                score: int, comment: str = "") -> RatingOutcome:
    project = await get_project(session, project_code)
    _check_rater(project, user)
    _check_state(project, AFTER_EVALUATION, "评标")
    expert = await get_expert(session, expert_code)
    if not await sat_on_project(session, project.code, expert.id):
        raise NotFound(f"专家 {expert.code} 不是项目 {project.code} 评标委员会的成员", project=project.code)
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    return await rate_expert(session, actor=actor_of(user), rule_set=rule_set, expert_code=expert.code,
                             project_code=project.code, rater_user_id=user.id, rater_role=UserRole(user.role).value,
                             score=score, comment=comment)


async def rate_serving_agency(session: AsyncSession, *, user: User, project_code: str, score: int,
                              comment: str = "") -> AgencyRating:
    project = await get_project(session, project_code)
    _check_rater(project, user)
    _check_state(project, AFTER_AGENCY_WORK, "代理工作")
    try:
        assignment = await agency_assignment(session, project.code)
    except NotFound:
        assignment = None
    if assignment is None or assignment.agency is None:
        raise NotFound(f"项目 {project.code} 没有抽取的代理机构（自行招标的项目无需评价代理机构）", project=project.code)
    return await rate_agency(session, actor=actor_of(user), code=assignment.agency.code, project_code=project.code,
                             score=score, comment=comment, rater_role=UserRole(user.role).value)
