"""Helpers for tests of publicity, complaints, award and contract: a tender with real sealed
bids taken to evaluation or publicity (tests.common.tenders), the committee's candidates
recorded (as evaluation does), and time moved on for the tender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import choose_winner, issue_award_notice
from bidding.tender.chronograph import run_due_steps
from bidding.tender.projects import Project
from bidding.tender.states import TenderState as S
from tests.common import tenders
from tests.common.tenders import record_ranking, tender_in_state
from trading.database import database_now
from trading.keys import CenterKeys
from trading.organisations import Organisation

CONSTRUCTION, PROCUREMENT = tenders.CONSTRUCTION, tenders.PROCUREMENT
# The tenders of these tests: a hospital's building, bids opened half an hour ago.
DEFAULTS = dict(prefix="JN-2026-AW", title="济宁市测试综合楼工程", party_name="济宁市第一人民医院",
                estimate_fen=500_000_000, deadline_ago=timedelta(minutes=31))


@dataclass
class Tender:
    project: Project
    bidders: list[Organisation]  # in rank order of the candidates
    bid_ids: list[int]
    prices: list[int]

    @property
    def code(self) -> str:
        return self.project.code


async def tender_in_evaluation(session: AsyncSession, keys: CenterKeys, prices: list[int], **options) -> Tender:
    """A tender with one sealed bid per price, opened and in evaluation (valid bids = len(prices));
    ``options`` as :func:`tests.common.tenders.tender_in_state` takes them (kind, credit_codes,
    party_credit_code)."""
    return await _award_tender(session, await tender_in_state(session, keys, S.EVALUATING, prices=prices,
                                                              **(DEFAULTS | options)))


async def tender_in_publicity(session: AsyncSession, keys: CenterKeys, prices: list[int], **options) -> Tender:
    """The same tender with the committee's candidates (in price order, with ``scores``) published."""
    return await _award_tender(session, await tender_in_state(session, keys, S.PUBLICITY, prices=prices,
                                                              **(DEFAULTS | options)))


async def _award_tender(session: AsyncSession, built: tenders.Tender) -> Tender:
    organisations = [await session.scalar(select(Organisation).where(Organisation.credit_code == code))
                     for code, _ in built.bidders]
    return Tender(built.project, organisations, built.bid_ids, built.prices)


async def report(session: AsyncSession, tender: Tender, scores: list[str | None] | None = None) -> None:
    """The committee's report: candidates ranked in the order the tender's bidders were made."""
    await record_ranking(session, tender.project, tender.bidders, tender.bid_ids, tender.prices, scores)


async def let_time_pass(session: AsyncSession, code: str, *, days: int = 0, minutes: int = 0) -> None:
    """Move the tender's stored times back: for the tender, the same as the clock moving on."""
    shift = timedelta(days=days, minutes=minutes)
    await session.execute(update(Project).where(Project.code == code).values(
        documents_issued_at=Project.documents_issued_at - shift, bid_deadline=Project.bid_deadline - shift,
        publicity_started_at=Project.publicity_started_at - shift, next_due_at=Project.next_due_at - shift))


async def award(session, keys, prices: list[int], kind=CONSTRUCTION) -> str:
    """A tender taken through evaluation and publicity to its award notice (with the winner
    chosen, for procurement); its code."""
    tender = await tender_in_publicity(session, keys, prices, kind=kind)
    if kind == CONSTRUCTION:
        await let_time_pass(session, tender.code, days=4)
    else:  # no publicity period for procurement: the chronograph awards once due, the purchaser chooses
        await session.execute(update(Project).where(Project.code == tender.code)
                              .values(next_due_at=(await database_now(session)) - timedelta(seconds=1)))
    assert (tender.code, "award") in await run_due_steps(session)
    if kind != CONSTRUCTION:
        await choose_winner(session, actor="tenderer", project_code=tender.code, rank=1, reason="排名第一")
    await issue_award_notice(session, keys, actor="admin", project_code=tender.code, public_url="https://ggzy.example.cn")
    return tender.code
