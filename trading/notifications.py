"""Outbound notifications (SMS/voice calls to drawn experts, notices to agencies).

Messages go into an outbox table in the same transaction as the act that causes them,
so a notification is never sent for something that was rolled back, and never lost for
something that was committed. A sender, chosen by configuration, delivers them; the
local sender, which works out of the box and is what tests use, records them as sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import CheckConstraint, Column, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.columns import created_at_column, timestamp_column
from trading.database import transaction_now

PENDING, SENT, FAILED = "pending", "sent", "failed"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (CheckConstraint("status IN ('pending', 'sent', 'failed')", name="outbox_status_known"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))  # sms | voice | portal
    recipient: str = Field(sa_column=Column(String(100), nullable=False))  # e.g. expert:EXP0001
    address: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))  # phone number
    subject: str = Field(sa_column=Column(String(200), nullable=False, index=True))  # what it is about
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=PENDING, sa_column=Column(String(16), nullable=False, index=True, server_default=PENDING))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=created_at_column())
    sent_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class Sender(Protocol):
    """Delivers one message; raises on failure (the message is retried later)."""

    async def send(self, message: OutboxMessage) -> None: ...


class LocalSender:
    """Delivers nothing outside: the outbox row itself is the record of the message."""

    async def send(self, message: OutboxMessage) -> None:
        return None


def enqueue(session: AsyncSession, *, channel: str, recipient: str, subject: str, body: str,
            address: str | None = None) -> OutboxMessage:
    message = OutboxMessage(channel=channel, recipient=recipient, address=address, subject=subject, body=body)
    session.add(message)
    return message


async def deliver_pending(session: AsyncSession, sender: Sender, *, limit: int = 100, max_attempts: int = 5) -> int:
    """Send what is pending; rows are locked with SKIP LOCKED so two workers never send twice."""
    messages = (await session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == PENDING).order_by(OutboxMessage.id)
        .limit(limit).with_for_update(skip_locked=True)
    )).all()
    sent = 0
    for message in messages:
        message.attempts += 1
        try:
            await sender.send(message)
        except Exception:  # noqa: BLE001 - any delivery failure is retried, then marked failed
            if message.attempts >= max_attempts:
                message.status = FAILED
            continue
        message.status, message.sent_at = SENT, await transaction_now(session)
        sent += 1
    await session.flush()
    return sent


async def messages_about(session: AsyncSession, subject: str) -> list[OutboxMessage]:
    return list((await session.scalars(select(OutboxMessage).where(OutboxMessage.subject == subject)
                                       .order_by(OutboxMessage.id))).all())
