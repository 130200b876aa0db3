"""Bulk import of credit records from CSV or XLSX, all rows or none.

Every row is checked first (each cell, duplicates within the file, clashes with the
records already held); any failure rejects the whole file with the full list of (row,
column, reason). A row carrying a department's record id already imported for that
department updates that record (or changes nothing when it is the same); any other row
is entered as a new record. Status is not imported: repair and revocation are separate
acts with their own reasons.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.models import CreditRecord
from credit.records import RecordValues, changes_between, check_record_values, save_new_record, update_record
from trading.audit import record_event
from trading.errors import DomainError, InvalidInput
from trading.spreadsheets import ImportRejected, RowError, read_rows_in_worker

# Service argument -> column header of the file.
COLUMNS = {
    "subject_type": "主体类型",
    "subject_name": "主体名称",
    "subject_key": "统一社会信用代码/身份证号码",
    "department": "认定部门",
    "department_record_id": "部门记录编号",
    "kind": "失信类型",
    "act": "失信行为",
    "decision_number": "决定文书号",
    "effective_from": "生效日期",
    "effective_to": "截止日期",
    "categories": "限制交易类别",
    "region_codes": "限制地区",
}
IMPORT_COLUMNS = tuple(COLUMNS.values())
_COLUMN_ORDER = {column: position for position, column in enumerate(IMPORT_COLUMNS)}
REGISTER, UPDATE, UNCHANGED = "register", "update", "unchanged"


@dataclass(frozen=True)
class ImportSummary:
    filename: str
    rows: int
    entered: list[int] = field(default_factory=list)  # record ids (empty on a dry run)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    new_rows: int = 0
    dry_run: bool = False

    def describe(self) -> str:
        outcome = "检查通过，未写入（试运行）" if self.dry_run else "导入完成"
        return (f"{outcome}：共 {self.rows} 行，新增记录 {self.new_rows} 条，"
                f"更新 {len(self.updated)} 条，无变化 {len(self.unchanged)} 条")

    def as_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "rows": self.rows, "new_rows": self.new_rows, "entered": self.entered,
                "updated": self.updated, "unchanged": self.unchanged, "dry_run": self.dry_run,
                "message": self.describe()}


@dataclass(frozen=True)
class _Planned:
    row: int
    action: str
    values: RecordValues
    existing: CreditRecord | None


def _row_errors(number: int, problems: list[InvalidInput]) -> list[RowError]:
    return [RowError(number, COLUMNS.get(problem.details.get("field", ""), COLUMNS["subject_key"]), problem.message)
            for problem in problems]


def _identity(values: RecordValues) -> tuple[str, ...]:
    return (values.department, values.decision_number, values.subject_type, values.subject_key, values.kind)


async def _existing(session: AsyncSession, values: RecordValues) -> tuple[CreditRecord | None, int | None]:
    """(the record this row updates, a different record of the same decision)."""
    by_id = None
    if values.department_record_id is not None:
        by_id = await session.scalar(select(CreditRecord).where(
            CreditRecord.department_code == values.department,
            CreditRecord.department_record_id == values.department_record_id))
    same = await session.scalar(select(CreditRecord.id).where(
        CreditRecord.department_code == values.department, CreditRecord.decision_number == values.decision_number,
        CreditRecord.subject_type == values.subject_type, CreditRecord.subject_key == values.subject_key,
        CreditRecord.kind == values.kind))
    return by_id, (same if same is not None and (by_id is None or same != by_id.id) else None)


async def _plan_import(session: AsyncSession, filename: str, data: bytes) -> list[_Planned]:
    """Every row's planned action; raises :class:`ImportRejected` listing every bad cell."""
    rows = await read_rows_in_worker(filename, data, IMPORT_COLUMNS)
    if not rows:
        raise InvalidInput("文件中没有数据行：第一行为表头，数据从第二行开始", code="empty_file", field="file")
    errors: list[RowError] = []
    planned: list[_Planned] = []
    first_row_of: dict[tuple[str, ...], int] = {}
    for row in rows:
        raw = {name: row.values.get(column, "") for name, column in COLUMNS.items()}
        values, problems = check_record_values(raw)
        if values is None:
            errors += _row_errors(row.number, problems)
            continue
        keys = [("decision",) + _identity(values)]
        if values.department_record_id is not None:
            keys.append(("record_id", values.department, values.department_record_id))
        repeated = [(key, first_row_of.setdefault(key, row.number)) for key in keys]
        repeated = [(key, first) for key, first in repeated if first != row.number]
        if repeated:
            key, first = repeated[0]
            column = COLUMNS["department_record_id"] if key[0] == "record_id" else COLUMNS["decision_number"]
            what = "部门记录编号" if key[0] == "record_id" else "同一部门对同一主体的同类决定"
            errors.append(RowError(row.number, column, f"{what}与第 {first} 行重复"))
            continue
        by_id, clash = await _existing(session, values)
        if clash is not None:
            errors.append(RowError(row.number, COLUMNS["decision_number"], f"该决定已登记为信用记录 {clash}"))
            continue
        action = REGISTER if by_id is None else (UPDATE if changes_between(by_id, values) else UNCHANGED)
        planned.append(_Planned(row.number, action, values, by_id))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda error: (error.row, _COLUMN_ORDER.get(error.column, 99))))
    return planned


async def import_records(
    session: AsyncSession, *, actor: str, filename: str, data: bytes, dry_run: bool = False,
) -> ImportSummary:
    """Import the credit records of a CSV or XLSX file: every row, or none.

    Raises :class:`ImportRejected` (an ``InvalidInput``) whose ``errors`` list every
    (row, column, reason). ``dry_run`` checks and reports without writing anything.
    One audit entry per record entered or updated, and one for the import itself.
    """
    planned = await _plan_import(session, filename, data)
    new_rows = sum(1 for plan in planned if plan.action == REGISTER)
    updated = [plan.existing.id for plan in planned if plan.action == UPDATE]
    unchanged = [plan.existing.id for plan in planned if plan.action == UNCHANGED]
    if dry_run:
        return ImportSummary(filename, len(planned), [], updated, unchanged, new_rows, dry_run=True)
    entered = []
    async with session.begin_nested():  # should any row fail after all, none stays
        for plan in planned:
            try:
                if plan.action == REGISTER:
                    entered.append((await save_new_record(session, actor=actor, values=plan.values,
                                                          channel="import")).id)
                elif plan.action == UPDATE:
                    await update_record(session, actor=actor, record=plan.existing, values=plan.values)
            except DomainError as exc:
                column = COLUMNS.get(exc.details.get("field", ""), COLUMNS["decision_number"])
                raise ImportRejected([RowError(plan.row, column, exc.message)]) from exc
        await record_event(session, actor=actor, action="credit.records_imported", subject="credit_records",
                           data={"filename": filename, "sha256": hashlib.sha256(data).hexdigest(),
                                 "rows": len(planned), "entered": entered, "updated": updated})
    return ImportSummary(filename, len(planned), entered, updated, unchanged, new_rows)
