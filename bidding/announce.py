"""Announcing a tender (统一信息发布): the ``announce`` step and the tender's opening key,
in the caller's one transaction, so no announced tender is ever without its public key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.lifecycle import apply_transition
from bidding.opening_keys import TenderOpeningKey, make_opening_key
from bidding.projects import Project
from trading.keys import CenterKeys


async def announce_tender(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                          bid_deadline: datetime, documents_issued_at: datetime | None = None
                          ) -> tuple[Project, TenderOpeningKey]:
    """Apply ``announce`` (rule-checked, locked, audited) and make the opening key."""
    facts = {"bid_deadline": bid_deadline, "documents_issued_at": documents_issued_at}
    project = await apply_transition(session, actor=actor, project_code=project_code, action="announce", facts=facts)
    key = await make_opening_key(session, keys, actor=actor, project_code=project.code)
    return project, key
