"""Declared ties between an agency and a tendering party (关联关系).

An agency tied to a tendering party (a shareholding, a subsidiary, staff in common...)
may not be drawn for that party's projects. The party is named by its credit code and
need not be registered on the platform yet.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from agency_pool.agencies import get_agency
from agency_pool.validation import validate_reason
from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import Conflict
from trading.identifiers import validate_credit_code


class AgencyTie(SQLModel, table=True):
    __tablename__ = "agency_ties"
    __table_args__ = (UniqueConstraint("agency_id", "party_credit_code", name="agency_ties_agency_party"),)

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agencies.id"), nullable=False))
    party_credit_code: str = Field(sa_column=Column(String(18), nullable=False, index=True))
    reason: str = Field(sa_column=Column(String(500), nullable=False))
    declared_by: str = Field(sa_column=Column(String(200), nullable=False))
    declared_at: datetime = Field(sa_column=created_at_column())


async def declare_tie(session: AsyncSession, *, actor: str, code: str, party_credit_code: str, reason: str) -> AgencyTie:
    """Record that agency ``code`` is tied to the tendering party ``party_credit_code``."""
    party = validate_credit_code(party_credit_code)
    reason = validate_reason(reason)
    agency = await get_agency(session, code, for_update=True)
    existing = await session.scalar(select(AgencyTie.id).where(AgencyTie.agency_id == agency.id,
                                                               AgencyTie.party_credit_code == party))
    if existing is not None:
        raise Conflict(f"代理机构「{agency.code}」与统一社会信用代码 {party} 的单位的关联关系已申报",
                       code=agency.code, party_credit_code=party)
    tie = AgencyTie(agency_id=agency.id, party_credit_code=party, reason=reason, declared_by=actor)
    session.add(tie)
    await session.flush()
    await record_event(session, actor=actor, action="agency.tie_declared", subject=f"agency:{agency.code}",
                       data={"party_credit_code": party, "reason": reason})
    return tie


async def ties_of(session: AsyncSession, code: str) -> list[AgencyTie]:
    """The ties declared for agency ``code``, oldest first."""
    agency = await get_agency(session, code)
    query = select(AgencyTie).where(AgencyTie.agency_id == agency.id).order_by(AgencyTie.declared_at, AgencyTie.id)
    return list((await session.scalars(query)).all())
