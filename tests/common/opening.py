"""The opening as bidders and the center go through it: a tender with sealed bids and its
deadline passed, a bidder's key half, the hand-in with the batch opener, the window closing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids import sealed_bid
from bidding.bids.submission import Bid
from bidding.opening.proceedings import PENDING, OpeningEntry, OpeningSession, hand_in_bidder_half, open_handed_in_bids
from bidding.tender.projects import Project
from tests.common import bids
from tests.common.tenders import tender_in_state


async def tender_with_bids(session: AsyncSession, keys, prices: list[int]):
    """A tender in bidding with one sealed bid per price; the deadline then passes."""
    tender = await tender_in_state(session, keys, "bidding", prices=prices, deadline_passed=True)
    return tender.project, tender.bidders


async def k_b_of(session: AsyncSession, tender: Project, code: str, signing_key) -> str:
    bid = await session.scalar(select(Bid).where(Bid.project_id == tender.id, Bid.bidder_credit_code == code,
                                                 Bid.status == "submitted"))
    return sealed_bid.open_bidder_half(bid.envelope, signing_key).hex()


async def hand_in_and_open(session: AsyncSession, keys, tender_code: str, code: str, k_b_hex: str) -> OpeningEntry:
    """A bidder's hand-in, then the batch opener as the app's worker runs it a moment later."""
    entry = await hand_in_bidder_half(session, keys, actor=code, project_code=tender_code, bidder_credit_code=code,
                                      k_b_hex=k_b_hex)
    assert entry.state == PENDING and entry.handed_in_at is not None
    await open_handed_in_bids(session, keys, tender_code)
    return entry


async def window_passes(session: AsyncSession, tender: Project) -> None:
    """Move the window and the deadline so that the decryption window is over by the database clock."""
    await session.execute(update(OpeningSession).where(OpeningSession.project_id == tender.id).values(
        window_ends_at=func.clock_timestamp() - timedelta(seconds=1)))
    await bids.deadline_passes(session, tender.code, ago=timedelta(minutes=31))
