"""Bidder identity verify keys (sealed-bid/1 "Keys"): registered with the organisation.

A bidder makes its Ed25519 identity key itself (``bidding.sealed_bid.make_bidder_key`` or
the command line) and registers only the verify key here; the server never holds the
seed. One active key per organisation (partial unique index): registering a new key
revokes the previous one at the database clock. Envelopes are checked against the key
active when they are submitted.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, func, select, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.errors import InvalidInput, NotFound, PermissionDenied
from trading.identifiers import validate_credit_code
from trading.keys import key_id
from trading.organisations import Organisation
from trading.roles import OrgRole

VERIFY_KEY_SIZE = 32


class BidderKey(SQLModel, table=True):
    __tablename__ = "bidder_keys"
    __table_args__ = (
        Index("bidder_keys_one_active", "organisation_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False, index=True))
    verify_key: str = Field(sa_column=Column(String(64), nullable=False))
    registered_by: str = Field(sa_column=Column(String(200), nullable=False))
    registered_at: datetime = Field(sa_column=created_at_column())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column())


def check_verify_key(value: object) -> str:
    """A verify key as 64 lowercase hex digits (32 bytes), or :class:`InvalidInput`."""
    if not isinstance(value, str):
        raise InvalidInput("身份公钥应为 64 位十六进制文本", field="verify_key")
    text_ = value.strip().lower()
    try:
        raw = bytes.fromhex(text_)
    except ValueError:
        raise InvalidInput("身份公钥应为十六进制文本", field="verify_key") from None
    if len(raw) != VERIFY_KEY_SIZE:
        raise InvalidInput(f"身份公钥长度应为 {VERIFY_KEY_SIZE} 字节，实为 {len(raw)} 字节", field="verify_key")
    return raw.hex()


async def bidder_organisation(session: AsyncSession, credit_code: str) -> Organisation:
    code = validate_credit_code(credit_code)
    return check_bidder(await session.scalar(select(Organisation).where(Organisation.credit_code == code)), code)


def check_bidder(bidder: Organisation | Row | None, asked: str | int) -> Organisation | Row:
    """The organisation found for ``asked`` (a credit code, or an account's organisation id),
    which must hold the bidder role."""
    if bidder is None:
        if isinstance(asked, str):
            raise NotFound(f"未找到统一社会信用代码为 {asked} 的单位", credit_code=asked)
        raise PermissionDenied("投标人账号未关联单位，不能投标")
    if OrgRole.BIDDER.value not in bidder.roles:
        raise InvalidInput(f"单位「{bidder.name}」不具有投标人角色", field="bidder_credit_code")
    return bidder


async def register_bidder_key(session: AsyncSession, *, actor: str, bidder_credit_code: str,
                              verify_key: str) -> BidderKey:
    """Register ``verify_key`` as the organisation's active identity key (the old one is revoked)."""
    key_hex = check_verify_key(verify_key)
    bidder = await bidder_organisation(session, bidder_credit_code)
    # Serialise key changes of one organisation: the revoke and the insert see the same state.
    await session.execute(select(Organisation.id).where(Organisation.id == bidder.id).with_for_update())
    current = await active_bidder_key(session, bidder.id)
    if current is not None and current.verify_key == key_hex:
        return current
    if current is not None:
        current.revoked_at = await session.scalar(select(func.clock_timestamp()))
        await session.flush()
    record = BidderKey(organisation_id=bidder.id, verify_key=key_hex, registered_by=actor)
    session.add(record)
    await session.flush()
    await record_event(session, actor=actor, action="bidder_key.registered", subject=f"organisation:{bidder.credit_code}",
                       data={"bidder_key_id": record.id, "verify_key": key_hex, "key_id": key_id(key_hex),
                             "revoked_key_id": current.id if current is not None else None})
    return record


async def active_bidder_key(session: AsyncSession, organisation_id: int) -> BidderKey | None:
    return await session.scalar(select(BidderKey).where(BidderKey.organisation_id == organisation_id,
                                                        BidderKey.revoked_at.is_(None)))
