"""One builder for "a tender in state X": every test that needs a tender at some step of the
ordinary path asks :func:`tender_in_state`, which takes it there through the real services
(registration, the announcement with its documents and opening key, bidding, real sealed
bids, the deadline, the opening, evaluation, the published candidates)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import nacl.signing
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.publicity import publish_candidates
from bidding.evaluation.candidates import RankedCandidate, record_candidates
from bidding.evaluation.scheme import set_evaluation_scheme
from bidding.notice.announce import announce_tender
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, register_project
from bidding.tender.registrations import register_bidder
from bidding.tender.states import TenderState as S
from tests.common import factories
from tests.common.bids import bidder, deadline_passes, sealed, submit
from trading.database import database_now
from trading.keys import CenterKeys
from trading.organisations import Organisation

CONSTRUCTION = ("construction", "open_tender")
PROCUREMENT = ("government_procurement", "public_tender")
# The ordinary path, in order; a tender is built by walking it up to the state asked for.
PATH = (S.REGISTERED, S.ANNOUNCED, S.BIDDING, S.OPENING, S.EVALUATING, S.PUBLICITY)
_codes = itertools.count(1)

BeforeBid = Callable[[AsyncSession, str, str], Awaitable[Any]]


@dataclass
class Tender:
    project: Project
    bidders: list[tuple[str, nacl.signing.SigningKey]] = field(default_factory=list)  # (credit code, identity key)
    bid_ids: list[int] = field(default_factory=list)  # one per price, in order
    prices: list[int] = field(default_factory=list)
    admitted: list[Organisation] = field(default_factory=list)  # registered before the announcement

    @property
    def code(self) -> str:
        return self.project.code


async def tender_in_state(session: AsyncSession, keys: CenterKeys | None, state: S | str, *,
                          prices: Sequence[int] = (), credit_codes: Sequence[str] = (), before_bid: BeforeBid | None = None,
                          deadline_passed: bool = False, deadline_ago: timedelta = timedelta(seconds=1),
                          party: Organisation | None = None, party_credit_code: str | None = None,
                          party_name: str | None = None, code: str | None = None, prefix: str = "JN-2026-GC-B",
                          title: str = "济宁市测试道路工程", kind: tuple[str, str] = CONSTRUCTION,
                          estimate_fen: int = 86_500_000_00, admitted: int = 0, days: int = 21,
                          scheme: Mapping[str, Any] | None = None, scores: Sequence[str | None] | None = None) -> Tender:
    """A tender taken along the ordinary path until it is in ``state``.

    - ``registered``: the project of ``party`` (found by ``party_credit_code``, or a new tendering
      party), with ``admitted`` bidders registered at once;
    - ``announced``: announced with its documents (the opening key made), the deadline in ``days``;
      ``scheme`` (an evaluation scheme) is fixed then;
    - ``bidding``: bidding open; one real sealed bid per price, by a new bidder (or the next of
      ``credit_codes``) registered with its identity key, after ``before_bid`` (a deposit, say);
      with ``deadline_passed`` the deadline is then ``deadline_ago`` in the past;
    - ``opening``: the deadline passed (``deadline_ago``), the tender's step to the opening taken
      (the opening's own proceedings are tests.common.opening's);
    - ``evaluating``: the step to evaluation with every bid valid;
    - ``publicity``: the committee's candidates recorded in price order (with ``scores``) and published.
    """
    state = S(state)
    if state not in PATH:
        raise ValueError(f"no ordinary path to {state}")
    steps = PATH[: PATH.index(state) + 1]
    if party is None and party_credit_code is not None:
        party = await session.scalar(select(Organisation).where(Organisation.credit_code == party_credit_code))
    if party is None:
        party = await factories.organisation(session, "tendering_party", name=party_name)
    category, method = kind
    project = await register_project(session, actor="test", code=code or f"{prefix}{next(_codes):04d}", title=title,
                                     category=category, method=method, region_code="370800",
                                     tendering_party_id=party.id, estimate_fen=estimate_fen)
    tender = Tender(project)
    for _ in range(admitted):
        organisation = await factories.organisation(session, "bidder")
        await register_bidder(session, actor="test", project_code=project.code, bidder_credit_code=organisation.credit_code)
        tender.admitted.append(organisation)
    if S.ANNOUNCED in steps:
        await announce_tender(session, keys, actor="test", project_code=project.code,
                              bid_deadline=await database_now(session) + timedelta(days=days),
                              documents=factories.tender_documents())
        if scheme is not None:
            await set_evaluation_scheme(session, actor="agency", project_code=project.code, scheme=dict(scheme))
    if S.BIDDING in steps:
        tender.project = await apply_transition(session, actor="test", project_code=project.code, action="open_bidding")
        for index, price in enumerate(prices):
            credit_code, signing_key = await bidder(session, project.code,
                                                    credit_codes[index] if index < len(credit_codes) else None)
            if before_bid is not None:
                await before_bid(session, project.code, credit_code)
            _, ciphertext, envelope = await sealed(session, project.code, credit_code, signing_key, price_fen=price)
            receipt = await submit(session, keys, project.code, credit_code, envelope, ciphertext)
            tender.bidders.append((credit_code, signing_key))
            tender.bid_ids.append(receipt.bid_id)
            tender.prices.append(price)
        if deadline_passed or S.OPENING in steps:
            await deadline_passes(session, project.code, ago=deadline_ago)
    if S.OPENING in steps:
        tender.project = await apply_transition(session, actor="test", project_code=project.code, action="start_opening")
    if S.EVALUATING in steps:
        tender.project = await apply_transition(session, actor="test", project_code=project.code,
                                                action="start_evaluation", facts={"valid_bids": len(prices)})
    if S.PUBLICITY in steps:
        organisations = [await session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))
                         for credit_code, _ in tender.bidders]
        await record_ranking(session, tender.project, organisations, tender.bid_ids, tender.prices, scores)
        await publish_candidates(session, actor="admin", project_code=project.code)
    return tender


async def record_ranking(session: AsyncSession, project: Project, organisations: Sequence[Organisation],
                         bid_ids: Sequence[int], prices: Sequence[int], scores: Sequence[str | None] | None = None) -> None:
    """The committee's report: the bidders ranked in the order given (as evaluation records it)."""
    await record_candidates(session, project, [
        RankedCandidate(organisation.id, bid_id, price, score) for organisation, bid_id, price, score
        in zip(organisations, bid_ids, prices, scores or [None] * len(organisations), strict=True)])


async def tender_project(session: AsyncSession, keys: CenterKeys | None, state: S | str, **options: Any) -> Project:
    """The project of :func:`tender_in_state`, for tests that need no more."""
    return (await tender_in_state(session, keys, state, **options)).project
