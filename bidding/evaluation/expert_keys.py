"""An expert's own Ed25519 verify key, with which the expert signs evaluation reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.bids.bidder_keys import check_verify_key
from expert_pool.models import Expert
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.keys import key_id

class ExpertSigningKey(SQLModel, table=True):
    """An expert's Ed25519 verify key for signing reports; one active key per expert."""

    __tablename__ = "expert_signing_keys"
    __table_args__ = (
        Index("expert_signing_keys_one_active", "expert_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False, index=True))
    verify_key: str = Field(sa_column=Column(String(64), nullable=False))
    registered_by: str = Field(sa_column=Column(String(200), nullable=False))
    registered_at: datetime = Field(sa_column=created_at_column())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column())


async def register_expert_key(session: AsyncSession, *, actor: str, expert_id: int, verify_key: str) -> ExpertSigningKey:
    """Register the expert's own Ed25519 verify key (the previous one is revoked)."""
    key_hex = check_verify_key(verify_key)
    await session.execute(select(Expert.id).where(Expert.id == expert_id).with_for_update())
    current = await active_expert_key(session, expert_id)
    if current is not None and current.verify_key == key_hex:
        return current
    if current is not None:
        current.revoked_at = await database_now(session)
        await session.flush()
    record = ExpertSigningKey(expert_id=expert_id, verify_key=key_hex, registered_by=actor)
    session.add(record)
    await session.flush()
    await record_event(session, actor=actor, action="expert.signing_key_registered", subject=f"expert:{expert_id}",
                       data={"key_id": key_id(key_hex)})
    return record


async def active_expert_key(session: AsyncSession, expert_id: int) -> ExpertSigningKey | None:
    return await session.scalar(select(ExpertSigningKey).where(ExpertSigningKey.expert_id == expert_id,
                                                               ExpertSigningKey.revoked_at.is_(None)))
