"""The chronograph closes the decryption window by itself: while a tender is ``opening``
its next due time is the window's end, and at that time the chronograph marks every bid
still pending as not decrypted (cause bidder) — with nobody's page open, and never twice
with two workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from bidding.tender.chronograph import CHRONOGRAPH_ACTOR, run_due_steps
from bidding.opening.proceedings import (
    DECRYPTED,
    NOT_DECRYPTED,
    OpeningEntry,
    OpeningSession,
    hand_in_bidder_half,
    sign_in,
    start_opening,
)
from bidding.tender.projects import Project
from tests.common.opening import k_b_of, tender_with_bids
from trading.audit import AuditEntry
from trading.database import make_sessionmaker, transaction

CLOSE = "close_decryption_window"


async def test_the_window_closes_at_its_end_without_anyone_asking(demo, session, keys):
    tender, [(present, present_key), (absent, _)] = await tender_with_bids(session, keys, [100_000_000, 99_000_000])
    opening = await start_opening(session, keys, actor="admin", project_code=tender.code)
    await session.refresh(tender)
    assert tender.state == "opening" and tender.next_due_at == opening.window_ends_at
    await sign_in(session, actor=present, project_code=tender.code, bidder_credit_code=present)
    await hand_in_bidder_half(session, keys, actor=present, project_code=tender.code, bidder_credit_code=present,
                              k_b_hex=await k_b_of(session, tender, present, present_key))

    # A second before the end: nothing happens.
    before = await run_due_steps(session, now=opening.window_ends_at - timedelta(seconds=1))
    assert (tender.code, CLOSE) not in before
    # At the end, a worker without the center's keys cannot open the hand-in: it leaves the
    # window open rather than count a hand-in made in time as "not decrypted".
    assert (tender.code, CLOSE) not in await run_due_steps(session, now=opening.window_ends_at)
    await session.execute(update(Project).where(Project.id == tender.id).values(next_due_at=opening.window_ends_at))
    # With the keys (the app's worker; a controlled clock, no request anywhere): the hand-in is
    # opened first, the bid never handed in is not decrypted.
    assert (tender.code, CLOSE) in await run_due_steps(session, now=opening.window_ends_at, keys=keys)
    entries = {entry.bidder_credit_code: entry for entry in (await session.scalars(
        select(OpeningEntry).where(OpeningEntry.session_id == opening.id)
        .execution_options(populate_existing=True))).all()}
    assert entries[present].state == DECRYPTED
    missed = entries[absent]
    assert (missed.state, missed.reason, missed.cause) == (NOT_DECRYPTED, "no_hand_in", "bidder")
    await session.refresh(opening)
    await session.refresh(tender)
    assert opening.closed_at == opening.window_ends_at and tender.next_due_at is None
    assert tender.state == "opening"  # not a transition: finishing the opening is the center's step
    closed = await session.scalar(select(AuditEntry).where(AuditEntry.subject == f"project:{tender.code}",
                                                           AuditEntry.action == "opening.window_closed"))
    assert closed.actor == CHRONOGRAPH_ACTOR and closed.data["not_decrypted"] == [absent]
    assert (tender.code, CLOSE) not in await run_due_steps(session, now=opening.window_ends_at + timedelta(hours=1))


async def _openings(engine, keys, count: int) -> list[str]:
    async with transaction(make_sessionmaker(engine)) as session:
        codes = []
        for _ in range(count):
            tender, _ = await tender_with_bids(session, keys, [100_000_000])
            await start_opening(session, keys, actor="admin", project_code=tender.code)
            codes.append(tender.code)
        return codes


async def _window_end(engine, codes: list[str]):
    async with make_sessionmaker(engine)() as session:
        return await session.scalar(select(func.max(OpeningSession.window_ends_at)).join(
            Project, Project.id == OpeningSession.project_id).where(Project.code.in_(codes)))


async def test_two_workers_never_close_one_window_twice(demo, engine, keys):
    sessions = make_sessionmaker(engine)
    held = await _openings(engine, keys, 3)
    at = await _window_end(engine, held)

    # Worker A holds the due tenders uncommitted; worker B skips them without waiting.
    async with sessions() as a, a.begin():
        assert {code for code, task in await run_due_steps(a, now=at) if task == CLOSE} >= set(held)
        async with sessions() as b, b.begin():
            assert [code for code, _ in await asyncio.wait_for(run_due_steps(b, now=at), 5) if code in held] == []
    async with sessions() as b, b.begin():
        assert [code for code, _ in await run_due_steps(b, now=at) if code in held] == []

    # Two workers racing, one tender at a time each, share the work exactly.
    raced = await _openings(engine, keys, 4)
    at = await _window_end(engine, raced)

    async def worker() -> list[str]:
        mine = []
        while True:
            async with sessions() as worker_session, worker_session.begin():
                taken = await run_due_steps(worker_session, now=at, limit=1)
            if not taken:
                return mine
            mine += [code for code, _ in taken]
            await asyncio.sleep(0)

    first, second = await asyncio.gather(worker(), worker())
    assert sorted(code for code in first + second if code in raced) == sorted(raced)
    assert not set(first) & set(second)
    async with sessions() as check:
        for code in held + raced:
            assert await check.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.subject == f"project:{code}", AuditEntry.action == "opening.window_closed")) == 1


async def test_at_the_deadline_the_chronograph_starts_the_opening_in_full(demo, session, keys):
    """With the center's keys (as the app's worker has them) the opening starts at the deadline
    itself: the center's halves are opened and the decryption window runs from then."""
    tender, _ = await tender_with_bids(session, keys, [98_000_000, 99_000_000])
    await session.execute(update(Project).where(Project.id == tender.id).values(next_due_at=func.clock_timestamp()))
    taken = await run_due_steps(session, keys=keys)
    assert (tender.code, "start_opening") in taken
    opening = await session.scalar(select(OpeningSession).where(OpeningSession.project_id == tender.id))
    entries = (await session.scalars(select(OpeningEntry).where(OpeningEntry.session_id == opening.id))).all()
    assert len(entries) == 2 and all(e.center_half_opened and e.state == "pending" for e in entries)
    assert opening.window_ends_at - opening.started_at == timedelta(minutes=30)
    project = await session.get(Project, tender.id, populate_existing=True)
    assert project.state == "opening" and project.next_due_at == opening.window_ends_at
