"""Ratings of agencies after a project, by the tendering party or a supervisor.

The pool shows each agency with the average of its most recent ratings, so an agency's
standing follows its recent work (动态管理) rather than its whole history.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from agency_pool.agencies import Agency, get_agency
from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import Conflict, InvalidInput
from trading.roles import UserRole

RECENT_RATINGS = 10  # how many of an agency's latest ratings its average covers
MIN_SCORE, MAX_SCORE = 0, 100
COMMENT_MAX_LENGTH = 1000
PROJECT_CODE_MAX_LENGTH = 40
RATER_ROLES = (UserRole.TENDERING_PARTY.value, UserRole.SUPERVISOR.value)
_RATER_ROLE_VALUES = ", ".join(f"'{role}'" for role in RATER_ROLES)


class AgencyRating(SQLModel, table=True):
    __tablename__ = "agency_ratings"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name="agency_ratings_score_range"),
        CheckConstraint(f"rater_role IN ({_RATER_ROLE_VALUES})", name="agency_ratings_rater_role_known"),
        UniqueConstraint("agency_id", "project_code", "rater", name="agency_ratings_once_per_rater"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agencies.id"), nullable=False, index=True))
    project_code: str = Field(sa_column=Column(String(40), nullable=False))
    score: int = Field(sa_column=Column(Integer, nullable=False))
    comment: str = Field(sa_column=Column(String(1000), nullable=False))
    rater: str = Field(sa_column=Column(String(200), nullable=False))
    rater_role: str = Field(sa_column=Column(String(32), nullable=False))
    rated_at: datetime = Field(sa_column=created_at_column())


@dataclass(frozen=True)
class RatingSummary:
    average: float  # over the latest RECENT_RATINGS ratings, one decimal
    count: int  # how many ratings the average covers


async def rate_agency(
    session: AsyncSession,
    *,
    actor: str,
    code: str,
    project_code: str,
    score: int,
    comment: str,
    rater_role: str,
) -> AgencyRating:
    """Rate agency ``code`` for its work on ``project_code`` (score 0–100).

    ``actor`` is the rater (its audit name); ``rater_role`` is ``tendering_party`` or
    ``supervisor``. A rater rates an agency once per project.
    """
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidInput(f"评分应为{MIN_SCORE}–{MAX_SCORE}之间的整数", code="invalid_score", field="score", found=str(score))
    if rater_role not in RATER_ROLES:
        raise InvalidInput("只有招标人/采购人或监督人员可以评价代理机构", code="unknown_rater_role", field="rater_role", found=rater_role)
    project_code = (project_code or "").strip()
    if not project_code or len(project_code) > PROJECT_CODE_MAX_LENGTH:
        raise InvalidInput(f"项目编号不能为空，最长{PROJECT_CODE_MAX_LENGTH}个字符",
                           code="invalid_project_code", field="project_code")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise InvalidInput(f"评价意见最长{COMMENT_MAX_LENGTH}个字符，实为{len(comment)}个", code="text_too_long", field="comment")
    agency = await get_agency(session, code)
    already = await session.scalar(select(AgencyRating.id).where(
        AgencyRating.agency_id == agency.id, AgencyRating.project_code == project_code, AgencyRating.rater == actor))
    if already is not None:
        raise Conflict(f"您已评价过代理机构「{agency.code}」在项目 {project_code} 中的工作",
                       code=agency.code, project_code=project_code)
    rating = AgencyRating(agency_id=agency.id, project_code=project_code, score=score, comment=comment,
                          rater=actor, rater_role=rater_role)
    session.add(rating)
    await session.flush()
    await record_event(session, actor=actor, action="agency.rated", subject=f"agency:{agency.code}",
                       data={"project_code": project_code, "score": score, "comment": comment,
                             "rater_role": rater_role})
    return rating


async def rating_summaries(session: AsyncSession, agency_ids: Collection[int] | None = None) -> dict[int, RatingSummary]:
    """Average of each agency's latest ``RECENT_RATINGS`` ratings, by agency id.

    Agencies never rated are absent from the answer.
    """
    newest_first = func.row_number().over(partition_by=AgencyRating.agency_id,
                                          order_by=(AgencyRating.rated_at.desc(), AgencyRating.id.desc()))
    ranked = select(AgencyRating.agency_id, AgencyRating.score, newest_first.label("recency"))
    if agency_ids is not None:
        ranked = ranked.where(AgencyRating.agency_id.in_(list(agency_ids)))
    recent = ranked.subquery()
    query = (select(recent.c.agency_id, func.round(func.avg(recent.c.score), 1), func.count())
             .where(recent.c.recency <= RECENT_RATINGS)
             .group_by(recent.c.agency_id))
    return {agency_id: RatingSummary(float(average), count)
            for agency_id, average, count in (await session.execute(query)).all()}


async def rating_summary(session: AsyncSession, code: str) -> RatingSummary | None:
    """The recent-ratings average of agency ``code``; None when it was never rated."""
    agency = await get_agency(session, code)
    return (await rating_summaries(session, [agency.id])).get(agency.id)


async def agencies_with_ratings(session: AsyncSession, *, q: str = "") -> tuple[list[Agency], list[tuple]]:
    """The agencies matching ``q`` (code or name; all when empty) and every rating they have, newest
    first, as rows (agency code, score, comment, rater role, rated at, project code)."""
    agencies = select(Agency)
    if q.strip():
        agencies = agencies.where(Agency.code.ilike(f"%{q.strip()}%") | Agency.name.ilike(f"%{q.strip()}%"))
    found = list((await session.scalars(agencies)).all())
    rows = (await session.execute(
        select(Agency.code, AgencyRating.score, AgencyRating.comment, AgencyRating.rater_role,
               AgencyRating.rated_at, AgencyRating.project_code)
        .join(Agency, Agency.id == AgencyRating.agency_id).where(Agency.code.in_([a.code for a in found]))
        .order_by(AgencyRating.rated_at.desc(), AgencyRating.id.desc()))).all()
    return found, list(rows)


async def score_given(session: AsyncSession, *, agency_id: int, project_code: str, rater: str) -> int | None:
    """The score a rater (by audit name) gave the agency for the project, None when not yet rated."""
    return await session.scalar(select(AgencyRating.score).where(
        AgencyRating.agency_id == agency_id, AgencyRating.project_code == project_code, AgencyRating.rater == rater))
