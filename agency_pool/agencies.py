"""Agencies in the pool (招标代理机构库): registration, changes and status.

An agency is an organisation holding the ``agency`` role, entered into the pool under a
public code (the code that appears in published draw pools).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from agency_pool.qualifications import validate_qualification_level
from agency_pool.validation import (
    normalise_agency_code,
    validate_agency_name,
    validate_categories,
    validate_city,
    validate_reason,
)
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import transaction_now
from trading.errors import Conflict, InvalidInput, NotFound
from trading.identifiers import validate_credit_code
from trading.organisations import Organisation, Region, register_organisation
from trading.roles import OrgRole
from trading.rules.store import TRADING_CATEGORIES


class AgencyStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return AGENCY_STATUS_LABELS[self]


AGENCY_STATUS_LABELS = {
    AgencyStatus.ACTIVE: "正常",
    AgencyStatus.SUSPENDED: "暂停",
    AgencyStatus.REVOKED: "取消入库资格",
}

_STATUS_VALUES = ", ".join(f"'{status.value}'" for status in AgencyStatus)
_CATEGORY_VALUES = ", ".join(f"'{code}'" for code in TRADING_CATEGORIES)


class Agency(SQLModel, table=True):
    __tablename__ = "agencies"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="agencies_status_known"),
        CheckConstraint("status = 'active' OR status_reason IS NOT NULL", name="agencies_status_reason_present"),
        CheckConstraint(f"categories <@ ARRAY[{_CATEGORY_VALUES}]::varchar[]", name="agencies_categories_known"),
        CheckConstraint("cardinality(categories) > 0", name="agencies_categories_present"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    qualification_level: str = Field(sa_column=Column(String(20), nullable=False))
    categories: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    city: str = Field(sa_column=Column(String(6), ForeignKey("regions.code"), nullable=False, index=True))
    status: str = Field(default=AgencyStatus.ACTIVE.value,
                        sa_column=Column(String(16), nullable=False, server_default=AgencyStatus.ACTIVE.value))
    status_reason: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    status_changed_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    registered_at: datetime = Field(sa_column=created_at_column())


async def get_agency(session: AsyncSession, code: str, *, for_update: bool = False) -> Agency:
    """The agency with public code ``code``; ``for_update`` locks its row."""
    code = normalise_agency_code(code)
    query = select(Agency).where(Agency.code == code)
    if for_update:
        query = query.with_for_update()
    agency = await session.scalar(query)
    if agency is None:
        raise NotFound(f"未找到机构编号为「{code}」的代理机构", code=code)
    return agency


async def _known_city(session: AsyncSession, city: str) -> str:
    code = (city or "").strip()
    return validate_city(code, {code} if await session.get(Region, code) is not None else set())


async def _agency_organisation(session: AsyncSession, *, actor: str, credit_code: str, name: str, city: str) -> Organisation:
    """The organisation to link: registered now with the agency role, or reused."""
    org = await session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))
    if org is None:
        return await register_organisation(session, actor=actor, credit_code=credit_code, name=name,
                                           roles=[OrgRole.AGENCY.value], region_code=city)
    if OrgRole.AGENCY.value not in org.roles:
        raise Conflict(f"统一社会信用代码 {credit_code} 的单位「{org.name}」已登记，但不具有招标代理机构角色", code="not_an_agency_organisation",
                       credit_code=credit_code, roles=list(org.roles))
    existing = await session.scalar(select(Agency.code).where(Agency.organisation_id == org.id))
    if existing is not None:
        raise Conflict(f"统一社会信用代码 {credit_code} 的单位已以机构编号「{existing}」入库",
                       credit_code=credit_code, code=existing)
    return org


async def register_agency(
    session: AsyncSession,
    *,
    actor: str,
    credit_code: str,
    code: str,
    name: str,
    qualification_level: str,
    categories: list[str],
    city: str,
) -> Agency:
    """Enter an agency into the pool, active.

    The organisation with ``credit_code`` is reused when it is registered with the
    agency role, or registered now (in ``city``) with that role. ``categories`` are
    trading-category codes (or their Chinese names).
    """
    code = normalise_agency_code(code)
    credit_code = validate_credit_code(credit_code)
    name = validate_agency_name(name)
    level = validate_qualification_level(qualification_level)
    category_codes = validate_categories(categories)
    city = await _known_city(session, city)
    if await session.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise Conflict(f"机构编号「{code}」已被使用", code=code)
    org = await _agency_organisation(session, actor=actor, credit_code=credit_code, name=name, city=city)
    agency = Agency(code=code, organisation_id=org.id, name=name, qualification_level=level,
                    categories=category_codes, city=city)
    session.add(agency)
    await session.flush()
    await record_event(session, actor=actor, action="agency.registered", subject=f"agency:{code}",
                       data={"credit_code": credit_code, "name": name, "qualification_level": level,
                             "categories": category_codes, "city": city})
    return agency


async def update_agency(
    session: AsyncSession,
    *,
    actor: str,
    code: str,
    name: str | None = None,
    qualification_level: str | None = None,
    categories: list[str] | None = None,
    city: str | None = None,
) -> Agency:
    """Change an agency's name, level, categories or city (None leaves a value as it is).

    The audit entry lists each changed field as ``[old, new]``; a call that changes
    nothing writes nothing. Status has its own service, :func:`set_agency_status`.
    """
    agency = await get_agency(session, code, for_update=True)
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = validate_agency_name(name)
    if qualification_level is not None:
        wanted["qualification_level"] = validate_qualification_level(qualification_level)
    if categories is not None:
        wanted["categories"] = validate_categories(categories)
    if city is not None:
        wanted["city"] = await _known_city(session, city)
    changes = {field: [getattr(agency, field), value] for field, value in wanted.items()
               if getattr(agency, field) != value}
    if not changes:
        return agency
    for field, (_, value) in changes.items():
        setattr(agency, field, value)
    await session.flush()
    await record_event(session, actor=actor, action="agency.updated", subject=f"agency:{agency.code}",
                       data={"changes": changes})
    return agency


async def set_agency_status(session: AsyncSession, *, actor: str, code: str, status: str, reason: str) -> Agency:
    """Suspend, reinstate or revoke an agency, with a reason (always required).

    Revocation (取消入库资格) is final: a revoked agency re-enters the pool only as a
    new registration after the center's review, never by a status change.
    """
    try:
        target = AgencyStatus(status)
    except ValueError:
        labels = "、".join(f"{known.value}（{known.label}）" for known in AgencyStatus)
        raise InvalidInput(f"未知的代理机构状态「{status}」：应为{labels}之一",
                           code="unknown_agency_status", field="status", found=status) from None
    reason = validate_reason(reason)
    agency = await get_agency(session, code, for_update=True)
    current = AgencyStatus(agency.status)
    if current is AgencyStatus.REVOKED:
        raise Conflict(f"代理机构「{agency.code}」已被取消入库资格，状态不能再变更", code=agency.code)
    if current is target:
        raise Conflict(f"代理机构「{agency.code}」已是「{target.label}」状态", code=agency.code, status=target.value)
    agency.status = target.value
    agency.status_reason = reason
    agency.status_changed_at = await transaction_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="agency.status_changed", subject=f"agency:{agency.code}",
                       data={"from": current.value, "to": target.value, "reason": reason})
    return agency

