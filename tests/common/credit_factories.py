"""Factories for the credit tests: valid records, credit staff and department accounts."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.departments import bind_department_account
from credit.models import CreditRecord
from credit.records import enter_record
from tests.common import factories
from trading.accounts import User, create_user
from trading.roles import UserRole

_serial = itertools.count(1)


async def today(session: AsyncSession) -> date:
    return await session.scalar(select(func.current_date()))


async def credit_record(session: AsyncSession, *, credit_code: str | None = None, name: str = "菏泽恒通建设工程有限公司",
                        kind: str = "collusive_bidding", department: str = "住建", days_ago: int = 30,
                        days: int | None = 730, **overrides) -> CreditRecord:
    """A record of an organisation in force today (from ``days_ago`` days ago, for ``days`` days)."""
    start = await today(session) - timedelta(days=days_ago)
    serial = next(_serial)
    values = dict(actor="test:credit", subject_type="organisation", subject_key=credit_code or factories.credit_code(),
                  subject_name=name, department=department, kind=kind, act="在某工程施工招标中串通投标",
                  decision_number=f"测试罚〔2026〕{serial}号", effective_from=start,
                  effective_to=start + timedelta(days=days) if days else None) | overrides
    return await enter_record(session, **values)


async def staff_user(session: AsyncSession, role: UserRole, username: str | None = None) -> User:
    return await create_user(session, actor="test", username=username or f"{role.value}{next(_serial)}",
                             display_name="信用科", role=role.value, password=factories.PASSWORD)


async def department_user(session: AsyncSession, department: str = "housing", username: str | None = None) -> User:
    user = await staff_user(session, UserRole.DEPARTMENT, username)
    await bind_department_account(session, actor="test", username=user.username, department=department)
    return user
