"""Resetting a lost bidder identity key (sealed-bid.md, "Bidder key registration and
rotation", revision 2): the organisation asks, with the new verify key and the reason; the
center's staff check the organisation's identity (in person or by its documents) and
approve, which makes the new key current, or refuse. Nothing changes before a member of
staff approves: the account's password alone never replaces a key.

Each request and decision is audited with who made it, and the organisation sees its
requests and their outcome (its key page and ``GET /api/bidder-keys/mine``). A request
made against one key cannot be approved once that key is replaced meanwhile (a rotation by
its holder).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.bids.bidder_keys import (
    RESET,
    active_bidder_key,
    bidder_organisation,
    check_verify_key,
    lock_organisation_keys,
    replace_bidder_key,
)
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.keys import key_id
from trading.organisations import Organisation

PENDING, APPROVED, REFUSED, CANCELLED = "pending", "approved", "refused", "cancelled"
STATUS_NAMES = {PENDING: "待交易中心审核", APPROVED: "已批准", REFUSED: "未予批准", CANCELLED: "已撤销"}
MAX_TEXT = 2000


class BidderKeyReset(SQLModel, table=True):
    __tablename__ = "bidder_key_resets"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'refused', 'cancelled')", name="bidder_key_resets_status_known"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="bidder_key_resets_decided_has_time"),
        CheckConstraint("(status = 'approved') = (new_key_id IS NOT NULL)", name="bidder_key_resets_approved_has_key"),
        # One open request per organisation at a time.
        Index("bidder_key_resets_one_pending", "organisation_id", unique=True,
              postgresql_where=text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False, index=True))
    # The key current when the request was made: the one the reset replaces.
    replaced_key_id: int = Field(sa_column=Column(Integer, ForeignKey("bidder_keys.id"), nullable=False))
    new_verify_key: str = Field(sa_column=Column(String(64), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    requested_at: datetime = Field(sa_column=created_at_column())
    status: str = Field(default=PENDING, sa_column=Column(String(16), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decided_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # Approval: how staff checked the organisation's identity; refusal or cancellation: why.
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    new_key_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("bidder_keys.id"), nullable=True))

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "status_name": self.status_name,
                "new_verify_key": self.new_verify_key, "new_key_id": key_id(self.new_verify_key),
                "reason": self.reason, "requested_by": self.requested_by,
                "requested_at": self.requested_at.isoformat() if self.requested_at else None,
                "decided_by": self.decided_by, "decided_at": self.decided_at.isoformat() if self.decided_at else None,
                "decision_note": self.decision_note}


def _text(value: Any, field: str, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"请填写{label}", code="text_required", field=field)
    if len(value.strip()) > MAX_TEXT:
        raise InvalidInput(f"{label}不超过 {MAX_TEXT} 个字", code="text_too_long", field=field)
    return value.strip()


async def request_key_reset(session: AsyncSession, *, actor: str, bidder_credit_code: str, new_verify_key: Any,
                            reason: Any) -> BidderKeyReset:
    """The organisation asks to replace its current (lost) key by ``new_verify_key``; staff
    decide. At most one open request at a time."""
    key_hex = check_verify_key(new_verify_key)
    reason = _text(reason, "reason", "申请重置的原因")
    bidder = await bidder_organisation(session, bidder_credit_code)
    await lock_organisation_keys(session, bidder.id)
    current = await active_bidder_key(session, bidder.id)
    if current is None:
        raise RuleViolation(f"「{bidder.name}」尚未登记身份公钥，无需重置：请直接登记", code="no_bidder_key",
                            bidder=bidder.credit_code)
    if current.verify_key == key_hex:
        raise InvalidInput("新公钥与现用的身份公钥相同：请生成新的密钥", code="reset_key_unchanged", field="verify_key")
    pending = await session.scalar(select(BidderKeyReset).where(BidderKeyReset.organisation_id == bidder.id,
                                                                BidderKeyReset.status == PENDING))
    if pending is not None:
        raise Conflict("本单位已有一份待审核的重置申请：请等待交易中心审核，或先撤销该申请", code="reset_pending",
                       reset_id=pending.id)
    reset = BidderKeyReset(organisation_id=bidder.id, replaced_key_id=current.id, new_verify_key=key_hex,
                           reason=reason, requested_by=actor)
    session.add(reset)
    await session.flush()
    await record_event(session, actor=actor, action="bidder_key.reset_requested",
                       subject=f"organisation:{bidder.credit_code}",
                       data={"reset_id": reset.id, "replaced_key_id": current.id, "new_verify_key": key_hex,
                             "key_id": key_id(key_hex), "reason": reason})
    return reset


async def _pending(session: AsyncSession, reset_id: int) -> tuple[BidderKeyReset, Organisation]:
    row = (await session.execute(select(BidderKeyReset, Organisation)
                                 .join(Organisation, Organisation.id == BidderKeyReset.organisation_id)
                                 .where(BidderKeyReset.id == reset_id).with_for_update(of=BidderKeyReset))).first()
    if row is None:
        raise NotFound(f"未找到编号为 {reset_id} 的密钥重置申请", reset_id=reset_id)
    reset, bidder = row
    if reset.status != PENDING:
        raise Conflict(f"该重置申请{reset.status_name}，不能再处理", code="reset_decided", status=reset.status)
    return reset, bidder


async def _decide(session: AsyncSession, reset: BidderKeyReset, status: str, actor: str, note: str,
                  new_key_id: int | None = None) -> None:
    now = await database_now(session)  # before any change: no half-decided flush
    reset.status, reset.decided_by, reset.decision_note, reset.decided_at = status, actor, note, now
    reset.new_key_id = new_key_id
    await session.flush()


async def approve_key_reset(session: AsyncSession, *, actor: str, reset_id: int, identity_check: Any) -> BidderKeyReset:
    """Staff approve after checking the organisation's identity (``identity_check`` says how):
    the requested key becomes current; bids already stored keep their own key."""
    note = _text(identity_check, "identity_check", "身份核验情况")
    reset, bidder = await _pending(session, reset_id)
    await lock_organisation_keys(session, bidder.id)
    current = await active_bidder_key(session, bidder.id)
    if current is None or current.id != reset.replaced_key_id:
        # Its holder rotated the key meanwhile: the request no longer says which key to replace.
        raise Conflict("申请后该单位的身份公钥已经更换，不能按本申请重置；请不予批准，如仍需重置由该单位重新申请",
                       code="reset_lapsed", reset_id=reset.id)
    record = await replace_bidder_key(session, bidder, current, actor=reset.requested_by,
                                      verify_key=reset.new_verify_key, how=RESET)
    await _decide(session, reset, APPROVED, actor, note, new_key_id=record.id)
    await record_event(session, actor=actor, action="bidder_key.reset_approved",
                       subject=f"organisation:{bidder.credit_code}",
                       data={"reset_id": reset.id, "bidder_key_id": record.id, "verify_key": record.verify_key,
                             "key_id": key_id(record.verify_key), "revoked_key_id": current.id,
                             "requested_by": reset.requested_by, "identity_check": note})
    return reset


async def refuse_key_reset(session: AsyncSession, *, actor: str, reset_id: int, reason: Any) -> BidderKeyReset:
    """Staff refuse (the identity could not be confirmed...), saying why; the key stays."""
    note = _text(reason, "reason", "不予批准的理由")
    reset, bidder = await _pending(session, reset_id)
    await _decide(session, reset, REFUSED, actor, note)
    await record_event(session, actor=actor, action="bidder_key.reset_refused",
                       subject=f"organisation:{bidder.credit_code}", data={"reset_id": reset.id, "reason": note})
    return reset


async def cancel_key_reset(session: AsyncSession, *, actor: str, bidder_credit_code: str,
                           reset_id: int) -> BidderKeyReset:
    """The organisation withdraws its own open request (a key found again, a request it did not make)."""
    bidder = await bidder_organisation(session, bidder_credit_code)
    reset, owner = await _pending(session, reset_id)
    if owner.id != bidder.id:
        raise PermissionDenied("只能撤销本单位的重置申请", code="not_own_reset")
    await _decide(session, reset, CANCELLED, actor, "本单位撤销申请")
    await record_event(session, actor=actor, action="bidder_key.reset_cancelled",
                       subject=f"organisation:{bidder.credit_code}", data={"reset_id": reset.id})
    return reset


async def resets_of(session: AsyncSession, organisation_id: int) -> list[BidderKeyReset]:
    """The organisation's reset requests, newest first."""
    return list((await session.scalars(select(BidderKeyReset).where(BidderKeyReset.organisation_id == organisation_id)
                                       .order_by(BidderKeyReset.id.desc()))).all())


async def reset_requests(session: AsyncSession, *, pending_only: bool = False,
                         limit: int = 200) -> list[tuple[BidderKeyReset, Organisation]]:
    """Reset requests for the center's staff with their organisations: open ones first, then
    the latest decided."""
    query = (select(BidderKeyReset, Organisation).join(Organisation, Organisation.id == BidderKeyReset.organisation_id)
             .order_by((BidderKeyReset.status != PENDING), BidderKeyReset.id.desc()).limit(limit))
    if pending_only:
        query = query.where(BidderKeyReset.status == PENDING)
    return [(reset, organisation) for reset, organisation in (await session.execute(query)).all()]
