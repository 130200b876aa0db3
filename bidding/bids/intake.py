"""Group commit of sealed bids: at a deadline rush, the bids of one tender that arrive while
the previous ones are being stored go into the database together, in one transaction.

Each tender's bids are stored one transaction at a time anyway (the sequence lock of
:mod:`bidding.bids.submission`, then the audit chain's lock), so a transaction per bid makes a rush
queue on those locks and pays a commit (an fsync) and a dozen round trips per bid. Here a
submission waits in its tender's lane; up to :data:`WRITERS_PER_TENDER` writer tasks per
tender (per app process) each take whatever is waiting, up to :data:`MAX_BATCH` bids or
:data:`MAX_BATCH_BYTES`, store it with :func:`bidding.bids.submission.submit_bids` and commit, then
hand each bid its receipt or its own refusal (the batches' ciphertexts go in side by side;
the sequence lock numbers one batch at a time). Nothing changes for the bidder: a receipt still comes only after the commit
that stored its bid, and a refused bid is refused with the same error as alone.

At most one bid per bidder is in flight (a later one supersedes the earlier, so it waits
for the earlier's commit). Should a batch fail as a whole (a lost connection, an unexpected
database error), its bids are stored one by one so that one bad bid cannot refuse the
others; a retry of a stored bid answers its receipt again, so nothing is lost either way.
Several app processes each run their own writers; the database's locks order them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bidding.bids.submission import BidSubmission, Outcome, SignedReceipt, submit_bids
from trading.errors import Unavailable
from trading.keys import CenterKeys

MAX_BATCH = 64
# A batch's ciphertexts pass through memory together (bytea parameters): keep it bounded.
MAX_BATCH_BYTES = 64 * 1024 * 1024
# Batches of one tender in flight at once: their ciphertexts go in side by side (the heavy
# part, before the sequence lock), one is numbered and committed while the next is written.
WRITERS_PER_TENDER = 3


@dataclass
class _Waiting:
    submission: BidSubmission
    answer: asyncio.Future[SignedReceipt]

    @property
    def bidder(self) -> str | int | None:
        return self.submission.bidder_credit_code or self.submission.organisation_id


@dataclass
class _Lane:
    """A tender's waiting bids, its running writers and the bidders whose bids they hold."""

    waiting: deque[_Waiting] = field(default_factory=deque)
    writers: int = 0
    in_flight: set[str | int | None] = field(default_factory=set)


class BidIntake:
    """The tenders' lanes of waiting bids and their writers (one intake per app)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], keys: CenterKeys, *,
                 gate: Callable[[], AbstractAsyncContextManager[object]] | None = None) -> None:
        self.sessions, self.keys = sessions, keys
        # Around each batch's transaction (web/core/admission.py: the pool is reached first come, first served).
        self.gate = gate or contextlib.nullcontext
        self._lanes: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Lane]] = WeakKeyDictionary()
        self._writers: set[asyncio.Task[None]] = set()

    async def submit(self, project_code: str, submission: BidSubmission) -> SignedReceipt:
        """Store ``submission`` with whatever else is waiting for the same tender; its receipt
        once committed, or its refusal raised."""
        loop = asyncio.get_running_loop()
        lanes = self._lanes.setdefault(loop, {})
        lane = lanes.setdefault(project_code, _Lane())
        waiting = _Waiting(submission, loop.create_future())
        lane.waiting.append(waiting)
        if lane.writers < WRITERS_PER_TENDER:
            lane.writers += 1
            writer = loop.create_task(self._write(lanes, project_code, lane))
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await waiting.answer

    async def _write(self, lanes: dict[str, _Lane], project_code: str, lane: _Lane) -> None:
        batch: list[_Waiting] = []
        try:
            while batch := _take_batch(lane):
                bidders = {waiting.bidder for waiting in batch}
                lane.in_flight |= bidders
                try:
                    await self._store(project_code, batch)
                finally:
                    lane.in_flight -= bidders
        finally:
            lane.writers -= 1
            left = [*batch, *lane.waiting] if not lane.writers else batch
            if not lane.writers:
                lanes.pop(project_code, None)  # nothing can join between the last look and here (no await)
            for waiting in left:  # answered already, unless the app is stopping
                _answer(waiting, Unavailable("服务正在停止，投标可能未保存：请稍后重新递交（已保存的投标将再次得到回执）",
                                             code="service_stopping", retry_after=5))

    async def _store(self, project_code: str, batch: list[_Waiting]) -> None:
        try:
            async with self.gate(), self.sessions() as session:
                outcomes = await submit_bids(session, self.keys, project_code=project_code,
                                             submissions=[waiting.submission for waiting in batch])
                await session.commit()  # the receipts prove the bids are stored: only after the commit
        except Exception as exc:  # noqa: BLE001 — handed to the waiting requests, which answer it
            if len(batch) > 1:
                for waiting in batch:
                    await self._store(project_code, [waiting])
                return
            outcomes = [exc]
        for waiting, outcome in zip(batch, outcomes):
            _answer(waiting, outcome)


def _take_batch(lane: _Lane) -> list[_Waiting]:
    """The oldest waiting bids, one per bidder and none of a bidder whose earlier bid is still
    being stored, within the batch limits (the rest keep their places); a bid whose request
    has gone away is dropped unstored."""
    batch: list[_Waiting] = []
    later: list[_Waiting] = []
    bidders = set(lane.in_flight)
    size = 0
    while lane.waiting and len(batch) < MAX_BATCH:
        waiting = lane.waiting[0]
        if batch and size + len(waiting.submission.ciphertext) > MAX_BATCH_BYTES:
            break
        lane.waiting.popleft()
        if waiting.answer.done():
            continue
        if waiting.bidder in bidders:
            later.append(waiting)
            continue
        bidders.add(waiting.bidder)
        batch.append(waiting)
        size += len(waiting.submission.ciphertext)
    lane.waiting.extendleft(reversed(later))
    return batch


def _answer(waiting: _Waiting, outcome: Outcome | BaseException) -> None:
    if waiting.answer.done():
        return
    if isinstance(outcome, BaseException):
        waiting.answer.set_exception(outcome)
    else:
        waiting.answer.set_result(outcome)
