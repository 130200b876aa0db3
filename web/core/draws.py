"""Draws, the same for the API and the pages: the bidders a committee draw kept out."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from expert_pool.committees import CommitteeRequest, avoided_bidders


async def avoided_bidders_of(session: AsyncSession, draw) -> dict[str, Any] | None:
    """The bidders behind ``criteria.exclude_bidders_sha256``, once the draw is revealed
    (after the opening): before, the commit record names neither them nor their number."""
    request_id = draw.commit_record["criteria"].get("committee_request")
    if draw.reveal_record is None or "exclude_bidders_sha256" not in draw.commit_record["criteria"] or request_id is None:
        return None
    request = await session.get(CommitteeRequest, request_id)
    return avoided_bidders(request) if request is not None else None
