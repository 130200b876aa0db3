"""Department API accounts (行业主管部门): each bound to the one department it pushes for.

The binding lives here, in its own small table, rather than as a column of ``users``:
the departments are credit data (``credit/data/departments.toml``), and ``trading`` —
which owns users — must know nothing of credit. A ``department`` user without a
binding cannot push anything.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from credit.reference import Department, departments, find_department
from trading.accounts import User
from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trading.roles import UserRole


class DepartmentAccount(SQLModel, table=True):
    __tablename__ = "credit_department_accounts"

    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id"), primary_key=True))
    department_code: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    bound_by: str = Field(sa_column=Column(String(200), nullable=False))
    bound_at: datetime = Field(sa_column=created_at_column())


async def bind_department_account(session: AsyncSession, *, actor: str, username: str, department: str) -> DepartmentAccount:
    """Bind a ``department`` user to the department it pushes records for (once)."""
    found = find_department(department)
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"未找到用户「{username}」", username=username)
    if user.role != UserRole.DEPARTMENT.value:
        raise InvalidInput(f"用户「{user.username}」不是{UserRole.DEPARTMENT.label}账号",
                           code="not_a_department_account", field="username")
    existing = await session.get(DepartmentAccount, user.id)
    if existing is not None:
        raise Conflict(f"用户「{user.username}」已绑定部门「{existing.department_code}」",
                       code="department_already_bound", field="username")
    account = DepartmentAccount(user_id=user.id, department_code=found.code, bound_by=actor)
    session.add(account)
    await session.flush()
    await record_event(session, actor=actor, action="credit.department_account_bound", subject=f"user:{user.id}",
                       data={"department": found.code})
    return account


async def department_of(session: AsyncSession, user: User) -> Department:
    """The department a ``department`` user pushes for; refused when it has none."""
    account = await session.get(DepartmentAccount, user.id) if user.role == UserRole.DEPARTMENT.value else None
    if account is None:
        raise PermissionDenied("该账号未绑定行业主管部门，不能报送信用记录", code="no_department")
    return departments()[account.department_code]
