"""Bulk import and export as CSV or XLSX, with a per-row error report.

Importers read every row, validate all of them, and write nothing unless every row is
valid: the user gets the whole list of (row, column, reason) at once and nothing is
half-imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import openpyxl
from openpyxl.cell import WriteOnlyCell

from trading.errors import InvalidInput

MAX_ROWS = 50_000


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
    return str(value).strip()


def read_rows(filename: str, data: bytes, columns: Sequence[str]) -> list[Row]:
    """Rows of a CSV (UTF-8, with or without BOM, or GB18030) or XLSX file keyed by header.

    A missing required header or an unreadable file is one error naming it.
    """
    lowered = filename.lower()
    if lowered.endswith(".xlsx"):
        table = _xlsx_rows(data)
    elif lowered.endswith(".csv"):
        table = _csv_rows(data)
    else:
        raise InvalidInput(f"不支持的文件类型「{filename}」：请上传 .csv 或 .xlsx 文件", field="file")
    if not table:
        raise InvalidInput("文件为空：第一行应为表头", field="file")
    header = [_clean(cell) for cell in table[0]]
    missing = [column for column in columns if column not in header]
    if missing:
        raise ImportRejected([RowError(1, column, "表头缺少此列") for column in missing])
    if len(table) - 1 > MAX_ROWS:
        raise InvalidInput(f"一次最多导入 {MAX_ROWS} 行", field="file")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {name: _clean(cells[i]) if i < len(cells) else "" for i, name in enumerate(header) if name}
        if any(values.values()):  # blank lines are skipped, not errors
            rows.append(Row(number, values))
    return rows


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("无法识别文件编码：请保存为 UTF-8 或 GB18030 编码的 CSV", field="file")
    # Our own exports put an apostrophe before text that looks like a formula (csv_cell).
    return [[cell[1:] if cell[:1] == "'" and cell.lstrip("'").startswith(FORMULA_STARTS) else cell for cell in row]
            for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise InvalidInput("无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式", field="file") from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


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
