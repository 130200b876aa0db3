"""The outbox: messages commit with their cause, are delivered once, and retried on failure."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete

from trading.database import make_sessionmaker, transaction
from trading.notifications import FAILED, PENDING, SENT, OutboxMessage, deliver_pending, enqueue, messages_about


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures, self.sent = failures, []

    async def send(self, message: OutboxMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SMS gateway down")
        self.sent.append(message.id)


async def test_a_rolled_back_cause_sends_nothing(session):
    async with session.begin_nested() as savepoint:
        enqueue(session, channel="sms", recipient="expert:EXP0001", subject="draw:D-X", body="请于……参加评标")
        await session.flush()
        await savepoint.rollback()
    assert await messages_about(session, "draw:D-X") == []


async def test_delivery_marks_sent_and_retries_until_a_limit(session):
    first = enqueue(session, channel="sms", recipient="expert:EXP0002", subject="draw:D-Y", body="一")
    await session.flush()
    sender = FlakySender(failures=1)
    assert await deliver_pending(session, sender) == 0
    assert first.status == PENDING and first.attempts == 1
    assert await deliver_pending(session, sender) == 1
    assert first.status == SENT and first.sent_at is not None
    doomed = enqueue(session, channel="voice", recipient="expert:EXP0003", subject="draw:D-Y", body="二")
    await session.flush()
    always_down = FlakySender(failures=100)
    for _ in range(3):
        await deliver_pending(session, always_down, max_attempts=3)
    assert doomed.status == FAILED and doomed.attempts == 3


async def test_two_workers_never_send_the_same_message(engine):
    sessions = make_sessionmaker(engine)
    async with transaction(sessions) as session:
        await session.execute(delete(OutboxMessage))
        for n in range(40):
            enqueue(session, channel="sms", recipient=f"expert:E{n}", subject="draw:D-Z", body=str(n))

    senders = [FlakySender(0), FlakySender(0)]

    async def worker(sender):
        total = 0
        while True:
            async with transaction(sessions) as session:
                sent = await deliver_pending(session, sender, limit=5)
            if not sent:
                return total
            total += sent

    counts = await asyncio.gather(*(worker(sender) for sender in senders))
    delivered = senders[0].sent + senders[1].sent
    assert sum(counts) == 40 and len(delivered) == len(set(delivered)) == 40
