"""The partner-city registry (异地抽取): which other centers may exchange experts with us.

Each partner is named by its administrative division code (GB/T 2260, six digits) and
carries the base URL of its platform, its Ed25519 verify key (every request it sends is
signed with it, docs/federation.md) and its X25519 public key (what we send it sealed).
Center staff add partners and disable them; a disabled partner's requests are refused and
no new request or witness is sent to it (exchanges under way can still be opened,
cancelled, reported and rated). Partners are never deleted: the records they signed stay
checkable.
"""

from __future__ import annotations

import re
from datetime import datetime

import nacl.exceptions
import nacl.signing
from sqlalchemy import CheckConstraint, Column, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound
from trading.keys import CenterKeys
from trading.settings import Settings

ACTIVE, DISABLED = "active", "disabled"
STATUS_NAMES = {ACTIVE: "启用", DISABLED: "已停用"}
CITY_CODE = re.compile(r"^[1-8][0-9]{5}$")
HEX_KEY = re.compile(r"^[0-9a-f]{64}$")
BASE_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


class Partner(SQLModel, table=True):
    __tablename__ = "partners"
    __table_args__ = (CheckConstraint("status IN ('active', 'disabled')", name="partners_status_known"),)

    id: int | None = Field(default=None, primary_key=True)
    city_code: str = Field(sa_column=Column(String(6), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    base_url: str = Field(sa_column=Column(String(300), nullable=False))
    verify_key: str = Field(sa_column=Column(String(64), nullable=False))
    exchange_key: str = Field(sa_column=Column(String(64), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    added_by: str = Field(sa_column=Column(String(200), nullable=False))
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    disabled_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    created_at: datetime = Field(sa_column=created_at_column())

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    def as_dict(self) -> dict[str, object]:
        return {"city_code": self.city_code, "name": self.name, "base_url": self.base_url,
                "verify_key": self.verify_key, "exchange_key": self.exchange_key, "status": self.status,
                "status_name": self.status_name, "disabled_reason": self.disabled_reason}


def check_city_code(value: str, field: str = "city_code") -> str:
    value = (value or "").strip()
    if not CITY_CODE.match(value):
        raise InvalidInput("城市代码应为六位行政区划代码（GB/T 2260），如 370800", code="invalid_city_code", field=field)
    return value


def _check_key(value: str, field: str, label: str) -> str:
    value = (value or "").strip().lower()
    if not HEX_KEY.match(value):
        raise InvalidInput(f"{label}应为 64 位十六进制（32 字节）", code="invalid_key_hex", field=field)
    return value


def own_city(settings: Settings, keys: CenterKeys) -> dict[str, str]:
    """What a partner needs to register us: code, name, URL and both public keys."""
    return {"city_code": settings.city_code, "name": settings.city_name, "base_url": settings.public_url,
            "verify_key": keys.verify_key_hex, "exchange_key": keys.exchange_public_key_hex}


async def add_partner(session: AsyncSession, *, actor: str, city_code: str, name: str, base_url: str, verify_key: str,
                      exchange_key: str, own_city_code: str | None = None) -> Partner:
    city_code = check_city_code(city_code)
    if own_city_code is not None and city_code == own_city_code:
        raise InvalidInput("不能把本市登记为合作城市", code="partner_is_self", field="city_code")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("请填写合作城市名称（不超过100字）", code="name_required", field="name")
    base_url = (base_url or "").strip().rstrip("/")
    if not BASE_URL.match(base_url) or len(base_url) > 300:
        raise InvalidInput("平台地址应以 http:// 或 https:// 开头", code="invalid_partner_url", field="base_url")
    verify_key = _check_key(verify_key, "verify_key", "验签公钥")
    try:
        nacl.signing.VerifyKey(bytes.fromhex(verify_key))
    except (ValueError, nacl.exceptions.CryptoError):
        raise InvalidInput("验签公钥不是有效的 Ed25519 公钥", code="invalid_verify_key", field="verify_key") from None
    exchange_key = _check_key(exchange_key, "exchange_key", "加密公钥")
    if await session.scalar(select(Partner.id).where(Partner.city_code == city_code)):
        raise Conflict(f"合作城市 {city_code} 已登记", code="partner_exists", field="city_code")
    partner = Partner(city_code=city_code, name=name, base_url=base_url, verify_key=verify_key,
                      exchange_key=exchange_key, status=ACTIVE, added_by=actor)
    session.add(partner)
    await session.flush()
    await record_event(session, actor=actor, action="partner.added", subject=f"partner:{city_code}",
                       data={"name": name, "base_url": base_url, "verify_key": verify_key, "exchange_key": exchange_key})
    return partner


async def get_partner(session: AsyncSession, city_code: str) -> Partner:
    partner = await session.scalar(select(Partner).where(Partner.city_code == (city_code or "").strip()))
    if partner is None:
        raise NotFound(f"未登记的合作城市 {city_code}", city_code=city_code)
    return partner


async def active_partner(session: AsyncSession, city_code: str) -> Partner:
    partner = await get_partner(session, city_code)
    if partner.status != ACTIVE:
        raise Conflict(f"合作城市 {partner.name}（{partner.city_code}）已停用",
                       code="partner_disabled", city_code=partner.city_code)
    return partner


async def list_partners(session: AsyncSession) -> list[Partner]:
    return list((await session.scalars(select(Partner).order_by(Partner.city_code))).all())


async def disable_partner(session: AsyncSession, *, actor: str, city_code: str, reason: str) -> Partner:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("停用合作城市必须说明理由", code="reason_required", field="reason")
    partner = await get_partner(session, city_code)
    if partner.status == DISABLED:
        raise Conflict(f"合作城市 {partner.city_code} 已停用", code="partner_disabled")
    partner.status, partner.disabled_reason, partner.disabled_at = DISABLED, reason, await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="partner.disabled", subject=f"partner:{partner.city_code}",
                       data={"reason": reason})
    return partner
