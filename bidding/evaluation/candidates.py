"""The ranked candidates (中标候选人) a committee's report recommends.

Evaluation writes them when the report is signed (:func:`record_candidates`); candidate
publicity, the award and the result notices read them (:func:`ranked_candidates`). A
re-evaluation after an upheld complaint replaces them: earlier lists stay, superseded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Text, UniqueConstraint, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.tender.projects import Project
from trading.columns import created_at_column, timestamp_column
from trading.errors import InvalidInput


class Candidate(SQLModel, table=True):
    __tablename__ = "tender_candidates"
    __table_args__ = (UniqueConstraint("project_id", "round", "rank", name="tender_candidates_rank_once"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    # Evaluation round: 1, then 2 after an upheld complaint sends the tender back, ...
    round: int = Field(sa_column=Column(Integer, nullable=False))
    rank: int = Field(sa_column=Column(Integer, nullable=False))
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False))
    bid_id: int = Field(sa_column=Column(Integer, ForeignKey("bids.id"), nullable=False))
    price_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The final score as a decimal string (comprehensive scoring), or None (lowest price).
    score: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    recorded_at: datetime = Field(sa_column=created_at_column())
    superseded_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


@dataclass(frozen=True)
class RankedCandidate:
    organisation_id: int
    bid_id: int
    price_fen: int
    score: str | None = None


async def record_candidates(session: AsyncSession, project: Project, ranked: Sequence[RankedCandidate]) -> list[Candidate]:
    """Store the report's ranking (first = rank 1), superseding any earlier round's list."""
    if not ranked:
        raise InvalidInput("评标报告未推荐中标候选人", code="candidates_required", field="candidates")
    if len({c.organisation_id for c in ranked}) != len(ranked):
        raise InvalidInput("同一投标人不能重复列为中标候选人", code="duplicate_candidate", field="candidates")
    last_round = await session.scalar(
        select(func.max(Candidate.round)).where(Candidate.project_id == project.id)) or 0
    await session.execute(update(Candidate).where(Candidate.project_id == project.id, Candidate.superseded_at.is_(None))
                          .values(superseded_at=func.now()))
    rows = [Candidate(project_id=project.id, round=last_round + 1, rank=rank, organisation_id=c.organisation_id,
                      bid_id=c.bid_id, price_fen=c.price_fen, score=c.score)
            for rank, c in enumerate(ranked, start=1)]
    session.add_all(rows)
    await session.flush()
    return rows


async def ranked_candidates(session: AsyncSession, project_id: int) -> list[Candidate]:
    """The current (not superseded) candidates of a project, rank 1 first."""
    return list((await session.scalars(
        select(Candidate).where(Candidate.project_id == project_id, Candidate.superseded_at.is_(None))
        .order_by(Candidate.rank))).all())
