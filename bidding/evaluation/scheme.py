"""The evaluation scheme a tender's documents fix (method and scores, :mod:`bidding.evaluation.scoring`):
set while the tender is ``registered`` or ``announced``, frozen from the start of bidding
(招标投标法 第四十条: the committee evaluates by the standards and method the documents fix)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.evaluation.rounds import subject
from bidding.evaluation.scoring import EvaluationScheme
from bidding.tender.projects import get_project
from bidding.tender.states import STATE_NAMES, TenderState
from trading.audit import record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict

# Tender states in which the scheme may still be set: the documents are not yet out for bids.
SCHEME_OPEN_STATES = frozenset({TenderState.REGISTERED, TenderState.ANNOUNCED})


class EvaluationSchemeRecord(SQLModel, table=True):
    """The scheme a tender's documents fix (JSON of :class:`bidding.evaluation.scoring.EvaluationScheme`)."""

    __tablename__ = "evaluation_schemes"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    scheme: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    set_by: str = Field(sa_column=Column(String(200), nullable=False))
    set_at: datetime = Field(sa_column=timestamp_column(nullable=False))


async def set_evaluation_scheme(session: AsyncSession, *, actor: str, project_code: str,
                                scheme: Mapping[str, Any]) -> EvaluationSchemeRecord:
    """Fix the tender's evaluation method and scores; only before bidding starts."""
    parsed = EvaluationScheme.from_json(scheme)
    project = await get_project(session, project_code, lock=True)
    if project.state not in SCHEME_OPEN_STATES:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，招标文件已发出投标，评标办法已固定，不得更改"
                       f"（招标投标法 第四十条：评标委员会应当按照招标文件确定的评标标准和方法评标）",
                       code="scheme_frozen", project=project.code, state=project.state)
    now = await database_now(session)
    record = await session.scalar(select(EvaluationSchemeRecord).where(EvaluationSchemeRecord.project_id == project.id))
    if record is None:
        record = EvaluationSchemeRecord(project_id=project.id, scheme=parsed.to_json(), set_by=actor, set_at=now)
        session.add(record)
    else:
        record.scheme, record.set_by, record.set_at = parsed.to_json(), actor, now
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.scheme_set", subject=subject(project),
                       data={"scheme": record.scheme})
    return record


async def evaluation_scheme(session: AsyncSession, project_code: str) -> EvaluationScheme | None:
    project = await get_project(session, project_code)
    record = await session.scalar(select(EvaluationSchemeRecord).where(EvaluationSchemeRecord.project_id == project.id))
    return EvaluationScheme.from_json(record.scheme) if record else None
