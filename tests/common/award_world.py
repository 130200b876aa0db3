"""Helpers for tests of publicity, complaints, award and contract: a tender with real sealed
bids taken to evaluation, the committee's candidates recorded (as evaluation does), and
time moved on for the tender."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announce import announce_tender
from bidding.evaluation.candidates import RankedCandidate, record_candidates
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, register_project
from tests.common import factories
from tests import test_bids as bids  # helpers only
from trading.database import database_now
from trading.keys import CenterKeys
from trading.organisations import Organisation

_codes = itertools.count(1)
PROCUREMENT = ("government_procurement", "public_tender")
CONSTRUCTION = ("construction", "open_tender")


@dataclass
class Tender:
    project: Project
    bidders: list[Organisation]  # in rank order of the candidates
    bid_ids: list[int]
    prices: list[int]

    @property
    def code(self) -> str:
        return self.project.code


async def tender_in_evaluation(session: AsyncSession, keys: CenterKeys, prices: list[int], *,
                               kind: tuple[str, str] = CONSTRUCTION, credit_codes: list[str] | None = None,
                               party_credit_code: str | None = None) -> Tender:
    """A tender with one sealed bid per price, opened and in evaluation (valid bids = len(prices))."""
    if party_credit_code is not None:
        party = await session.scalar(select(Organisation).where(Organisation.credit_code == party_credit_code))
    else:
        party = await factories.organisation(session, "tendering_party", name="济宁市第一人民医院")
    category, method = kind
    project = await register_project(session, actor="test", code=f"JN-2026-AW{next(_codes):04d}",
                                     title="济宁市测试综合楼工程", category=category, method=method,
                                     region_code="370800", tendering_party_id=party.id, estimate_fen=500_000_000)
    await announce_tender(session, keys, actor="test", project_code=project.code,
                          bid_deadline=await database_now(session) + timedelta(days=21),
                          documents=factories.tender_documents())
    await apply_transition(session, actor="test", project_code=project.code, action="open_bidding")
    codes = list(credit_codes or [])
    organisations, bid_ids = [], []
    for index, price in enumerate(prices):
        code, signing_key = await bids.bidder(session, project.code, codes[index] if index < len(codes) else None)
        _, ciphertext, envelope = await bids.sealed(session, project.code, code, signing_key, price_fen=price)
        receipt = await bids.submit(session, keys, project.code, code, envelope, ciphertext)
        bid_ids.append(receipt.bid_id)
        organisations.append(await session.scalar(select(Organisation).where(Organisation.credit_code == code)))
    await bids.deadline_passes(session, project.code, ago=timedelta(minutes=31))
    await apply_transition(session, actor="test", project_code=project.code, action="start_opening")
    project = await apply_transition(session, actor="test", project_code=project.code, action="start_evaluation",
                                     facts={"valid_bids": len(prices)})
    return Tender(project, organisations, bid_ids, list(prices))


async def report(session: AsyncSession, tender: Tender, scores: list[str | None] | None = None) -> None:
    """The committee's report: candidates ranked in the order the tender's bidders were made."""
    scores = scores or [None] * len(tender.bidders)
    await record_candidates(session, tender.project, [
        RankedCandidate(org.id, bid_id, price, score)
        for org, bid_id, price, score in zip(tender.bidders, tender.bid_ids, tender.prices, scores, strict=True)])


async def let_time_pass(session: AsyncSession, code: str, *, days: int = 0, minutes: int = 0) -> None:
    """Move the tender's stored times back: for the tender, the same as the clock moving on."""
    shift = timedelta(days=days, minutes=minutes)
    await session.execute(update(Project).where(Project.code == code).values(
        documents_issued_at=Project.documents_issued_at - shift, bid_deadline=Project.bid_deadline - shift,
        publicity_started_at=Project.publicity_started_at - shift, next_due_at=Project.next_due_at - shift))
