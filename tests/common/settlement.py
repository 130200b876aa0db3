"""Deposits and their refunds: a deposit confirmed by finance, a tender whose bidders paid and
bid, the opening run, the tender awarded, the refunds written."""

from __future__ import annotations

import itertools
from datetime import date

import nacl.utils
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.submission import Bid
from bidding.evaluation.candidates import RankedCandidate, record_candidates
from bidding.opening.proceedings import finish_opening, hand_in_bidder_half, sign_in, start_opening
from bidding.settlement.deposits import confirm_deposit
from bidding.tender.projects import Project
from tests.common import opening
from tests.common.tenders import tender_in_state
from trading.ledger import LedgerDeposit, LedgerRefund
from trading.organisations import Organisation

_references = itertools.count(1)


async def pay_deposit(session: AsyncSession, project_code: str, bidder: str, amount_fen: int = 20_000_000,
                      account: str | None = None, value_date: date = date(2026, 1, 5)) -> LedgerDeposit:
    serial = next(_references)
    return await confirm_deposit(session, actor="test:finance", project_code=project_code, bidder_credit_code=bidder,
                                 amount_fen=amount_fen, account=account or f"62220237{serial:08d}",
                                 account_name=f"缴款户{serial}", bank_reference=f"R{serial:06d}",
                                 value_date=value_date)


async def tender_with_paid_bids(session, keys, prices: list[int]) -> tuple[Project, list[tuple[str, object]]]:
    """A construction tender in bidding; each bidder pays a deposit and bids; the deadline passes."""
    tender = await tender_in_state(session, keys, "bidding", prices=prices, deadline_passed=True,
                                   before_bid=lambda session, code, bidder: pay_deposit(session, code, bidder))
    return tender.project, tender.bidders


async def open_bids(session, keys, tender: Project, bidders, *, revoked: set[str] = frozenset()) -> dict:
    """Run the opening: every bidder signs in; those in ``revoked`` hand in a wrong key half."""
    await start_opening(session, keys, actor="admin", project_code=tender.code)
    for code, signing_key in bidders:
        await sign_in(session, actor=code, project_code=tender.code, bidder_credit_code=code)
        k_b = nacl.utils.random(32).hex() if code in revoked else await opening.k_b_of(session, tender, code, signing_key)
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=k_b)
    await opening.window_passes(session, tender)
    return await finish_opening(session, actor="admin", project_code=tender.code, keys=keys)  # opens the hand-ins


async def award(session, tender: Project, ranked: list[str]) -> Project:
    """Record the ranking (bidders' current bids) and put the tender in ``awarded`` (publicity elapsed)."""
    candidates = []
    for code in ranked:
        organisation = await session.scalar(select(Organisation).where(Organisation.credit_code == code))
        bid = await session.scalar(select(Bid).where(Bid.project_id == tender.id, Bid.bidder_credit_code == code,
                                                     Bid.status == "submitted"))
        candidates.append(RankedCandidate(organisation.id, bid.id, 99_000_000))
    await record_candidates(session, tender, candidates)
    await session.execute(update(Project).where(Project.id == tender.id).values(state="awarded", next_due_at=None))
    await session.refresh(tender)
    return tender


async def refunds_of(session, project_code: str) -> dict[str, LedgerRefund]:
    rows = (await session.scalars(select(LedgerRefund).where(LedgerRefund.project_code == project_code))).all()
    return {refund.bidder_credit_code: refund for refund in rows}
