"""Bulk import of agencies from CSV or XLSX, all rows or none.

Every row is checked first (each cell, duplicates within the file, clashes with the
pool); any failure rejects the whole file with the full list of (row, column, reason).
A row whose code is new enters the pool; a row whose code is already in the pool, for
the same credit code, updates that agency's name, level, categories and city. Status
is not imported: it changes only through ``set_agency_status``, with a reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import Agency, register_agency, update_agency
from agency_pool.qualifications import validate_qualification_level
from agency_pool.validation import (
    normalise_agency_code,
    split_categories,
    validate_agency_name,
    validate_categories,
    validate_city,
)
from trading.audit import record_event
from trading.columns import any_of
from trading.errors import DomainError, InvalidInput
from trading.identifiers import validate_credit_code
from trading.organisations import Organisation, Region
from trading.roles import OrgRole
from trading.spreadsheets import ImportRejected, Row, RowError, read_rows_in_worker

# Service argument -> column header of the file.
COLUMNS = {
    "code": "机构编号",
    "credit_code": "统一社会信用代码",
    "name": "机构名称",
    "qualification_level": "资质等级",
    "categories": "服务类别",
    "city": "所在地区",
}
IMPORT_COLUMNS = tuple(COLUMNS.values())
_COLUMN_ORDER = {column: position for position, column in enumerate(IMPORT_COLUMNS)}


@dataclass(frozen=True)
class ImportSummary:
    filename: str
    rows: int
    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    dry_run: bool = False

    def describe(self) -> str:
        outcome = "检查通过，未写入（试运行）" if self.dry_run else "导入完成"
        return (f"{outcome}：共 {self.rows} 行，新入库 {len(self.registered)} 家，"
                f"更新 {len(self.updated)} 家，无变化 {len(self.unchanged)} 家")

    def as_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "rows": self.rows, "registered": self.registered,
                "updated": self.updated, "unchanged": self.unchanged, "dry_run": self.dry_run,
                "message": self.describe()}


@dataclass(frozen=True)
class _Planned:
    row: int
    action: str  # "register", "update" or "unchanged"
    values: dict[str, Any]


@dataclass(frozen=True)
class _PoolState:
    """What the pool already holds for the codes of the file."""

    credit_code_of_agency: dict[str, str]  # agency code -> credit code
    agency_of_credit_code: dict[str, str]  # credit code -> agency code
    agencies: dict[str, Agency]
    organisations: dict[str, Organisation]  # registered organisations named in the file
    regions: set[str]


def _cell_checks(regions: Collection[str]) -> dict[str, Callable[[str], Any]]:
    return {
        "code": normalise_agency_code,
        "credit_code": validate_credit_code,
        "name": validate_agency_name,
        "qualification_level": validate_qualification_level,
        "categories": lambda text: validate_categories(split_categories(text)),
        "city": lambda text: validate_city(text, regions),
    }


def _parse(row: Row, checks: dict[str, Callable[[str], Any]]) -> tuple[dict[str, Any], list[RowError]]:
    values, errors = {}, []
    for name, check in checks.items():
        column = COLUMNS[name]
        try:
            values[name] = check(row.values.get(column, ""))
        except InvalidInput as exc:
            errors.append(RowError(row.number, column, exc.message))
    return values, errors


async def _pool_state(session: AsyncSession, credit_codes: list[str]) -> _PoolState:
    pairs = (await session.execute(select(Agency, Organisation.credit_code)
                                   .join(Organisation, Organisation.id == Agency.organisation_id))).all()
    organisations = {org.credit_code: org for org in (await session.scalars(
        select(Organisation).where(any_of(Organisation.credit_code, credit_codes)))).all()}
    return _PoolState(
        credit_code_of_agency={agency.code: credit for agency, credit in pairs},
        agency_of_credit_code={credit: agency.code for agency, credit in pairs},
        agencies={agency.code: agency for agency, _ in pairs},
        organisations=organisations,
        regions=set((await session.scalars(select(Region.code))).all()),
    )


def _clashes(number: int, values: dict[str, Any], pool: _PoolState) -> list[RowError]:
    code, credit = values["code"], values["credit_code"]
    registered_credit = pool.credit_code_of_agency.get(code)
    if registered_credit is not None and registered_credit != credit:
        return [RowError(number, COLUMNS["credit_code"],
                         f"机构编号「{code}」已登记为统一社会信用代码 {registered_credit} 的机构，不能改为其他单位")]
    registered_code = pool.agency_of_credit_code.get(credit)
    if registered_code is not None and registered_code != code:
        return [RowError(number, COLUMNS["code"], f"该单位已以机构编号「{registered_code}」入库")]
    org = pool.organisations.get(credit)
    if org is not None and OrgRole.AGENCY.value not in org.roles:
        return [RowError(number, COLUMNS["credit_code"], f"该单位「{org.name}」已登记，但不具有招标代理机构角色")]
    return []


def _action(values: dict[str, Any], pool: _PoolState) -> str:
    agency = pool.agencies.get(values["code"])
    if agency is None:
        return "register"
    same = all(getattr(agency, name) == values[name] for name in ("name", "qualification_level", "categories", "city"))
    return "unchanged" if same else "update"


async def _plan_import(session: AsyncSession, filename: str, data: bytes) -> list[_Planned]:
    """Every row's planned action; raises :class:`ImportRejected` listing every bad cell."""
    rows = await read_rows_in_worker(filename, data, IMPORT_COLUMNS)
    if not rows:
        raise InvalidInput("文件中没有数据行：第一行为表头，数据从第二行开始", code="empty_file", field="file")
    texts = [row.values.get(COLUMNS["credit_code"], "") for row in rows]
    candidates = sorted({code for code in (_credit_or_none(text) for text in texts) if code})
    pool = await _pool_state(session, candidates)
    checks = _cell_checks(pool.regions)
    errors: list[RowError] = []
    planned: list[_Planned] = []
    first_row_of: dict[tuple[str, str], int] = {}
    for row in rows:
        values, row_errors = _parse(row, checks)
        repeated = []
        for name in ("code", "credit_code"):
            if name not in values:
                continue
            first = first_row_of.setdefault((name, values[name]), row.number)
            if first != row.number:
                what = f"机构编号「{values[name]}」" if name == "code" else "统一社会信用代码"
                repeated.append(RowError(row.number, COLUMNS[name], f"{what}与第 {first} 行重复"))
        row_errors += repeated
        if "code" in values and "credit_code" in values and not repeated:
            row_errors += _clashes(row.number, values, pool)
        errors.extend(row_errors)
        if not row_errors:
            planned.append(_Planned(row.number, _action(values, pool), values))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda error: (error.row, _COLUMN_ORDER.get(error.column, 99))))
    return planned


