"""Helpers for the bidder workspace tests: tenders taking bids for the demo bidders, deposits
paid, the deadline passed and the opening started, each in its own committed transaction
(the pages and the browser read the same database)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bidding.settlement.deposits import confirm_deposit
from bidding.opening.proceedings import start_opening
from bidding.tender.projects import Project
from bidding.settlement.due_receipts import issue_due_receipts
from tests.common.tenders import tender_in_state
from trading.database import make_sessionmaker, transaction
from trading.keys import CenterKeys

LUJIAN = "91370800MA1234567Q"  # demo bidder1: no credit records, no deposit
HONGYUAN = "91370811MA23456788"  # demo bidder2: on the deposit negative list
PARTY = "12370800MB12345670"  # demo tendering party


async def tender_in_bidding(engine: AsyncEngine, keys: CenterKeys, *, prefix: str = "BW",
                            title: str = "济宁市第一人民医院综合楼施工") -> str:
    """A construction tender announced with its opening key and taking bids (deadline in 21 days),
    of the demo tendering party where the demo city is loaded."""
    async with transaction(make_sessionmaker(engine)) as session:
        tender = await tender_in_state(session, keys, "bidding", party_credit_code=PARTY, prefix=f"JN-2026-{prefix}",
                                       title=title)
        return tender.code


async def pay_deposit(engine: AsyncEngine, keys: CenterKeys, code: str, credit_code: str, amount_fen: int,
                      reference: str) -> None:
    """Finance confirms the deposit; its signed receipt is issued."""
    async with transaction(make_sessionmaker(engine)) as session:
        await confirm_deposit(session, actor="finance", project_code=code, bidder_credit_code=credit_code,
                              amount_fen=amount_fen, account="6222020200112233445", account_name="任城宏远建筑工程有限公司",
                              bank_reference=reference, value_date=date.today())
        await issue_due_receipts(session, keys, public_url="http://127.0.0.1:8000", project_code=code)


async def open_now(engine: AsyncEngine, keys: CenterKeys, code: str) -> None:
    """The bid deadline passes and the center starts the opening (the decryption window opens)."""
    async with transaction(make_sessionmaker(engine)) as session:
        await session.execute(update(Project).where(Project.code == code).values(
            bid_deadline=func.clock_timestamp() - timedelta(seconds=1)))
    async with transaction(make_sessionmaker(engine)) as session:
        await start_opening(session, keys, actor="admin", project_code=code)
