"""Bulk import and export of experts as CSV or XLSX (trading.spreadsheets).

Every row is validated before anything is written; a file with any bad cell imports
nothing and the error report names each (row, column, reason). The export is for the
center's staff: full values unless ``masked`` is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from expert_pool.experts import (
    NewExpert,
    check_employer_name,
    describe_experts,
    insert_experts,
    next_expert_ids,
    one_year_after,
    today,
)
from expert_pool.fields import (
    check_city_code,
    check_name,
    check_phone,
    check_review_date,
    check_title,
    check_years,
)
from expert_pool.models import Expert
from expert_pool.specialties import known_codes, split_codes
from trading.audit import record_event
from trading.columns import any_of
from trading.errors import InvalidInput
from trading.identifiers import mask_id_number, validate_credit_code, validate_id_number
from trading.organisations import Organisation
from trading.spreadsheets import ImportRejected, Row, RowError, read_rows_in_worker, write_rows

NAME = "姓名"
ID_NUMBER = "身份证号码"
EMPLOYER_CODE = "工作单位统一社会信用代码"
EMPLOYER_NAME = "工作单位名称"
SPECIALTIES = "专业代码"
TITLE = "职称"
YEARS = "从业年限"
CITY = "所在城市"
PHONE = "联系电话"
REVIEW_DUE = "下次审定日期"

REQUIRED_COLUMNS = (NAME, ID_NUMBER, EMPLOYER_CODE, SPECIALTIES, TITLE, YEARS, CITY, PHONE)
OPTIONAL_COLUMNS = (EMPLOYER_NAME, REVIEW_DUE)
EXPORT_COLUMNS = ("专家编号", NAME, ID_NUMBER, EMPLOYER_CODE, EMPLOYER_NAME, SPECIALTIES, TITLE, YEARS, CITY, PHONE,
                  "状态", "状态原因", REVIEW_DUE)


@dataclass
class ImportedRow:
    row: int
    name: str
    code: str | None  # None in a dry run


@dataclass
class ImportResult:
    filename: str
    dry_run: bool
    rows: list[ImportedRow] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)


@dataclass
class _Candidate:
    row: int
    fields: dict[str, Any]
    specialties: list[str]


def _check(errors: list[RowError], row: Row, column: str, check, *args: Any) -> Any:
    """Run one field check; a refusal becomes a RowError for this cell."""
    try:
        return check(row.values.get(column, ""), *args)
    except InvalidInput as error:
        errors.append(RowError(row.number, column, error.message))
        return None


def _check_cells(rows: Sequence[Row], day: date) -> tuple[list[_Candidate], list[RowError]]:
    """Every check of a row on its own (no database): run in a worker thread, since tens of
    thousands of rows take seconds."""
    errors: list[RowError] = []
    candidates = []
    for row in rows:
        number = _check(errors, row, ID_NUMBER, validate_id_number, day)
        name = _check(errors, row, NAME, check_name)
        codes = split_codes(row.values.get(SPECIALTIES, ""))
        if not codes:
            errors.append(RowError(row.number, SPECIALTIES, "至少应填写一个专业代码"))
        title = _check(errors, row, TITLE, check_title)
        years = _check(errors, row, YEARS, check_years)
        city = _check(errors, row, CITY, check_city_code)
        phone = _check(errors, row, PHONE, check_phone)
        review_due: date | None = one_year_after(day)
        if row.values.get(REVIEW_DUE, ""):
            review_due = _check(errors, row, REVIEW_DUE, check_review_date, day)
        candidates.append(_Candidate(row=row.number, specialties=codes, fields={
            "name": name, "id_number": number,
            "employer_credit_code": _check(errors, row, EMPLOYER_CODE, validate_credit_code),
            "employer_name": _check(errors, row, EMPLOYER_NAME, check_employer_name),
            "title": title, "years_in_field": years, "city_code": city, "phone": phone, "next_review_due": review_due,
        }))
    return candidates, errors


async def _validate(session: AsyncSession, rows: Sequence[Row]) -> tuple[list[_Candidate], list[RowError]]:
    candidates, errors = await anyio.to_thread.run_sync(_check_cells, rows, await today(session))
    # Then what needs the pool: one query per kind however many rows.
    existing_codes = await known_codes(session, {code for candidate in candidates for code in candidate.specialties})
    numbers = {candidate.fields["id_number"] for candidate in candidates} - {None}
    in_pool = dict((await session.execute(
        select(Expert.id_number, Expert.code).where(any_of(Expert.id_number, numbers)))).all())
    employers = {candidate.fields["employer_credit_code"] for candidate in candidates} - {None}
    organisations = dict((await session.execute(
        select(Organisation.credit_code, Organisation.id).where(any_of(Organisation.credit_code, employers)))).all())
    first_row_of: dict[str, int] = {}
    for candidate in candidates:
        row, number = candidate.row, candidate.fields["id_number"]
        if number is not None:
            if number in first_row_of:
                errors.append(RowError(row, ID_NUMBER, f"与第 {first_row_of[number]} 行的身份证号码重复"))
            else:
                first_row_of[number] = row
            if number in in_pool:
                errors.append(RowError(row, ID_NUMBER,
                                       f"身份证号码 {mask_id_number(number)} 的专家已在库中（{in_pool[number]}）"))
        unknown = [code for code in candidate.specialties if code not in existing_codes]
        if unknown:
            errors.append(RowError(row, SPECIALTIES, f"专业代码不存在：{'、'.join(unknown)}"))
        candidate.fields["employer_id"] = organisations.get(candidate.fields["employer_credit_code"])
    errors.sort(key=lambda error: (error.row, REQUIRED_COLUMNS.index(error.column)
                                   if error.column in REQUIRED_COLUMNS else len(REQUIRED_COLUMNS)))
    return candidates, errors


async def import_experts(session: AsyncSession, *, actor: str, filename: str, data: bytes,
                         dry_run: bool = False) -> ImportResult:
    """Import every row of a CSV/XLSX file, or nothing.

    Raises :class:`~trading.spreadsheets.ImportRejected` listing every bad cell (ID number
    and credit code check characters, unknown specialty codes, title, years, city code,
    phone, duplicates inside the file and against the pool). ``dry_run`` validates only.
    """
    rows = await read_rows_in_worker(filename, data, REQUIRED_COLUMNS)
    if not rows:
        raise InvalidInput("文件中没有专家数据：表头下方至少应有一行", code="empty_file", field="file")
    candidates, errors = await _validate(session, rows)
    if errors:
        raise ImportRejected(errors)
    result = ImportResult(filename=filename, dry_run=dry_run)
    if dry_run:
        result.rows = [ImportedRow(row=c.row, name=c.fields["name"], code=None) for c in candidates]
        return result
    ids = await next_expert_ids(session, len(candidates))
    new = [NewExpert(expert_id, candidate.fields, candidate.specialties) for expert_id, candidate in zip(ids, candidates)]
    await insert_experts(session, actor=actor, experts=new, action="expert.imported")
    result.rows = [ImportedRow(row=candidate.row, name=candidate.fields["name"], code=expert.code)
                   for candidate, expert in zip(candidates, new)]
    await record_event(session, actor=actor, action="experts.imported", subject="experts",
                       data={"file": filename, "count": result.count,
                             "codes": [row.code for row in result.rows]})
    return result


async def export_experts(session: AsyncSession, *, actor: str, filename: str, masked: bool) -> bytes:
    """Every expert, ordered by code, as CSV or XLSX (by ``filename``'s extension).

    Full ID and phone numbers unless ``masked``; the export itself is audited.
    """
    lowered = filename.lower()
    if not lowered.endswith((".csv", ".xlsx")):
        raise InvalidInput(f"不支持的导出格式「{filename}」：请使用 .csv 或 .xlsx", code="unsupported_file_type", field="format")
    experts = list((await session.scalars(select(Expert).order_by(Expert.code))).all())
    records = await describe_experts(session, experts, masked=masked)
    rows = [[record["code"], record["name"], record["id_number"], record["employer_credit_code"],
             record["employer_name"], ";".join(record["specialties"]), record["title"], record["years_in_field"],
             record["city_code"], record["phone"], record["status_label"], record["status_reason"],
             record["next_review_due"]] for record in records]
    await record_event(session, actor=actor, action="experts.exported", subject="experts",
                       data={"file": filename, "masked": masked, "count": len(rows)})
    return write_rows(filename, EXPORT_COLUMNS, rows)
