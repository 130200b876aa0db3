"""Factories for valid domain objects (valid credit codes and ID numbers included)."""

from __future__ import annotations

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import User, create_user
from trading.identifiers import credit_code_check_char, id_number_check_char
from trading.organisations import Organisation, Region, register_organisation
from trading.roles import USER_ORG_ROLE, UserRole

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def credit_code(serial: int | None = None) -> str:
    body = f"91370800MA{(serial or next(_serial)) % 10_000_000:07d}"
    return body + credit_code_check_char(body)


def id_number(serial: int | None = None) -> str:
    body = f"370802198{(serial or next(_serial)) % 10:01d}0101{(serial or next(_serial)) % 1000:03d}"
    return body + id_number_check_char(body)


async def region(session: AsyncSession, code: str = "370800") -> Region:
    existing = await session.get(Region, code)
    if existing is not None:
        return existing
    record = Region(code=code, name="济宁市")
    session.add(record)
    await session.flush()
    return record


async def organisation(session: AsyncSession, *roles: str, name: str | None = None) -> Organisation:
    serial = next(_serial)
    await region(session)
    return await register_organisation(session, actor="test", credit_code=credit_code(serial),
                                       name=name or f"测试单位{serial}", roles=list(roles) or ["bidder"], region_code="370800")


async def user(session: AsyncSession, role: UserRole = UserRole.BIDDER, *, username: str | None = None) -> User:
    org_role = USER_ORG_ROLE.get(role)
    org = await organisation(session, org_role.value) if org_role else None
    return await create_user(session, actor="test", username=username or f"user{next(_serial)}",
                             display_name="测试用户", role=role.value, password=PASSWORD,
                             organisation_id=org.id if org else None)


async def agency(session: AsyncSession, code: str, categories=("construction",), **values):
    """An active agency in the pool (registers its organisation too)."""
    from agency_pool.agencies import register_agency

    await region(session)
    return await register_agency(session, actor="test", credit_code=values.pop("credit_code", credit_code()),
                                 code=code, name=values.pop("name", f"{code}招标代理有限公司"),
                                 qualification_level=values.pop("qualification_level", "乙级"),
                                 categories=list(categories), city=values.pop("city", "370800"))
