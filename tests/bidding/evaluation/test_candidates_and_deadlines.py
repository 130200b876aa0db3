"""The report's ranked candidates (a re-evaluation supersedes, never erases) and the
clocks the law sets on people (one open clock per act, met once, lateness recorded)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bidding.bids.submission import Bid
from bidding.evaluation.candidates import Candidate, RankedCandidate, ranked_candidates, record_candidates
from bidding.tender.deadlines import Deadline, meet_deadline, set_deadline
from tests.common import factories
from tests.common.opening import tender_with_bids
from tests.common.tenders import tender_project
from trading.audit import AuditEntry
from trading.database import database_now
from trading.errors import InvalidInput



async def test_a_second_round_supersedes_the_first_and_both_stay_on_record(demo, session, keys):
    tender, _ = await tender_with_bids(session, keys, [100_000_00, 90_000_00])
    bid_ids = (await session.scalars(select(Bid.id).where(Bid.project_id == tender.id)
                                     .order_by(Bid.id))).all()
    first, second = (await factories.organisation(session, "bidder")), (await factories.organisation(session, "bidder"))
    await record_candidates(session, tender, [RankedCandidate(first.id, bid_ids[0], 100_000_00, "91.50"),
                                              RankedCandidate(second.id, bid_ids[1], 90_000_00, "88.25")])
    assert [c.organisation_id for c in await ranked_candidates(session, tender.id)] == [first.id, second.id]

    await record_candidates(session, tender, [RankedCandidate(second.id, bid_ids[1], 90_000_00, "93.00")])
    current = await ranked_candidates(session, tender.id)
    assert [(c.round, c.rank, c.organisation_id) for c in current] == [(2, 1, second.id)]
    assert await session.scalar(select(func.count()).select_from(Candidate)
                                .where(Candidate.project_id == tender.id)) == 3


async def test_an_empty_or_repeated_ranking_is_refused(demo, session, keys):
    tender, _ = await tender_with_bids(session, keys, [100_000_00])
    bid_id = await session.scalar(select(Bid.id).where(Bid.project_id == tender.id))
    org = await factories.organisation(session, "bidder")
    with pytest.raises(InvalidInput):
        await record_candidates(session, tender, [])
    with pytest.raises(InvalidInput, match="重复"):
        await record_candidates(session, tender, [RankedCandidate(org.id, bid_id, 1, None)] * 2)


async def test_a_deadline_is_moved_not_doubled_and_met_late_is_recorded(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    now = await database_now(session)
    await set_deadline(session, project=tender, kind="refund", subject="deposit:1", due_at=now + timedelta(days=5),
                       rule="deposit_refund_after_contract_days", actor="test")
    await set_deadline(session, project=tender, kind="refund", subject="deposit:1", due_at=now - timedelta(days=1),
                       rule="deposit_refund_after_contract_days", actor="test")
    open_clocks = (await session.scalars(select(Deadline).where(Deadline.subject == "deposit:1"))).all()
    assert len(open_clocks) == 1 and open_clocks[0].due_at == now - timedelta(days=1)

    met = await meet_deadline(session, kind="refund", subject="deposit:1", actor="finance")
    assert met is not None and met.met_at > met.due_at
    assert await meet_deadline(session, kind="refund", subject="deposit:1", actor="finance") is None
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "deadline.met")
                                 .order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.data["late"] is True

    # Once met, the same act may get a new clock (e.g. a second refund round).
    await set_deadline(session, project=tender, kind="refund", subject="deposit:1", due_at=now + timedelta(days=5),
                       rule=None, actor="test")
    assert await session.scalar(select(func.count()).select_from(Deadline).where(Deadline.subject == "deposit:1")) == 2


async def test_an_unknown_kind_of_deadline_is_a_programming_error(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    with pytest.raises(ValueError):
        await set_deadline(session, project=tender, kind="lunch", subject="x", due_at=await database_now(session),
                           rule=None, actor="test")
