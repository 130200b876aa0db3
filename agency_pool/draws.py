"""Agency draws: one agency plus reserves per project, drawn by sealed-draw/1.

Held only when the tendering party asks for one (the law lets it choose its agency), so
its witness is the tendering party itself, or a supervisor at its request — never the
center alone. The result is revealed as soon as it is witnessed (no sealing period). The
drawn agency serves unless the tendering party declines it, which needs a recorded reason
and moves to the next reserve in order; with the reserves used up, a replacement draw
continues it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from agency_pool.agencies import Agency
from agency_pool.eligibility import eligible_agencies
from trading.audit import record_event
from trading.columns import created_at_column
from trading.draws import REVEALED, VOIDED, WITNESS_TENDERING_PARTY, Draw, commit_draw, get_draw
from trading.errors import Conflict, InvalidInput, NotFound
from trading.keys import CenterKeys


class AgencyDecline(SQLModel, table=True):
    """A tendering party's recorded refusal of a drawn agency, with its reason."""

    __tablename__ = "agency_declines"
    __table_args__ = (UniqueConstraint("draw_id", "agency_code", name="agency_declines_once"),)

    id: int | None = Field(default=None, primary_key=True)
    draw_id: str = Field(sa_column=Column(String(40), ForeignKey("draws.draw_id"), nullable=False, index=True))
    agency_code: str = Field(sa_column=Column(String(40), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    declined_by: str = Field(sa_column=Column(String(200), nullable=False))
    declined_at: datetime = Field(sa_column=created_at_column())


@dataclass(frozen=True)
class AgencyAssignment:
    draw_id: str
    agency: Agency | None  # None while the draw awaits its witness, or when all declined
    declined: list[str]
    remaining_reserves: list[str]


async def draw_agency(
    session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str, category: str,
    tendering_party_credit_code: str, reserve_count: int = 3, witness: str = WITNESS_TENDERING_PARTY,
    continues: str | None = None, region_code: str | None = None,
) -> Draw:
    """Draw an agency for a project from every eligible agency of the pool (credit
    restrictions scoped to the project's region and category included). ``witness`` is who
    supplies the witness value: the tendering party (or a supervisor it asks), or, where the
    rule set says so, a supervisor."""
    pool = await eligible_agencies(session, category=category, tendering_party_credit_code=tendering_party_credit_code,
                                   region_code=region_code)
    codes = [agency.code for agency in pool]
    if continues is not None:  # a replacement draw leaves out everyone the first one offered
        earlier = await get_draw(session, continues)
        offered = set((earlier.reveal_record or {}).get("selected", []) + (earlier.reveal_record or {}).get("reserves", []))
        codes = [code for code in codes if code not in offered]
    criteria = {"category": category, "exclude_orgs": [tendering_party_credit_code]}
    return await commit_draw(session, keys, actor=actor, purpose="agency", project_code=project_code, criteria=criteria,
                             pool=codes, count=1, reserve_count=reserve_count, witness_required=True,
                             witness=witness, continues=continues)


async def _latest_agency_draw(session: AsyncSession, project_code: str) -> Draw:
    draw = await session.scalar(
        select(Draw).where(Draw.project_code == project_code, Draw.purpose == "agency", Draw.status != VOIDED)
        .order_by(Draw.id.desc()).limit(1)
    )
    if draw is None:
        raise NotFound(f"项目 {project_code} 尚未抽取招标代理机构")
    return draw


async def agency_assignment(session: AsyncSession, project_code: str) -> AgencyAssignment:
    """Who serves the project now: the first drawn agency, in order, that was not declined."""
    draw = await _latest_agency_draw(session, project_code)
    if draw.status != REVEALED:
        return AgencyAssignment(draw.draw_id, None, [], [])
    order = draw.reveal_record["selected"] + draw.reveal_record["reserves"]
    declined = [row.agency_code for row in (await session.scalars(
        select(AgencyDecline).where(AgencyDecline.draw_id == draw.draw_id).order_by(AgencyDecline.id))).all()]
    remaining = [code for code in order if code not in declined]
    agency = await session.scalar(select(Agency).where(Agency.code == remaining[0])) if remaining else None
    return AgencyAssignment(draw.draw_id, agency, declined, remaining[1:])


async def decline_agency(session: AsyncSession, *, actor: str, project_code: str, reason: str) -> AgencyAssignment:
    """The tendering party declines the serving agency; the next reserve serves."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("拒绝抽中的代理机构必须说明理由", code="reason_required", field="reason")
    await get_draw(session, (await _latest_agency_draw(session, project_code)).draw_id, for_update=True)
    current = await agency_assignment(session, project_code)
    if current.agency is None:
        raise Conflict(f"项目 {project_code} 目前没有可拒绝的代理机构", code="nothing_to_decline")
    session.add(AgencyDecline(draw_id=current.draw_id, agency_code=current.agency.code, reason=reason, declined_by=actor))
    await session.flush()
    after = await agency_assignment(session, project_code)
    await record_event(session, actor=actor, action="agency_draw.declined", subject=f"draw:{current.draw_id}",
                       data={"project_code": project_code, "declined": current.agency.code, "reason": reason,
                             "next": after.agency.code if after.agency else None})
    return after