def _credit_or_none(text: str) -> str | None:
    try:
        return validate_credit_code(text)
    except InvalidInput:
        return None


async def import_agencies(
    session: AsyncSession, *, actor: str, filename: str, data: bytes, dry_run: bool = False
) -> ImportSummary:
    """Import the agencies of a CSV or XLSX file: every row, or none.

    Raises :class:`ImportRejected` (an ``InvalidInput``) whose ``errors`` list every
    (row, column, reason). ``dry_run`` checks and reports without writing anything.
    One audit entry per agency registered or updated, and one for the import itself.
    """
    planned = await _plan_import(session, filename, data)
    by_action = {action: [p.values["code"] for p in planned if p.action == action]
                 for action in ("register", "update", "unchanged")}
    summary = ImportSummary(filename=filename, rows=len(planned), registered=by_action["register"],
                            updated=by_action["update"], unchanged=by_action["unchanged"], dry_run=dry_run)
    if dry_run:
        return summary
    # A savepoint: should any row fail after all (a concurrent registration), none stays.
    async with session.begin_nested():
        for plan in planned:
            await _apply(session, actor, plan)
        await record_event(session, actor=actor, action="agencies.imported", subject="agency_pool",
                           data={"filename": filename, "sha256": hashlib.sha256(data).hexdigest(),
                                 "rows": summary.rows, "registered": summary.registered, "updated": summary.updated})
    return summary


async def _apply(session: AsyncSession, actor: str, plan: _Planned) -> None:
    values = plan.values
    try:
        if plan.action == "register":
            await register_agency(session, actor=actor, **values)
        elif plan.action == "update":
            await update_agency(session, actor=actor, code=values["code"], name=values["name"],
                                qualification_level=values["qualification_level"],
                                categories=values["categories"], city=values["city"])
    except DomainError as exc:
        column = COLUMNS.get(exc.details.get("field", ""), COLUMNS["code"])
        raise ImportRejected([RowError(plan.row, column, exc.message)]) from exc
