"""Local experts instead of a partner city's: groups added to a committee whose remote
draw could not be made, each draw saying in its criteria which remote request it replaces."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from expert_pool.committees import (
    REQUEST_STEPS,
    WITNESSED,
    CommitteeDraw,
    CommitteeGroup,
    CommitteeRequest,
    _criteria,
    _pool_codes,
    call_drawn,
    drawn_codes,
)
from trading.audit import record_event
from trading.database import database_now
from trading.draws import Draw, commit_draw
from trading.errors import Conflict, NotFound
from trading.keys import CenterKeys
from trading.rules.store import RuleSetRecord


async def add_fallback_groups(session: AsyncSession, keys: CenterKeys, *, committee_request_id: int,
                              groups: list[tuple[str, int, int]], replaces: dict[str, Any], actor: str) -> list[Draw]:
    """Draw ``groups`` (specialty, count, reserves) from the local pool for the committee."""
    request = await session.get(CommitteeRequest, committee_request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise NotFound(f"未找到评标委员会抽取申请 {committee_request_id}")
    if not REQUEST_STEPS["add_groups"].allows(request.status) or request.starts_at <= await database_now(session):
        raise Conflict("评标已开始或已取消，不能再改抽本地专家", code="evaluation_started")
    rule_set = await session.get(RuleSetRecord, request.rule_set_id)
    taken = await drawn_codes(session, keys, request)
    position = await session.scalar(select(func.coalesce(func.max(CommitteeGroup.position) + 1, 0))
                                    .where(CommitteeGroup.request_id == request.id))
    draws = []
    for offset, (specialty, count, reserves) in enumerate(groups):
        group = CommitteeGroup(request_id=request.id, position=position + offset, specialty_code=specialty, count=count,
                               reserve_count=reserves)
        session.add(group)
        await session.flush()
        pool = await _pool_codes(session, request, rule_set, specialty, taken)
        taken.update(pool)
        draw = await commit_draw(
            session, keys, actor=actor, purpose="expert", project_code=request.project_code,
            criteria={**_criteria(request, group, rule_set), "fallback_for": replaces}, pool=pool, count=count,
            reserve_count=reserves, witness_required=bool(rule_set.value("expert_draw_witness_required", True)),
            unseal_at=request.starts_at)
        session.add(CommitteeDraw(group_id=group.id, draw_id=draw.draw_id))
        await session.flush()
        if draw.status == WITNESSED:
            await call_drawn(session, keys, draw)
        draws.append(draw)
    await record_event(session, actor=actor, action="committee.local_fallback", subject=f"committee:{request.id}",
                       data={"replaces": replaces, "draws": [d.draw_id for d in draws]})
    return draws
