"""Group commit of sealed bids (bidding.bids.submission.submit_bids, bidding.bids.intake.BidIntake) on a
real PostgreSQL: a batch refuses a bad bid alone and receipts the others with consecutive
sequence numbers and one audit entry each; a batch overtaken by the deadline while it waits
for the tender's sequence lock is refused whole and leaves no row behind; a bid can never be
committed 'pending'; a rush through one BidIntake is stored in batches with gapless
sequences, every receipt verifying, a bidder's two bids ordered (the later one current) and a
doubled envelope stored once; and a batch that fails as a whole is stored bid by bid."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from bidding.bids import sealed_bid
from bidding.bids.intake import BidIntake
from bidding.bids.bidder_keys import BidderKey
from bidding.bids.submission import (BID_SEQUENCE_LOCK, PENDING, SUBMITTED, SUPERSEDED, Bid, BidSubmission, SignedReceipt,
                          submit_bids)
from bidding.tender.projects import Project
from bidding.tender.registrations import Registration
from tests.common.bids import bidder, sealed
from tests.common.tenders import tender_project
from trading.audit import AuditEntry, verify_audit_log
from trading.database import make_sessionmaker, transaction
from trading.errors import RuleViolation
from trading.organisations import Organisation


async def offer(session, project_code, who, price_fen: int = 123_456_700) -> BidSubmission:
    """A freshly sealed bid of ``who`` (credit code, signing key) for the tender."""
    code, signing_key = who
    _, ciphertext, envelope = await sealed(session, project_code, code, signing_key, price_fen)
    return BidSubmission(actor="test", envelope=envelope, ciphertext=ciphertext, bidder_credit_code=code)


def receipted(outcome, submission: BidSubmission, keys) -> SignedReceipt:
    """``outcome`` is a receipt the bidder can verify under the center key for its envelope."""
    assert isinstance(outcome, SignedReceipt), outcome
    sealed_bid.verify_receipt(outcome.record, outcome.signature, keys.verify_key_hex, submission.envelope)
    return outcome


async def bids_of(session, project_id: int) -> list[Bid]:
    return (await session.scalars(select(Bid).where(Bid.project_id == project_id).order_by(Bid.id)
                                  .execution_options(populate_existing=True))).all()


async def until(condition, deadline_s: float = 15.0) -> None:
    stop = time.monotonic() + deadline_s
    while not await condition():
        assert time.monotonic() < stop, "timed out waiting"
        await asyncio.sleep(0.05)


# ----------------------------------------------------------------------------- submit_bids


async def test_a_batch_refuses_each_bad_bid_alone_and_receipts_the_others_in_sequence(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    good = [await offer(session, tender.code, await bidder(session, tender.code)) for _ in range(3)]
    unregistered = await offer(session, tender.code, await bidder(session, tender.code, register=False))
    forged = await offer(session, tender.code, await bidder(session, tender.code))
    forged = BidSubmission(actor="test", envelope=dict(forged.envelope, sealed_center=forged.envelope["sealed_bidder"]),
                           ciphertext=forged.ciphertext, bidder_credit_code=forged.bidder_credit_code)
    flipped = await offer(session, tender.code, await bidder(session, tender.code))
    flipped = BidSubmission(actor="test", envelope=flipped.envelope, bidder_credit_code=flipped.bidder_credit_code,
                            ciphertext=bytes([flipped.ciphertext[0] ^ 1]) + flipped.ciphertext[1:])

    batch = [good[0], unregistered, good[1], forged, flipped, good[2]]
    outcomes = await submit_bids(session, keys, project_code=tender.code, submissions=batch)

    assert isinstance(outcomes[1], RuleViolation) and outcomes[1].code == "not_registered"
    assert isinstance(outcomes[3], sealed_bid.EnvelopeRejected) and outcomes[3].details["check"] == "signature"
    assert isinstance(outcomes[4], sealed_bid.EnvelopeRejected) and outcomes[4].details["check"] == "sha256"
    receipts = [receipted(outcomes[i], batch[i], keys) for i in (0, 2, 5)]
    assert all("sequence" not in r.record for r in receipts)  # the order stays on the server (revision 2)

    stored = await bids_of(session, tender.id)
    assert [next(b.sequence for b in stored if b.id == r.bid_id) for r in receipts] == [1, 2, 3]
    assert sorted((b.sequence, b.bidder_credit_code, b.status) for b in stored) == \
        [(i + 1, s.bidder_credit_code, SUBMITTED) for i, s in enumerate(good)]
    audit = (await session.scalars(select(AuditEntry).where(AuditEntry.subject == f"project:{tender.code}",
                                                            AuditEntry.action == "bid.submitted")
                                   .order_by(AuditEntry.seq))).all()
    assert [(e.data["bidder"], e.data["sequence"]) for e in audit] == \
        [(s.bidder_credit_code, i + 1) for i, s in enumerate(good)]
    assert (await verify_audit_log(session, keys.verify_key_hex)).ok


async def test_two_bids_of_one_bidder_in_one_call_are_a_programming_error_and_store_nothing(demo, session, keys):
    tender = await tender_project(session, keys, "bidding")
    who = await bidder(session, tender.code)
    twice = [await offer(session, tender.code, who), await offer(session, tender.code, who, price_fen=99_000_000)]
    with pytest.raises(ValueError, match="at most one bid per bidder"):
        await submit_bids(session, keys, project_code=tender.code, submissions=twice)
    assert await bids_of(session, tender.id) == []


async def test_a_batch_overtaken_by_the_deadline_at_the_sequence_lock_is_refused_whole_and_leaves_no_row(
        demo, engine, keys):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender = await tender_project(session, keys, "bidding")
        batch = [await offer(session, tender.code, await bidder(session, tender.code)) for _ in range(3)]
    async with transaction(sessions) as session:  # as every change of a tender: the row FOR UPDATE first
        await session.execute(select(Project.id).where(Project.id == tender.id).with_for_update())
        await session.execute(update(Project).where(Project.id == tender.id).values(
            bid_deadline=func.clock_timestamp() + timedelta(seconds=2)))

    async def store_batch():
        async with transaction(sessions) as session:  # commits on success: the commit must go through
            return await submit_bids(session, keys, project_code=tender.code, submissions=batch)

    async with engine.connect() as holder:
        held = await holder.begin()
        await holder.execute(select(func.pg_advisory_xact_lock(BID_SEQUENCE_LOCK, tender.id)))
        storing = asyncio.create_task(store_batch())

        async def waiting_on_the_lock_and_late() -> bool:
            assert not storing.done(), "the batch finished before reaching the sequence lock"
            waiters = await holder.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND classid::bigint = :key AND objid::bigint = :project AND objsubid = 2"),
                {"key": BID_SEQUENCE_LOCK, "project": tender.id})
            late = await holder.scalar(select(func.clock_timestamp() > Project.bid_deadline)
                                       .where(Project.id == tender.id))
            return waiters == 1 and late

        try:
            await until(waiting_on_the_lock_and_late)
        finally:
            await held.rollback()  # releases the sequence lock
        outcomes = await asyncio.wait_for(storing, 30)

    assert [(type(o), o.code) for o in outcomes] == [(RuleViolation, "after_bid_deadline")] * len(batch)
    async with sessions() as session:
        assert await bids_of(session, tender.id) == []  # neither pending nor any other row


async def test_a_pending_bid_cannot_be_committed(demo, engine, keys):
    sessions = make_sessionmaker(engine)
    with pytest.raises(IntegrityError, match="still pending"):
        async with transaction(sessions) as session:
            tender = await tender_project(session, keys, "bidding")
            tender_code = tender.code
            code, signing_key = await bidder(session, tender.code)
            submission = await offer(session, tender.code, (code, signing_key))
            registration_id = await session.scalar(select(Registration.id).where(
                Registration.project_id == tender.id, Registration.bidder_organisation_id == Organisation.id,
                Organisation.credit_code == code))
            key_id = await session.scalar(select(BidderKey.id).where(
                BidderKey.organisation_id == Organisation.id, Organisation.credit_code == code,
                BidderKey.revoked_at.is_(None)))
            session.add(Bid(project_id=tender.id, registration_id=registration_id, bidder_credit_code=code,
                            bidder_key_id=key_id, envelope=dict(submission.envelope),
                            envelope_sha256=sealed_bid.envelope_sha256(submission.envelope),
                            ciphertext=submission.ciphertext,
                            ciphertext_sha256=submission.envelope["ciphertext_sha256"],
                            size=len(submission.ciphertext), status=PENDING))
            await session.flush()  # inside the transaction a pending row is allowed
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Project).where(Project.code == tender_code)) == 0
        assert await session.scalar(select(func.count()).select_from(Bid).where(Bid.status == PENDING)) == 0


# ----------------------------------------------------------------------------- BidIntake


async def test_a_rush_through_the_intake_is_stored_in_batches_with_gapless_sequences(demo, engine, keys):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender = await tender_project(session, keys, "bidding")
        who = [await bidder(session, tender.code) for _ in range(30)]
        bids = [await offer(session, tender.code, w) for w in who]
        changed = await offer(session, tender.code, who[0], price_fen=120_000_000)  # its second envelope
        stranger = await offer(session, tender.code, await bidder(session, tender.code, register=False))

    rush = [*bids[:10], changed, bids[1], stranger, *bids[10:]]  # bids[1]: the very same envelope twice
    intake = BidIntake(sessions, keys)
    outcomes = await asyncio.gather(*(intake.submit(tender.code, s) for s in rush), return_exceptions=True)

    refused = outcomes[rush.index(stranger)]
    assert isinstance(refused, RuleViolation) and refused.code == "not_registered"
    receipts = {i: receipted(o, rush[i], keys) for i, o in enumerate(outcomes) if rush[i] is not stranger}
    same_twice = [receipts[i] for i, s in enumerate(rush) if s is bids[1]]
    assert len(same_twice) == 2 and same_twice[0] == same_twice[1]  # the same receipt, stored once
    async with sessions() as session:
        stored = {bid.id: bid for bid in await bids_of(session, tender.id)}
    earlier, later = sorted((receipts[rush.index(bids[0])], receipts[rush.index(changed)]),
                            key=lambda r: stored[r.bid_id].sequence)
    assert later.superseded == [earlier.bid_id]
    assert len(stored) == len(who) + 1  # every bidder's, A's second, the doubled envelope once
    assert sorted(bid.sequence for bid in stored.values()) == list(range(1, len(stored) + 1))
    assert {r.bid_id for r in receipts.values()} == set(stored)
    assert (stored[earlier.bid_id].status, stored[later.bid_id].status) == (SUPERSEDED, SUBMITTED)
    assert len({bid.received_at for bid in stored.values()}) < len(stored)  # stored in batches


async def test_a_batch_that_fails_whole_is_stored_bid_by_bid(demo, engine, keys):
    """One bidder named once by credit code and once by organisation id lands twice in one
    batch (submit_bids refuses that as a programming error): its bids, and the others of the
    batch, are then stored one by one, each receipted, the later one current."""
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        tender = await tender_project(session, keys, "bidding")
        who = [await bidder(session, tender.code) for _ in range(3)]
        first = await offer(session, tender.code, who[0])
        organisation_id = await session.scalar(select(Organisation.id).where(Organisation.credit_code == who[0][0]))
        again = await offer(session, tender.code, who[0], price_fen=99_000_000)
        again = BidSubmission(actor="test", envelope=again.envelope, ciphertext=again.ciphertext,
                              organisation_id=organisation_id)  # as the web names it
        others = [await offer(session, tender.code, w) for w in who[1:]]

    intake = BidIntake(sessions, keys)
    rush = [first, again, *others]
    outcomes = await asyncio.gather(*(intake.submit(tender.code, s) for s in rush))
    receipts = [receipted(outcome, submission, keys) for outcome, submission in zip(outcomes, rush)]
    async with sessions() as session:
        stored = {bid.id: bid for bid in await bids_of(session, tender.id)}
    assert sorted(stored[r.bid_id].sequence for r in receipts) == [1, 2, 3, 4]
    assert stored[receipts[0].bid_id].status == SUPERSEDED and stored[receipts[1].bid_id].status == SUBMITTED
    assert receipts[1].superseded == [receipts[0].bid_id]
