"""Deadlines the law sets on people (电子监察): refund, award notice, contract, complaint answer.

Services that start a clock call :func:`set_deadline`; the service that does the act calls
:func:`meet_deadline`. The deadline watch (yellow card when near, red when missed) reads
this table; it never decides what is due, only whether it was done in time.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.tender.projects import Project
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now

# kind → what must be done (Chinese, shown to supervisors).
DEADLINE_KINDS = MappingProxyType({
    "refund": "退还投标保证金",
    "award_notice": "发出中标通知书",
    "contract": "签订书面合同",
    "complaint_acceptance": "决定是否受理投诉",
    "complaint_answer": "作出投诉处理决定",
    "docs_objection_answer": "答复对招标文件的异议",
    "candidate_objection_answer": "答复对评标结果的异议",
})

NO_CARD, YELLOW, RED = "none", "yellow", "red"


class Deadline(SQLModel, table=True):
    __tablename__ = "deadlines"
    __table_args__ = (
        # One open clock per act and subject: setting it again moves it.
        Index("deadlines_open_once", "kind", "subject", unique=True, postgresql_where=text("met_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    # What the act is about, e.g. "deposit:17", "complaint:3", "project:JN-2026-001".
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    due_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    # The rule key in the project's rule set that sets the period (its source is shown).
    rule: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    set_at: datetime = Field(sa_column=created_at_column())
    met_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    card: str = Field(default=NO_CARD, sa_column=Column(String(8), nullable=False, server_default=NO_CARD))
    carded_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # Reckoned on a year whose holiday notice was not loaded yet (trading.rules.calendar):
    # shown as provisional, recomputed (never earlier) when the official year is loaded.
    provisional: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    # The period the due time was reckoned from, so that it can be reckoned again.
    starts_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    period_value: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    period_unit: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))


async def set_deadline(
    session: AsyncSession, *, project: Project, kind: str, subject: str, due_at: datetime, rule: str | None, actor: str,
    provisional: bool = False, starts_at: datetime | None = None, period: tuple[int, str] | None = None,
) -> Deadline:
    """Start (or move) the clock for one act; audited. ``period`` (value, unit) and
    ``starts_at`` say how ``due_at`` was reckoned, for a provisional one to be reckoned again."""
    if kind not in DEADLINE_KINDS:
        raise ValueError(f"unknown deadline kind {kind!r}")
    value, unit = period if period is not None else (None, None)
    deadline = await session.scalar(select(Deadline).where(
        Deadline.kind == kind, Deadline.subject == subject, Deadline.met_at.is_(None)).with_for_update())
    if deadline is None:
        deadline = Deadline(project_id=project.id, kind=kind, subject=subject, due_at=due_at, rule=rule)
        session.add(deadline)
    deadline.due_at, deadline.rule, deadline.provisional = due_at, rule, provisional
    deadline.starts_at, deadline.period_value, deadline.period_unit = starts_at, value, unit
    await session.flush()
    await record_event(session, actor=actor, action="deadline.set", subject=subject,
                       data={"project": project.code, "kind": kind, "due_at": due_at.isoformat(), "rule": rule,
                             "provisional": provisional})
    return deadline


async def meet_deadline(session: AsyncSession, *, kind: str, subject: str, actor: str) -> Deadline | None:
    """Stop the clock: the act was done (late or not; a red card stays on the record)."""
    deadline = await session.scalar(select(Deadline).where(
        Deadline.kind == kind, Deadline.subject == subject, Deadline.met_at.is_(None)).with_for_update())
    if deadline is None:
        return None
    deadline.met_at = await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="deadline.met", subject=subject,
                       data={"kind": kind, "due_at": deadline.due_at.isoformat(), "late": deadline.met_at > deadline.due_at})
    return deadline


async def deadlines_of(session: AsyncSession, project: Project) -> list[Deadline]:
    """The project's deadlines, soonest first."""
    return list((await session.scalars(select(Deadline).where(Deadline.project_id == project.id)
                                       .order_by(Deadline.due_at))).all())
