"""Ratings of experts after each evaluation, and dynamic management (动态管理).

The tendering party and the supervisors rate each expert of a committee (0-100). After a
rating, the pinned rule set decides whether the expert is suspended automatically:

- ``expert_rating_suspend_at_or_below``: one rating at or below this score suspends;
- ``expert_rating_suspend_below_average`` over the last ``expert_rating_window`` ratings:
  once the expert has at least that many ratings, an average below the threshold
  suspends. The comparison is exact (sum < threshold × window), never in floats.

The suspension names the rule, the rule set and the numbers in its audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, UniqueConstraint, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from expert_pool.experts import get_expert, set_expert_status, subject_of
from expert_pool.fields import ExpertStatus
from expert_pool.models import Expert
from trading.accounts import User
from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import ConfigurationError, Conflict, InvalidInput, NotFound, PermissionDenied
from trading.roles import UserRole
from trading.rules.store import RuleSetRecord

RATER_ROLES = (UserRole.TENDERING_PARTY.value, UserRole.SUPERVISOR.value)
RATER_ROLE_VALUES = ", ".join(f"'{role}'" for role in RATER_ROLES)
MIN_SCORE, MAX_SCORE = 0, 100

WINDOW_RULE = "expert_rating_window"
AVERAGE_RULE = "expert_rating_suspend_below_average"
FLOOR_RULE = "expert_rating_suspend_at_or_below"


class ExpertRating(SQLModel, table=True):
    __tablename__ = "expert_ratings"
    __table_args__ = (
        CheckConstraint(f"score BETWEEN {MIN_SCORE} AND {MAX_SCORE}", name="expert_ratings_score_range"),
        CheckConstraint(f"rater_role IN ({RATER_ROLE_VALUES})", name="expert_ratings_rater_role_known"),
        UniqueConstraint("expert_id", "project_code", "rater_user_id", name="expert_ratings_once_per_rater"),
    )

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id", ondelete="CASCADE"), nullable=False,
                                            index=True))
    # The project's public code; bidding/ sits above the pools, so no foreign key to it.
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    rater_user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), nullable=False))
    rater_role: str = Field(sa_column=Column(String(32), nullable=False))
    score: int = Field(sa_column=Column(Integer, nullable=False))
    comment: str = Field(default="", sa_column=Column(String(1000), nullable=False, server_default=text("''")))
    created_at: datetime = Field(sa_column=created_at_column())


@dataclass(frozen=True)
class RatingOutcome:
    rating: ExpertRating
    suspended: bool
    rule: str | None = None  # the rule that suspended the expert
    reason: str | None = None


def _rule_value(rule_set: RuleSetRecord, key: str) -> int:
    try:
        return int(rule_set.value(key))
    except NotFound:
        raise ConfigurationError(
            f"规则集 {rule_set.code} {rule_set.version} 未设置评标专家动态管理规则「{key}」，无法记录评价",
            rule_set=rule_set.code, version=rule_set.version, rule=key) from None


async def rate_expert(
    session: AsyncSession,
    *,
    actor: str,
    rule_set: RuleSetRecord,
    expert_code: str,
    project_code: str,
    rater_user_id: int,
    rater_role: str,
    score: int,
    comment: str = "",
) -> RatingOutcome:
    """Record one rating and apply the rule set's dynamic-management thresholds.

    ``rule_set`` is the rule set pinned on the rated project. The rater must be an active
    user of ``rater_role`` (tendering party or supervisor) and rates an expert once per
    project. Whether the rater belongs to the project is checked by the caller (bidding/).
    """
    if rater_role not in RATER_ROLES:
        raise InvalidInput("评价人角色应为招标人/采购人或监督人员", code="unknown_rater_role", field="rater_role")
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidInput(f"评分应为 {MIN_SCORE} 到 {MAX_SCORE} 之间的整数", code="invalid_score", field="score")
    project = (project_code or "").strip()
    if not project or len(project) > 40:
        raise InvalidInput("项目编号不能为空，且不超过40个字符", code="invalid_project_code", field="project_code")
    window = _rule_value(rule_set, WINDOW_RULE)
    average_floor = _rule_value(rule_set, AVERAGE_RULE)
    single_floor = _rule_value(rule_set, FLOOR_RULE)

    rater = await session.get(User, rater_user_id)
    if rater is None or not rater.is_active:
        raise NotFound("评价人账号不存在或已停用", field="rater_user_id")
    if rater.role != rater_role:
        raise PermissionDenied(f"评价人的角色不是「{UserRole(rater_role).label}」",
                               code="rater_role_mismatch", field="rater_role")
    expert = await get_expert(session, expert_code, for_update=True)
    duplicate = await session.scalar(select(ExpertRating.id).where(
        ExpertRating.expert_id == expert.id, ExpertRating.project_code == project,
        ExpertRating.rater_user_id == rater_user_id))
    if duplicate:
        raise Conflict(f"已对专家 {expert.code} 在项目 {project} 中的表现作过评价", code="already_rated", project_code=project)

    rating = ExpertRating(expert_id=expert.id, project_code=project, rater_user_id=rater_user_id,
                          rater_role=rater_role, score=score, comment=(comment or "").strip()[:1000])
    session.add(rating)
    await session.flush()
    await record_event(session, actor=actor, action="expert.rated", subject=subject_of(expert),
                       data={"project_code": project, "rater_role": rater_role, "score": score,
                             "rule_set": f"{rule_set.code}@{rule_set.version}"})

    rule, reason, numbers = None, None, {}
    if score <= single_floor:
        rule = FLOOR_RULE
        reason = f"项目 {project} 评分 {score} 分，不高于下限 {single_floor} 分"
        numbers = {"score": score, "threshold": single_floor}
    else:
        recent = list((await session.scalars(
            select(ExpertRating.score).where(ExpertRating.expert_id == expert.id)
            .order_by(ExpertRating.created_at.desc(), ExpertRating.id.desc()).limit(window))).all())
        if len(recent) >= window and sum(recent) < average_floor * window:
            rule = AVERAGE_RULE
            reason = f"最近 {window} 次评分合计 {sum(recent)} 分，平均低于 {average_floor} 分"
            numbers = {"scores": recent, "window": window, "threshold": average_floor}

    if rule is None or expert.status != ExpertStatus.ACTIVE.value:
        return RatingOutcome(rating=rating, suspended=False)
    full_reason = f"动态管理自动暂停：{reason}（规则 {rule}，规则集 {rule_set.code} {rule_set.version}）"
    await set_expert_status(session, actor=actor, code=expert.code, status=ExpertStatus.SUSPENDED.value,
                            reason=full_reason, action="expert.auto_suspended",
                            extra={"rule": rule, "rule_set": f"{rule_set.code}@{rule_set.version}",
                                   "rating_id": rating.id, **numbers})
    return RatingOutcome(rating=rating, suspended=True, rule=rule, reason=full_reason)


async def ratings_of(session: AsyncSession, expert_code: str) -> list[ExpertRating]:
    expert = await get_expert(session, expert_code)
    return list((await session.scalars(select(ExpertRating).where(ExpertRating.expert_id == expert.id)
                                       .order_by(ExpertRating.created_at, ExpertRating.id))).all())


async def experts_with_ratings(session: AsyncSession, *, q: str = "") -> tuple[list[Expert], list[tuple]]:
    """The experts matching ``q`` (code or name; all when empty) and every rating they have, newest
    first, as rows (expert code, score, comment, rater role, rated at, project code)."""
    experts = select(Expert)
    if q.strip():
        experts = experts.where(Expert.code.ilike(f"%{q.strip()}%") | Expert.name.ilike(f"%{q.strip()}%"))
    found = list((await session.scalars(experts)).all())
    rows = (await session.execute(
        select(Expert.code, ExpertRating.score, ExpertRating.comment, ExpertRating.rater_role,
               ExpertRating.created_at, ExpertRating.project_code)
        .join(Expert, Expert.id == ExpertRating.expert_id).where(Expert.code.in_([e.code for e in found]))
        .order_by(ExpertRating.created_at.desc(), ExpertRating.id.desc()))).all()
    return found, list(rows)


async def scores_given(session: AsyncSession, *, project_code: str, rater_user_id: int) -> dict[int, int]:
    """The scores a rater gave the experts of a project, by expert id."""
    return dict((await session.execute(
        select(ExpertRating.expert_id, ExpertRating.score)
        .where(ExpertRating.project_code == project_code, ExpertRating.rater_user_id == rater_user_id))).all())
