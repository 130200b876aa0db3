"""The audit log (统一电子监察): append-only, gapless, hash-chained, signed checkpoints.

Every service that changes state calls :func:`record_event` inside its own transaction,
so the change and its audit entry commit or vanish together. Sequence numbers are taken
under a transaction-scoped advisory lock, which serialises writers only for the instant
between reading the chain head and inserting; the database refuses UPDATE, DELETE and
TRUNCATE on both tables (triggers in the migration).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import BigInteger, Column, String, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit_chain import GENESIS_HASH, ChainReport, ChainVerifier, checkpoint_record, entry_body, entry_hash
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now, insert_in_batches
from trading.keys import CenterKeys
from trading.timefmt import rfc3339

# Arbitrary constant naming the audit-chain advisory lock.
AUDIT_LOCK_KEY = 0x41554449


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_column=timestamp_column(nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    action: str = Field(sa_column=Column(String(100), nullable=False, index=True))
    subject: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    data: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))

    def body(self) -> dict[str, Any]:
        return entry_body(self.seq, self.at, self.actor, self.action, self.subject, self.data, self.prev_hash)

    def as_export(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    record: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    signature: str = Field(sa_column=Column(String(128), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())

    def as_export(self) -> dict[str, Any]:
        return {"record": self.record, "signature": self.signature, "key_id": self.key_id}


def actor_of(user: Any | None) -> str:
    """Audit name of who acted: ``user:<id>:<username>`` or ``system``."""
    if user is None:
        return "system"
    return f"user:{user.id}:{user.username}"


HEAD_AND_CLOCK = text("SELECT clock_timestamp(), head.seq, head.hash FROM (SELECT 1) AS one "
                      "LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) AS head ON true")


@dataclass(frozen=True)
class AuditEvent:
    """One entry to append: who did what to which subject, with its data."""

    actor: str
    action: str
    subject: str
    data: Mapping[str, Any] | None = None


async def record_event(
    session: AsyncSession, *, actor: str, action: str, subject: str, data: Mapping[str, Any] | None = None
) -> AuditEntry:
    """Append one entry to the chain in the caller's transaction."""
    [row] = await record_events(session, [AuditEvent(actor, action, subject, data)])
    return AuditEntry(**row)


async def record_events(session: AsyncSession, events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    """Append entries in order under one hold of the chain's lock (a batch of bids takes the
    lock, reads the head and inserts once, instead of once per entry); returns the rows.
    An import's tens of thousands are hashed in a worker thread and inserted in batches, so
    that the event loop keeps serving other requests."""
    if not events:
        return []
    await session.flush()  # what the caller added goes in first, as before its audit entry
    large = len(events) > LARGE_BATCH
    payloads = await _computed(large, _payloads, events)
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    # After the lock (a statement of its own, so this one's snapshot sees the last commit):
    # the chain head and the clock in one round trip; every write of the platform passes here.
    at, head_seq, head_hash = (await session.execute(HEAD_AND_CLOCK)).one()
    head = (head_seq, head_hash) if head_seq is not None else (0, GENESIS_HASH)
    rows = await _computed(large, _chained, events, payloads, at, head)
    # Core, not ORM objects: a batch of bids appends dozens at once.
    await insert_in_batches(session, AuditEntry.__table__, rows)
    return rows


LARGE_BATCH = 500


async def _computed(large: bool, function: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_thread.run_sync(function, *args) if large else function(*args)


def _payloads(events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    # Round-trip through JSON so what we hash is exactly what JSONB will give back.
    return [json.loads(json.dumps(dict(event.data or {}), ensure_ascii=False)) for event in events]


def _chained(events: Sequence[AuditEvent], payloads: Sequence[dict[str, Any]], at: datetime,
             head: tuple[int, str]) -> list[dict[str, Any]]:
    seq, prev_hash = head
    rows = []
    for event, payload in zip(events, payloads):
        seq += 1
        body = entry_body(seq, at, event.actor, event.action, event.subject, payload, prev_hash)
        rows.append({"seq": seq, "at": at, "actor": event.actor, "action": event.action, "subject": event.subject,
                     "data": payload, "prev_hash": prev_hash, "hash": entry_hash(body)})
        prev_hash = rows[-1]["hash"]
    return rows


async def make_checkpoint(session: AsyncSession, keys: CenterKeys) -> AuditCheckpoint | None:
    """Sign the current head of the chain; None when nothing is new since the last one."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    head = (await session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))).first()
    if head is None:
        return None
    last = await session.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1))
    if last is not None and last >= head[0]:
        return None
    now = await database_now(session)
    record = checkpoint_record(head[0], head[1], rfc3339(now))
    checkpoint = AuditCheckpoint(seq=head[0], hash=head[1], record=record, signature=keys.sign(record), key_id=keys.key_id)
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def iter_entries(session: AsyncSession, batch: int = 5000) -> AsyncIterator[dict[str, Any]]:
    """All entries in order, streamed in batches (the log grows without bound)."""
    last = 0
    while True:
        # populate_existing: check what the database holds, not objects this session remembers.
        query = select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        rows = (await session.scalars(query.execution_options(populate_existing=True))).all()
        if not rows:
            return
        for row in rows:
            yield row.as_export()
        last = rows[-1].seq


async def list_checkpoints(session: AsyncSession) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))).all()
    return [row.as_export() for row in rows]


async def verify_audit_log(session: AsyncSession, verify_key_hex: str) -> ChainReport:
    """Verify the stored chain as a stream against the stored checkpoints."""
    verifier = ChainVerifier(await list_checkpoints(session), verify_key_hex)
    async for entry in iter_entries(session):
        if not verifier.add(entry):
            break
    return verifier.report()
