"""Evaluation committees drawn from the expert pool: a pool, the session's window, the draws
witnessed, the members, and the session's start moved into the past as time would."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from expert_pool.committees import CommitteeDraw, CommitteeGroup, CommitteeMember, witness_committee_draw
from tests.common import factories
from trading.draws import COMMITTED, Draw


async def session_window(session, days: int = 3, hours: int = 4) -> tuple[datetime, datetime]:
    now = await session.scalar(select(func.now()))
    start = (now + timedelta(days=days)).replace(microsecond=0)
    return start, start + timedelta(hours=hours)


async def make_pool(session, size: int, specialty: str = "A0801") -> list[str]:
    return [(await factories.expert(session, specialties=[specialty])).code for _ in range(size)]


async def draws_of(session, request_id: int) -> list[Draw]:
    return list((await session.scalars(
        select(Draw).join(CommitteeDraw, CommitteeDraw.draw_id == Draw.draw_id).join(CommitteeGroup)
        .where(CommitteeGroup.request_id == request_id).order_by(CommitteeDraw.id))).all())


async def members(session, request_id: int) -> list[CommitteeMember]:
    return list((await session.scalars(select(CommitteeMember).where(CommitteeMember.request_id == request_id)
                                       .order_by(CommitteeMember.group_id, CommitteeMember.id)
                                       .execution_options(populate_existing=True))).all())


async def witness_all(session, keys, request_id: int) -> None:
    for draw in await draws_of(session, request_id):
        if draw.status == COMMITTED:
            await witness_committee_draw(session, keys, draw.draw_id, value="监督员 5521", by="user:7:supervisor")


async def start_session_now(session, request_id: int) -> None:
    # Move the session (and its draws' unseal moment) into the past, as time would.
    await session.execute(text("UPDATE committee_requests SET starts_at = now() - interval '1 minute', "
                               "ends_at = now() + interval '3 hours' WHERE id = :r"), {"r": request_id})
    await session.execute(text("UPDATE draws SET unseal_at = now() - interval '1 minute' WHERE draw_id IN "
                               "(SELECT cd.draw_id FROM committee_draws cd JOIN committee_groups g ON g.id = cd.group_id "
                               "WHERE g.request_id = :r)"), {"r": request_id})
