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
    """A valid ID number, distinct for serials below 50,000 (year and sequence vary)."""
    serial = serial if serial is not None else next(_serial)
    body = f"370802{1950 + serial // 1000 % 50}0101{serial % 1000:03d}"
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


async def expert(session: AsyncSession, *, specialties=("A0801",), employer: str | None = None, **overrides):
    """An active expert in the pool, due for review in a year."""
    from datetime import date

    from expert_pool.experts import register_expert

    serial = next(_serial)
    values = dict(actor="test", name="王建国", id_number=id_number(serial), employer_credit_code=employer or credit_code(serial),
                  specialties=list(specialties), title="正高级", years_in_field=20, city_code="370800",
                  phone="13905370137", next_review_due=date(2027, 12, 31)) | overrides
    return await register_expert(session, **values)


def tender_documents(name: str = "招标文件.pdf") -> "DocumentFile":
    """A small tender documents file: announcements go out with their documents."""
    from bidding.notice.documents import DocumentFile

    return DocumentFile(filename=name, content="第一章 招标公告\n第二章 投标人须知\n".encode() * 20,
                        media_type="application/pdf")


async def bidder_key(session: AsyncSession, credit_code: str, signing_key) -> None:
    """Make ``signing_key`` the organisation's current identity key: registered as its first, or,
    when the organisation already has another (an earlier test's, whose seed is gone), through a
    reset that staff approve — the way a lost key is replaced."""
    from sqlalchemy import select

    from bidding.bids.key_resets import approve_key_reset, request_key_reset
    from bidding.bids.bidder_keys import active_bidder_key, register_bidder_key

    verify_hex = signing_key.verify_key.encode().hex()
    found = await session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))
    current = await active_bidder_key(session, found.id) if found is not None else None
    if current is None or current.verify_key == verify_hex:
        await register_bidder_key(session, actor="test", bidder_credit_code=credit_code, verify_key=verify_hex)
        return
    reset = await request_key_reset(session, actor="test", bidder_credit_code=credit_code, new_verify_key=verify_hex,
                                    reason="测试：上一把密钥已不在")
    await approve_key_reset(session, actor="test:admin", reset_id=reset.id, identity_check="测试：核验营业执照")
