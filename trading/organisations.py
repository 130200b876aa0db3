"""Regions and organisations, identified by the unified social credit code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit import record_event
from trading.columns import created_at_column
from trading.errors import Conflict, InvalidInput, NotFound
from trading.identifiers import validate_credit_code
from trading.roles import OrgRole

ORG_ROLE_VALUES = ", ".join(f"'{role.value}'" for role in OrgRole)


class Region(SQLModel, table=True):
    """An administrative division (GB/T 2260 code), e.g. 370800 济宁市."""

    __tablename__ = "regions"

    code: str = Field(sa_column=Column(String(6), primary_key=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    parent_code: str | None = Field(default=None, sa_column=Column(String(6), ForeignKey("regions.code"), nullable=True))


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(f"roles <@ ARRAY[{ORG_ROLE_VALUES}]::varchar[]", name="organisations_roles_known"),
        CheckConstraint("cardinality(roles) > 0", name="organisations_roles_present"),
    )

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(sa_column=Column(String(18), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    roles: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    region_code: str = Field(sa_column=Column(String(6), ForeignKey("regions.code"), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


async def register_region(session: AsyncSession, *, actor: str, code: str, name: str, parent_code: str | None = None) -> Region:
    if not (len(code) == 6 and code.isdigit()):
        raise InvalidInput(f"行政区划代码应为6位数字，实为「{code}」", code="invalid_region_code", field="region_code")
    region = Region(code=code, name=name, parent_code=parent_code)
    session.add(region)
    await session.flush()
    await record_event(session, actor=actor, action="region.registered", subject=f"region:{code}",
                       data={"name": name, "parent_code": parent_code})
    return region


async def register_organisation(
    session: AsyncSession, *, actor: str, credit_code: str, name: str, roles: list[str], region_code: str
) -> Organisation:
    """Register an organisation; the credit code's check character is validated."""
    code = validate_credit_code(credit_code)
    name = name.strip()
    if not name:
        raise InvalidInput("单位名称不能为空", code="name_required", field="name")
    try:
        role_values = sorted({OrgRole(role).value for role in roles})
    except ValueError:
        raise InvalidInput(f"未知的单位角色：{', '.join(roles)}", code="unknown_role", field="roles") from None
    if not role_values:
        raise InvalidInput("单位至少应有一个角色", code="role_required", field="roles")
    if await session.get(Region, region_code) is None:
        raise InvalidInput(f"未知的行政区划代码「{region_code}」", code="unknown_region", field="region_code")
    if await session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(f"统一社会信用代码 {code} 已登记", code="credit_code_taken", credit_code=code)
    org = Organisation(credit_code=code, name=name, roles=role_values, region_code=region_code)
    session.add(org)
    await session.flush()
    await record_event(session, actor=actor, action="organisation.registered", subject=f"organisation:{code}",
                       data={"name": name, "roles": role_values, "region_code": region_code})
    return org


async def get_organisation(session: AsyncSession, credit_code: str) -> Organisation:
    code = validate_credit_code(credit_code)
    org = await session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if org is None:
        raise NotFound(f"未找到统一社会信用代码为 {code} 的单位", credit_code=code)
    return org
