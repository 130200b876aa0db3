"""Bulk import and export as CSV or XLSX, with a per-row error report.

Importers read every row, validate all of them, and write nothing unless every row is
valid: the user gets the whole list of (row, column, reason) at once and nothing is
half-imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import anyio.to_thread
import openpyxl
from openpyxl.cell import WriteOnlyCell

from trading.errors import InvalidInput
from trading.xlsx_stream import Cell, xlsx_rows

MAX_ROWS = 50_000
MAX_COLUMNS = 100  # no import has half as many; cells further right are not read
FORMULA_CELL = "单元格是公式，导入不读取公式：请将该列复制后“选择性粘贴为数值”再导入"


@dataclass(frozen=True)
class RowError:
    row: int  # as the user sees it: the header is row 1, data starts at row 2
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}

    def describe(self) -> str:
        return f"第 {self.row} 行「{self.column}」：{self.reason}"


class ImportRejected(InvalidInput):
    """Nothing was imported; ``errors`` lists every bad cell."""

    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError]) -> None:
        shown = "；".join(error.describe() for error in errors[:5])
        more = f"……共 {len(errors)} 处错误" if len(errors) > 5 else ""
        super().__init__(f"导入未执行，文件中有 {len(errors)} 处错误：{shown}{more}",
                         errors=[error.as_dict() for error in errors])
        self.errors = list(errors)


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, str]


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets store typed-in codes such as 370800 as numbers
    elif isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return str(value).strip()


def read_rows(filename: str, data: bytes, columns: Sequence[str]) -> list[Row]:
    """Rows of a CSV (UTF-8, with or without BOM, or GB18030) or XLSX file keyed by header.

    The file is read as a stream and refused as soon as it reaches a row after the
    ``MAX_ROWS``-th below the header: the rest is never read. A missing required header or
    an unreadable file is one error naming it; formula cells and text the database cannot
    hold are listed cell by cell.
    """
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        table = xlsx_rows(data, max_columns=MAX_COLUMNS)
    elif lowered.endswith(".csv"):
        table = _csv_rows(data)
    else:
        raise InvalidInput(f"不支持的文件类型「{filename}」：请上传 .csv 或 .xlsx 文件", code="unsupported_file_type", field="file")
    try:
        return _keyed_rows(table, columns)
    finally:
        table.close()  # an XLSX archive left half-read


def _keyed_rows(table: Iterator[tuple[int, Sequence[Cell | None]]], columns: Sequence[str]) -> list[Row]:
    first = next(table, None)
    if first is None:
        raise InvalidInput("文件为空：第一行应为表头", code="empty_file", field="file")
    number, cells = first
    header = [_clean(cell.value) if cell is not None else "" for cell in cells] if number == 1 else []
    missing = [column for column in columns if column not in header]
    if missing:
        raise ImportRejected([RowError(1, column, "表头缺少此列") for column in missing])
    named = [(i, name) for i, name in enumerate(header) if name]
    rows: list[Row] = []
    problems: list[RowError] = []
    for number, cells in table:
        if number > MAX_ROWS + 1:  # checked as the rows come: the rest of the file is never read
            raise InvalidInput(f"文件超过 {MAX_ROWS} 行数据：一次最多导入 {MAX_ROWS} 行，请分批导入", code="too_many_rows",
                               field="file", limit=MAX_ROWS)
        present = [(name, cells[i]) for i, name in named if i < len(cells) and cells[i] is not None]
        values = {name: _clean(cell.value) for name, cell in present}
        if not any(values.values()) and not any(cell.formula for _, cell in present):
            continue  # blank lines are skipped, not errors
        for name, cell in present:
            if cell.formula:
                problems.append(RowError(number, name, FORMULA_CELL))
            elif "\x00" in values[name]:
                problems.append(RowError(number, name, "含有空字符（NUL），请删去后再导入"))
        rows.append(Row(number, {name: values.get(name, "") for _, name in named}))
    if problems:
        raise ImportRejected(problems)
    return rows


async def read_rows_in_worker(filename: str, data: bytes, columns: Sequence[str]) -> list[Row]:
    """:func:`read_rows` in a worker thread: parsing a large file must not stall the event
    loop that answers every other request of the portal."""
    return await anyio.to_thread.run_sync(read_rows, filename, data, columns)


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("无法识别文件编码：请保存为 UTF-8 或 GB18030 编码的 CSV", code="unknown_file_encoding", field="file")
    reader = csv.reader(io.StringIO(text))
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            # Our own exports put an apostrophe before text that looks like a formula (csv_cell).
            yield number, [Cell(cell[1:] if cell[:1] == "'" and cell.lstrip("'").startswith(FORMULA_STARTS) else cell)
                           for cell in row[:MAX_COLUMNS]]
    except csv.Error:
        raise InvalidInput(f"CSV 文件第 {number + 1} 行格式有误（引号不配对或单元格过长），无法读取", code="malformed_csv",
                           field="file") from None


# A text cell beginning with one of these is a formula (or becomes one) in spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell that no spreadsheet program runs as a formula: text that begins
    like one gets a leading apostrophe (OWASP's advice against CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + value  # also before apostrophes already there, so that the import takes one off
    return value


def write_rows(filename: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV (UTF-8 with BOM, so Excel opens Chinese text correctly) or XLSX by extension; text
    is written as text, never as a formula."""
    if filename.lower().endswith(".xlsx"):
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append([_xlsx_cell(sheet, column) for column in columns])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([csv_cell(column) for column in columns])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return text.getvalue().encode("utf-8-sig")


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return "" if value is None else value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would store text beginning with "=" as a formula
    return cell
