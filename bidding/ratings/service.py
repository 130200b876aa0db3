"""Satisfaction ratings (好差评) of the center's own service steps: the people a step served
rate it good, fair or poor, once, with an optional comment; the center reads the summary
per step. (Experts and agencies are rated in bidding/ratings/tender_ratings.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.tender.party_projects import acts_for
from bidding.tender.projects import Project, get_project
from bidding.tender.registrations import Registration
from bidding.tender.states import TenderState
from trading.accounts import User
from trading.audit import actor_of, record_event
from trading.columns import created_at_column
from trading.errors import Conflict, InvalidInput, PermissionDenied
from trading.roles import UserRole

GRADES = {"good": "好评", "fair": "中评", "poor": "差评"}
PARTY, BIDDER = "party", "bidder"
# The main line of a tender; a step can be rated once the tender has reached its state.
MAIN_LINE = [TenderState.REGISTERED, TenderState.ANNOUNCED, TenderState.BIDDING, TenderState.OPENING,
             TenderState.EVALUATING, TenderState.PUBLICITY, TenderState.AWARDED, TenderState.CONTRACTED,
             TenderState.CLOSED]


@dataclass(frozen=True)
class ServiceStep:
    code: str
    name: str
    reached_at: TenderState  # the state from which the step has been served
    served: frozenset[str]  # who it served: PARTY (tendering party, agency), BIDDER (registered bidders)


STEPS = {step.code: step for step in (
    ServiceStep("project_registration", "进场登记", TenderState.REGISTERED, frozenset({PARTY})),
    ServiceStep("announcement", "公告与招标文件发布", TenderState.ANNOUNCED, frozenset({PARTY})),
    ServiceStep("bidder_registration", "投标报名与信用核查", TenderState.BIDDING, frozenset({BIDDER})),
    ServiceStep("deposit", "保证金收取与退还", TenderState.BIDDING, frozenset({BIDDER})),
    ServiceStep("opening", "开标服务", TenderState.EVALUATING, frozenset({PARTY, BIDDER})),
    ServiceStep("evaluation", "评标场地与服务", TenderState.PUBLICITY, frozenset({PARTY})),
    ServiceStep("award_notice", "中标通知书办理", TenderState.AWARDED, frozenset({PARTY, BIDDER})),
)}


class ServiceRating(SQLModel, table=True):
    __tablename__ = "service_ratings"
    __table_args__ = (
        CheckConstraint("grade IN ('good', 'fair', 'poor')", name="service_ratings_grade_known"),
        UniqueConstraint("project_id", "step", "user_id", name="service_ratings_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    step: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False))
    grade: str = Field(sa_column=Column(String(8), nullable=False))
    comment: str = Field(default="", sa_column=Column(String(500), nullable=False, server_default=""))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())


def _reached(project: Project, state: TenderState) -> bool:
    current = TenderState(project.suspended_from) if project.state == TenderState.SUSPENDED else TenderState(project.state)
    if current in (TenderState.FAILED, TenderState.TERMINATED):
        return MAIN_LINE.index(state) <= MAIN_LINE.index(TenderState.EVALUATING)
    return MAIN_LINE.index(current) >= MAIN_LINE.index(state)


async def _roles_in(session: AsyncSession, project: Project, user: User) -> set[str]:
    """How the user's organisation took part in the tender (PARTY, BIDDER)."""
    roles: set[str] = set()
    if user.role in (UserRole.TENDERING_PARTY, UserRole.AGENCY) and await acts_for(
            session, project, user.role, user.organisation_id):
        roles.add(PARTY)
    if user.role == UserRole.BIDDER and user.organisation_id is not None and await session.scalar(
            select(Registration.id).where(Registration.project_id == project.id,
                                          Registration.bidder_organisation_id == user.organisation_id)):
        roles.add(BIDDER)
    return roles


async def steps_to_rate(session: AsyncSession, project_code: str, user: User) -> list[dict[str, Any]]:
    """The project's service steps this user was served by, with the user's rating if given."""
    project = await get_project(session, project_code)
    roles = await _roles_in(session, project, user)
    if not roles:
        raise PermissionDenied(f"您未参与项目 {project.code}，不能评价其服务", code="not_a_participant")
    given = {row.step: row for row in (await session.scalars(select(ServiceRating).where(
        ServiceRating.project_id == project.id, ServiceRating.user_id == user.id))).all()}
    return [{"code": step.code, "name": step.name, "rating": given.get(step.code)}
            for step in STEPS.values() if step.served & roles and _reached(project, step.reached_at)]


async def rate_service_step(session: AsyncSession, *, user: User, project_code: str, step: str, grade: str,
                            comment: str = "") -> ServiceRating:
    """One rating per person, project and step, by those the step served, once it was served."""
    if step not in STEPS:
        raise InvalidInput("请选择要评价的服务环节", code="service_step_required", field="step")
    if grade not in GRADES:
        raise InvalidInput("请选择好评、中评或差评", code="rating_level_required", field="grade")
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise InvalidInput("评价意见不能超过 500 字", code="text_too_long", field="comment")
    if grade == "poor" and not comment:
        raise InvalidInput("差评请写明原因，以便中心改进", code="reason_required", field="comment")
    project = await get_project(session, project_code)
    served = STEPS[step]
    if not served.served & await _roles_in(session, project, user):
        raise PermissionDenied(f"「{served.name}」未为您提供服务，不能评价", code="not_served", field="step")
    if not _reached(project, served.reached_at):
        raise Conflict(f"项目 {project.code} 尚未进行「{served.name}」，办理后再评价", code="step_not_served", field="step")
    rating = ServiceRating(project_id=project.id, step=step, user_id=user.id, grade=grade, comment=comment)
    try:
        async with session.begin_nested():  # a second rating (even a concurrent one) leaves no trace
            session.add(rating)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"您已评价过项目 {project.code} 的「{served.name}」", code="already_rated", field="step") from None
    await record_event(session, actor=actor_of(user), action="service.rated", subject=f"project:{project.code}",
                       data={"step": step, "grade": grade, "comment": comment})
    return rating


async def service_rating_summary(session: AsyncSession) -> list[dict[str, Any]]:
    """Per step: how many good, fair and poor ratings, the share of good ones, the latest comments."""
    counts = {(step, grade): n for step, grade, n in (await session.execute(
        select(ServiceRating.step, ServiceRating.grade, func.count()).group_by(ServiceRating.step, ServiceRating.grade)
    )).all()}
    summary = []
    for step in STEPS.values():
        by_grade = {grade: counts.get((step.code, grade), 0) for grade in GRADES}
        total = sum(by_grade.values())
        comments = (await session.scalars(select(ServiceRating).where(
            ServiceRating.step == step.code, ServiceRating.comment != "")
            .order_by(ServiceRating.id.desc()).limit(5))).all()
        summary.append({"code": step.code, "name": step.name, "total": total, **by_grade,
                        # whole percent, rounded half up, exactly (integers only)
                        "good_percent": (200 * by_grade["good"] + total) // (2 * total) if total else None,
                        "comments": [(GRADES[c.grade], c.comment) for c in comments]})
    return summary
