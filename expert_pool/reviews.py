"""The annual review of experts (每年重新审定): who is due, and the decision on each.

An expert whose ``next_review_due`` has passed is overdue and is not drawn
(:func:`expert_pool.availability.available_experts`) until the review is passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from expert_pool.experts import get_expert, one_year_after, set_expert_status, subject_of, today
from expert_pool.fields import ExpertStatus, check_reason
from expert_pool.models import Expert
from trading.audit import record_event
from trading.errors import Conflict, InvalidInput


class ReviewDecision(StrEnum):
    PASS = "pass"
    SUSPEND = "suspend"
    RETIRE = "retire"

    @property
    def label(self) -> str:
        return {"pass": "审定通过", "suspend": "暂停", "retire": "退出"}[self.value]


@dataclass(frozen=True)
class ReviewDue:
    expert: Expert
    overdue: bool
    days_left: int  # negative when overdue


async def list_review_due(session: AsyncSession, *, on_date: date | None = None,
                          within_days: int = 30) -> list[ReviewDue]:
    """Experts (not retired) whose review falls due within ``within_days`` of ``on_date``
    (default: today by the database clock), overdue ones first."""
    if within_days < 0:
        raise InvalidInput("提前天数不能为负数", code="invalid_days_ahead", field="within_days")
    day = on_date or await today(session)
    horizon = day + timedelta(days=within_days)
    experts = (await session.scalars(
        select(Expert)
        .where(Expert.status != ExpertStatus.RETIRED.value, Expert.next_review_due <= horizon)
        .order_by(Expert.next_review_due, Expert.code))).all()
    return [ReviewDue(expert=expert, overdue=expert.next_review_due < day,
                      days_left=(expert.next_review_due - day).days) for expert in experts]


async def review_expert(session: AsyncSession, *, actor: str, code: str, decision: str,
                        reason: str = "") -> Expert:
    """Record the annual review's decision.

    ``pass`` moves the next review one year on from the date it was due (an expert under
    review becomes active again); ``suspend`` and ``retire`` need a reason and change the
    expert's status.
    """
    try:
        choice = ReviewDecision(decision)
    except ValueError:
        raise InvalidInput(f"未知的审定结论「{decision}」：应为 pass、suspend 或 retire",
                           code="unknown_review_decision", field="decision") from None
    if choice is ReviewDecision.SUSPEND:
        return await set_expert_status(session, actor=actor, code=code, status=ExpertStatus.SUSPENDED.value,
                                       reason=reason, action="expert.review_suspended")
    if choice is ReviewDecision.RETIRE:
        return await set_expert_status(session, actor=actor, code=code, status=ExpertStatus.RETIRED.value,
                                       reason=reason, action="expert.review_retired")
    expert = await get_expert(session, code, for_update=True)
    if expert.status == ExpertStatus.RETIRED.value:
        raise Conflict(f"专家 {expert.code} 已退出专家库，不能审定", code="expert_retired", expert=expert.code)
    note = (reason or "").strip() or ReviewDecision.PASS.label
    previous = expert.next_review_due
    expert.next_review_due = one_year_after(previous)
    await session.flush()
    await record_event(session, actor=actor, action="expert.review_passed", subject=subject_of(expert),
                       data={"previous_due": previous.isoformat(), "next_review_due": expert.next_review_due.isoformat(),
                             "reason": note})
    if expert.status == ExpertStatus.UNDER_REVIEW.value:
        expert = await set_expert_status(session, actor=actor, code=expert.code, status=ExpertStatus.ACTIVE.value,
                                         reason=check_reason(note))
    return expert
