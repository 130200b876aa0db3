"""Sealed bids as a bidder makes them with the real sealed-bid/1 protocol: a registered bidder
with its identity key, a sealed package, the submission, and the deadline passing."""

from __future__ import annotations

from datetime import timedelta

import nacl.signing
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids import sealed_bid
from bidding.bids.opening_keys import opening_public_key
from bidding.bids.submission import submit_bid
from bidding.tender.projects import Project
from bidding.tender.registrations import register_bidder
from tests.common import factories

HONGYUAN = "91370811MA23456788"  # demo bidder2: on the deposit negative list
LUJIAN = "91370800MA1234567Q"  # demo bidder1: no records

async def bidder(session: AsyncSession, project_code: str, credit_code: str | None = None, *,
                 register: bool = True) -> tuple[str, nacl.signing.SigningKey]:
    """A bidder registered for the tender with its own identity key registered."""
    if credit_code is None:
        credit_code = (await factories.organisation(session, "bidder")).credit_code
    if register:
        await register_bidder(session, actor="test", project_code=project_code, bidder_credit_code=credit_code)
    signing_key = sealed_bid.make_bidder_key()
    await factories.bidder_key(session, credit_code, signing_key)
    return credit_code, signing_key


async def sealed(session: AsyncSession, project_code: str, bidder_code: str, signing_key, price_fen: int = 123_456_700):
    """A bid package sealed to the tender's opening key: (payload, ciphertext, envelope)."""
    payload = sealed_bid.make_package({"price_fen": price_fen, "duration_days": 180}, {"技术标.txt": "施工组织设计".encode()})
    public = await opening_public_key(session, project_code)
    ciphertext, envelope = sealed_bid.seal(payload, project_code, bidder_code, public, signing_key)
    return payload, ciphertext, envelope


async def submit(session, keys, project_code, bidder_code, envelope, ciphertext, **extra):
    return await submit_bid(session, keys, actor="test", project_code=project_code, bidder_credit_code=bidder_code,
                            envelope=envelope, ciphertext=ciphertext, **extra)


async def deadline_passes(session: AsyncSession, project_code: str, ago: timedelta = timedelta(seconds=1)) -> None:
    """Move the deadline into the past (``ago`` before the database clock now)."""
    await session.execute(update(Project).where(Project.code == project_code).values(
        bid_deadline=func.clock_timestamp() - ago))
