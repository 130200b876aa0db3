"""Tender opening keys (sealed-bid/1 "Keys"): one X25519 key per tender.

Made when the tender is announced (:func:`make_opening_key`, called by
:func:`bidding.notice.announce.announce_tender`); the public half is published in hex with the
announcement, the private half is stored only sealed under the center's key-encryption
key (``CenterKeys.seal``). :func:`open_opening_key` unseals it, and refuses to before the
bid deadline by the database clock (``clock_timestamp()``, with the project row locked
so the deadline read is the committed one).

The public half is published in a center-signed ``sealed-bid-opening-key/1`` record
(revision 2; :func:`signed_opening_key`), which bidders' clients check with the center key
they pinned before sealing. The record is signed once, when the key is made, and the
signature is stored: a later change of the row (a substituted public key) cannot be
signed over by the server answering, and the record reads the same every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nacl.public import PrivateKey
from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.tender.projects import get_project
from bidding.bids.sealed_bid import opening_key_record
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, IntegrityFailure, NotFound, RuleViolation
from trading.keys import CenterKeys
from trading.timefmt import local_time


class TenderOpeningKey(SQLModel, table=True):
    __tablename__ = "tender_opening_keys"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    public_key: str = Field(sa_column=Column(String(64), nullable=False))
    # PrivateKey bytes sealed with CenterKeys.seal (XSalsa20-Poly1305 under the KEK).
    sealed_private: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())
    # The signed record's published_at and the center's signature over it (revision 2).
    # Keys made before revision 2 have published_at = created_at and no stored signature.
    published_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    record_signature: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))


@dataclass(frozen=True)
class SignedOpeningKey:
    """A tender's opening key record and the center's signature, as published."""

    record: dict[str, Any]
    signature: str

    @property
    def public_key(self) -> str:
        return self.record["public_key"]

    def as_dict(self) -> dict[str, Any]:
        """The API's answer; ``public_key`` also at the top, as clients before revision 2 read it."""
        return {"record": self.record, "signature": self.signature, "public_key": self.public_key}


async def make_opening_key(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str) -> TenderOpeningKey:
    """Make the tender's opening key; the private half leaves this function only sealed."""
    project = await get_project(session, project_code)
    if await session.scalar(select(TenderOpeningKey.id).where(TenderOpeningKey.project_id == project.id)):
        raise Conflict(f"项目 {project.code} 已生成开标密钥，不能重复生成", code="opening_key_exists", project=project.code)
    private = PrivateKey.generate()
    public_key = private.public_key.encode().hex()
    published_at = await database_now(session)
    signature = keys.sign(opening_key_record(project.code, public_key, published_at))
    record = TenderOpeningKey(project_id=project.id, public_key=public_key, sealed_private=keys.seal(private.encode()),
                              created_by=actor, published_at=published_at, record_signature=signature)
    del private
    session.add(record)
    await session.flush()
    await record_event(session, actor=actor, action="tender.opening_key_made", subject=f"project:{project.code}",
                       data={"public_key": record.public_key, "record_signature": signature, "key_id": keys.key_id})
    return record


async def opening_public_key(session: AsyncSession, project_code: str) -> str:
    """The tender's published opening public key (hex); NotFound before the announcement."""
    project = await get_project(session, project_code)
    public = await session.scalar(select(TenderOpeningKey.public_key).where(TenderOpeningKey.project_id == project.id))
    if public is None:
        raise NotFound(f"项目 {project.code} 尚未发布招标公告，没有开标公钥", project=project.code)
    return public


async def signed_opening_key(session: AsyncSession, keys: CenterKeys, project_code: str) -> SignedOpeningKey:
    """The tender's ``sealed-bid-opening-key/1`` record with the signature made with the key;
    NotFound before the announcement."""
    project = await get_project(session, project_code)
    row = await session.scalar(select(TenderOpeningKey).where(TenderOpeningKey.project_id == project.id))
    if row is None:
        raise NotFound(f"项目 {project.code} 尚未发布招标公告，没有开标公钥", project=project.code)
    record = opening_key_record(project.code, row.public_key, row.published_at)
    # A key made before revision 2 has no stored signature: it is signed as it is read
    # (Ed25519 is deterministic and published_at is stored, so the answer is still stable).
    return SignedOpeningKey(record=record, signature=row.record_signature or keys.sign(record))


async def open_opening_key(session: AsyncSession, keys: CenterKeys, project_code: str, *,
                           actor: str = "system") -> PrivateKey:
    """Unseal the tender's opening private key: only at or after the bid deadline (database clock)."""
    project = await get_project(session, project_code, lock=True)
    record = await session.scalar(select(TenderOpeningKey).where(TenderOpeningKey.project_id == project.id))
    if record is None:
        raise NotFound(f"项目 {project.code} 没有开标密钥", project=project.code)
    now = await database_now(session)
    if project.bid_deadline is None or now < project.bid_deadline:
        deadline = local_time(project.bid_deadline) if project.bid_deadline else "未设定"
        raise RuleViolation(f"投标截止时间（{deadline}）未到，不能解开项目 {project.code} 的开标私钥",
                            code="before_bid_deadline", project=project.code)
    private = PrivateKey(keys.unseal(record.sealed_private))
    if private.public_key.encode().hex() != record.public_key:
        raise IntegrityFailure(f"项目 {project.code} 的开标私钥与公布的开标公钥不符", project=project.code)
    await record_event(session, actor=actor, action="tender.opening_key_opened", subject=f"project:{project.code}",
                       data={"public_key": record.public_key, "at": now.isoformat()})
    return private
