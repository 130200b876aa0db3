"""Bidder identity verify keys (sealed-bid.md "Keys" and "Bidder key registration and
rotation", revision 2): one current key per organisation, not per tender.

A bidder makes its Ed25519 identity key itself (``bidding.bids.sealed_bid.make_bidder_key``, the
command line or the browser) and registers only the verify key here; the server never holds
the seed. The organisation's account registers the FIRST key (:func:`register_bidder_key`);
the account's password alone never replaces it. A key is replaced only

* by a ``sealed-bid-key-rotation/1`` request signed by the current key
  (:func:`rotate_bidder_key`, protocol in ``bidding.bids.key_rotation``), or
* by a reset that center staff approve after checking the organisation's identity
  (``bidding.bids.key_resets``), for a key that is lost.

Every key ever registered stays, with how it came (``how``: registered, rotated, reset),
who registered it and when, and when it was replaced (``revoked_at``): the history. Bids
keep the key they were submitted under (``bids.bidder_key_id``), so a later rotation or
reset neither invalidates a stored bid nor lets the new key withdraw it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.bids import key_rotation
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.identifiers import validate_credit_code
from trading.keys import key_id
from trading.organisations import Organisation
from trading.roles import OrgRole

VERIFY_KEY_SIZE = 32

REGISTERED, ROTATED, RESET = "registered", "rotated", "reset"
HOW_NAMES = {REGISTERED: "首次登记", ROTATED: "以旧密钥签名轮换", RESET: "经交易中心审核重置"}


class BidderKey(SQLModel, table=True):
    __tablename__ = "bidder_keys"
    __table_args__ = (
        Index("bidder_keys_one_active", "organisation_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
        CheckConstraint("how IN ('registered', 'rotated', 'reset')", name="bidder_keys_how_known"),
        # A rotated key carries the signed request that proves the old key's holder asked for it.
        CheckConstraint("(how = 'rotated') = (rotation IS NOT NULL AND rotation_sha256 IS NOT NULL)",
                        name="bidder_keys_rotation_proved"),
        CheckConstraint("how = 'registered' OR replaces_key_id IS NOT NULL", name="bidder_keys_replacement_named"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False, index=True))
    verify_key: str = Field(sa_column=Column(String(64), nullable=False))
    registered_by: str = Field(sa_column=Column(String(200), nullable=False))
    registered_at: datetime = Field(sa_column=created_at_column())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    how: str = Field(default=REGISTERED, sa_column=Column(String(16), nullable=False, server_default=REGISTERED))
    replaces_key_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("bidder_keys.id"),
                                                                       nullable=True))
    # sealed-bid-key-rotation/1: {"request": ..., "signature": ...} as received; its digest once only.
    rotation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    rotation_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, unique=True))

    @property
    def how_name(self) -> str:
        return HOW_NAMES.get(self.how, self.how)

    @property
    def key_id(self) -> str:
        return key_id(self.verify_key)

    def as_dict(self) -> dict[str, Any]:
        """The key as the API shows it to its organisation."""
        return {"id": self.id, "verify_key": self.verify_key, "key_id": key_id(self.verify_key), "how": self.how,
                "how_name": self.how_name, "registered_by": self.registered_by,
                "registered_at": self.registered_at.isoformat() if self.registered_at else None,
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "replaces_key_id": self.replaces_key_id, "current": self.revoked_at is None}


def check_verify_key(value: object) -> str:
    """A verify key as 64 lowercase hex digits (32 bytes), or :class:`InvalidInput`."""
    if not isinstance(value, str):
        raise InvalidInput("身份公钥应为 64 位十六进制文本", code="invalid_verify_key", field="verify_key")
    text_ = value.strip().lower()
    try:
        raw = bytes.fromhex(text_)
    except ValueError:
        raise InvalidInput("身份公钥应为十六进制文本", code="invalid_verify_key", field="verify_key") from None
    if len(raw) != VERIFY_KEY_SIZE:
        raise InvalidInput(f"身份公钥长度应为 {VERIFY_KEY_SIZE} 字节，实为 {len(raw)} 字节",
                           code="invalid_verify_key", field="verify_key")
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
        raise PermissionDenied("投标人账号未关联单位，不能投标", code="no_organisation")
    if OrgRole.BIDDER.value not in bidder.roles:
        raise InvalidInput(f"单位「{bidder.name}」不具有投标人角色", code="not_a_bidder_organisation", field="bidder_credit_code")
    return bidder


async def lock_organisation_keys(session: AsyncSession, organisation_id: int) -> None:
    """Serialise key changes of one organisation: each reads the current key and replaces it
    seeing the same state (the organisation's row, locked until commit)."""
    await session.execute(select(Organisation.id).where(Organisation.id == organisation_id).with_for_update())


async def register_bidder_key(session: AsyncSession, *, actor: str, bidder_credit_code: str,
                              verify_key: str) -> BidderKey:
    """Register the organisation's FIRST identity key. The same key again answers the current
    record; a different key while one is current is refused (:class:`Conflict`,
    ``bidder_key_exists``): replacing it takes a signed rotation or an approved reset."""
    key_hex = check_verify_key(verify_key)
    bidder = await bidder_organisation(session, bidder_credit_code)
    await lock_organisation_keys(session, bidder.id)
    current = await active_bidder_key(session, bidder.id)
    if current is not None:
        if current.verify_key == key_hex:
            return current
        raise Conflict(f"「{bidder.name}」已登记身份公钥（{key_id(current.verify_key)}）。更换须提交用现有身份密钥签名的"
                       f"轮换请求；密钥丢失的，请申请重置，由交易中心核验单位身份后批准", code="bidder_key_exists",
                       field="verify_key", key_id=key_id(current.verify_key))
    await refuse_earlier_key(session, bidder, key_hex)
    record = BidderKey(organisation_id=bidder.id, verify_key=key_hex, registered_by=actor, how=REGISTERED)
    session.add(record)
    await session.flush()
    await record_event(session, actor=actor, action="bidder_key.registered", subject=f"organisation:{bidder.credit_code}",
                       data={"bidder_key_id": record.id, "verify_key": key_hex, "key_id": key_id(key_hex),
                             "how": REGISTERED})
    return record


async def refuse_earlier_key(session: AsyncSession, bidder: Organisation, key_hex: str) -> None:
    """A key the organisation had before is never current again: its envelopes and requests
    signed back then must not count as new."""
    if await session.scalar(select(BidderKey.id).where(BidderKey.organisation_id == bidder.id,
                                                       BidderKey.verify_key == key_hex).limit(1)) is not None:
        raise Conflict(f"该公钥（{key_id(key_hex)}）曾是「{bidder.name}」的身份公钥，不能再次使用；请生成新的密钥",
                       code="bidder_key_reused", field="verify_key", key_id=key_id(key_hex))


async def replace_bidder_key(session: AsyncSession, bidder: Organisation, current: BidderKey, *, actor: str,
                             verify_key: str, how: str, rotation: Mapping[str, Any] | None = None) -> BidderKey:
    """Revoke ``current`` at the database clock and make ``verify_key`` current (the caller
    holds :func:`lock_organisation_keys` and has checked the right to replace it)."""
    await refuse_earlier_key(session, bidder, verify_key)
    current.revoked_at = await database_now(session)
    await session.flush()
    record = BidderKey(organisation_id=bidder.id, verify_key=verify_key, registered_by=actor, how=how,
                       replaces_key_id=current.id, rotation=dict(rotation) if rotation is not None else None,
                       rotation_sha256=key_rotation.rotation_sha256(rotation["request"]) if rotation else None)
    session.add(record)
    await session.flush()
    return record


async def rotate_bidder_key(session: AsyncSession, *, actor: str, bidder_credit_code: str, request: Any,
                            signature: Any) -> BidderKey:
    """Replace the organisation's current key on a ``sealed-bid-key-rotation/1`` request
    signed by that key (``bidding.bids.key_rotation``): the request names this organisation and
    its current key, was signed within the allowed time of the database clock, and was
    never used before. Returns the new current key; commit before answering."""
    request = key_rotation.check_rotation_request(request)
    bidder = await bidder_organisation(session, bidder_credit_code)
    if request["bidder_code"] != bidder.credit_code:
        raise InvalidInput(f"密钥轮换请求所列投标人「{request['bidder_code']}」不是本单位", code="rotation_mismatch",
                           field="request")
    key_rotation.verify_rotation(request, signature)
    await lock_organisation_keys(session, bidder.id)
    now = await database_now(session)
    key_rotation.check_rotation_time(request, now)
    digest = key_rotation.rotation_sha256(request)
    if await session.scalar(select(BidderKey.id).where(BidderKey.rotation_sha256 == digest)) is not None:
        raise Conflict("该密钥轮换请求已经使用过，不能重复提交", code="rotation_replayed", field="request")
    current = await active_bidder_key(session, bidder.id)
    if current is None:
        raise RuleViolation(f"「{bidder.name}」尚未登记身份公钥，无需轮换：请直接登记", code="no_bidder_key",
                            bidder=bidder.credit_code)
    if request["old_verify_key"] != current.verify_key:
        raise Conflict(f"密钥轮换请求所列旧公钥不是「{bidder.name}」现用的身份公钥（现用 {key_id(current.verify_key)}）",
                       code="rotation_not_current", field="request", key_id=key_id(current.verify_key))
    record = await replace_bidder_key(session, bidder, current, actor=actor, verify_key=request["new_verify_key"],
                                      how=ROTATED, rotation={"request": request, "signature": signature})
    await record_event(session, actor=actor, action="bidder_key.rotated", subject=f"organisation:{bidder.credit_code}",
                       data={"bidder_key_id": record.id, "verify_key": record.verify_key,
                             "key_id": key_id(record.verify_key), "revoked_key_id": current.id,
                             "revoked_verify_key": current.verify_key, "request": request, "signature": signature})
    return record


async def active_bidder_key(session: AsyncSession, organisation_id: int) -> BidderKey | None:
    return await session.scalar(select(BidderKey).where(BidderKey.organisation_id == organisation_id,
                                                        BidderKey.revoked_at.is_(None)))


async def key_history(session: AsyncSession, organisation_id: int) -> list[BidderKey]:
    """Every identity key the organisation has had, newest first."""
    return list((await session.scalars(select(BidderKey).where(BidderKey.organisation_id == organisation_id)
                                       .order_by(BidderKey.id.desc()))).all())
