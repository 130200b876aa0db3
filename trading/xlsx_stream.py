"""The rows of an XLSX file's first worksheet, read as a stream within hard limits.

A hostile workbook is small on the wire and huge inside: a few dozen kilobytes of deflated
XML can hold hundreds of thousands of rows, or one row of millions of cells. openpyxl,
even read-only, builds a whole row's cells (and whole style and string tables as objects)
before it gives anything out. This reader refuses a file whose parts together expand
beyond ``MAX_EXPANDED_BYTES`` before parsing anything, then walks the XML with expat
callbacks: it holds at most one row of ``max_columns`` cells at a time (cells further
right are skipped unread), and its caller stops it at the row cap.

Formula cells are marked as such (their cached value is not trusted: what a spreadsheet
program shows is recomputed and may differ). Numbers in a date format become dates.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel

from trading.errors import InvalidInput

# A 50,000-row import of a dozen columns written by Excel or openpyxl is 30-60 MB of XML.
MAX_EXPANDED_BYTES = 128 * 1024 * 1024
# Every cell element costs time even when skipped: 50,000 rows of 40 columns is plenty.
MAX_CELLS = 2_000_000
_CHUNK = 64 * 1024
_OFFICE_DOCUMENT = "/officeDocument"
# Built-in number formats that show a date: the common ones and the East Asian ones
# (27-36, 50-58: 年/月/日 formats that Chinese Excel writes without a format code).
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])

DAMAGED = "无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式"


@dataclass(frozen=True, slots=True)
class Cell:
    value: str | int | float | bool | date | datetime | None
    formula: bool = False


def xlsx_rows(data: bytes, *, max_columns: int) -> Iterator[tuple[int, list[Cell | None]]]:
    """(row number, cells of columns 1..max_columns, None where empty) of the first sheet,
    in order; rows without any cell are left out. Raises :class:`InvalidInput` for a
    damaged file or one that expands beyond the limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        expanded = sum(info.file_size for info in archive.infolist())
    except Exception:  # noqa: BLE001 - zipfile raises many kinds for a damaged archive
        raise InvalidInput(DAMAGED, code="damaged_spreadsheet", field="file") from None
    if expanded > MAX_EXPANDED_BYTES:
        raise InvalidInput(f"Excel 文件解压后超过 {MAX_EXPANDED_BYTES // (1024 * 1024)} MB，不予读取："
                           "请删去无关的工作表和格式，或分批导入", code="spreadsheet_too_large", field="file", limit=MAX_EXPANDED_BYTES)
    with archive:
        try:
            book = _workbook(archive)
            strings = _shared_strings(archive, book.shared_strings) if book.shared_strings else []
            dates = _date_styles(archive, book.styles) if book.styles else frozenset()
            yield from _SheetReader(strings, dates, book.epoch, max_columns).rows(archive, book.sheet)
        except InvalidInput:
            raise
        except Exception:  # noqa: BLE001 - damaged XML, a missing part, a bad number, a bad CRC...
            raise InvalidInput(DAMAGED, code="damaged_spreadsheet", field="file") from None


@dataclass(frozen=True)
class _Book:
    sheet: str
    shared_strings: str | None
    styles: str | None
    epoch: datetime


def _walk(archive: zipfile.ZipFile, path: str, start: Callable[[str, dict[str, str]], None],
          end: Callable[[str], None] | None = None, text: Callable[[str], None] | None = None) -> Iterator[None]:
    """Feed one part through expat a chunk at a time; yields after each chunk so that the
    caller can hand out what the callbacks collected. Tags by local name (some writers
    prefix every tag, ``x:c``); attributes as written."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    local: dict[str, str] = {}

    def local_name(tag: str) -> str:
        name = local.get(tag)
        if name is None:
            name = local[tag] = tag.rpartition(":")[2]
        return name

    parser.StartElementHandler = lambda tag, attrs: start(local_name(tag), attrs)
    if end is not None:
        parser.EndElementHandler = lambda tag: end(local_name(tag))
    if text is not None:
        parser.CharacterDataHandler = text
    with archive.open(path) as part:
        while chunk := part.read(_CHUNK):
            parser.Parse(chunk, False)
            yield
    parser.Parse(b"", True)
    yield


def _attribute(attrs: dict[str, str], name: str) -> str | None:
    """An attribute by local name (``r:id`` is ``id``), in the small parts that prefix them."""
    return next((value for key, value in attrs.items() if key.rpartition(":")[2] == name), None)


def _relationships(archive: zipfile.ZipFile, path: str) -> dict[str, tuple[str, str]]:
    """Id -> (type, target as an archive path) of a part's relationships file."""
    folder, name = posixpath.split(path)
    rels_path = posixpath.join(folder, "_rels", name + ".rels")
    found: dict[str, tuple[str, str]] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "Relationship" and attrs.get("TargetMode") != "External":
            target = attrs["Target"]
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            found[attrs["Id"]] = (attrs.get("Type", ""), target)

    if rels_path in archive.NameToInfo:
        for _ in _walk(archive, rels_path, start):
            pass
    return found


def _workbook(archive: zipfile.ZipFile) -> _Book:
    document = next(target for kind, target in _relationships(archive, "").values()
                    if kind.endswith(_OFFICE_DOCUMENT))
    sheets: list[str] = []
    epoch = [WINDOWS_EPOCH]

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "sheet":
            sheets.append(_attribute(attrs, "id"))
        elif tag == "workbookPr" and (_attribute(attrs, "date1904") or "").lower() in ("1", "true"):
            epoch[0] = MAC_EPOCH

    for _ in _walk(archive, document, start):
        if sheets:
            break  # the first sheet is all an import reads
    links = _relationships(archive, document)
    by_kind = {kind.rpartition("/")[2]: target for kind, target in links.values()}
    return _Book(sheet=links[sheets[0]][1], shared_strings=by_kind.get("sharedStrings"), styles=by_kind.get("styles"),
                 epoch=epoch[0])


class _TextCollector:
    """Text of <t> elements, except those of phonetic runs (<rPh>) that show readings."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.in_text = False
        self.phonetic = 0

    def start(self, tag: str) -> None:
        if tag == "rPh":
            self.phonetic += 1
        elif tag == "t" and not self.phonetic:
            self.in_text = True

    def end(self, tag: str) -> None:
        if tag == "rPh":
            self.phonetic -= 1
        elif tag == "t":
            self.in_text = False

    def text(self, data: str) -> None:
        if self.in_text:
            self.parts.append(data)

    def take(self) -> str:
        joined = "".join(self.parts)
        self.parts.clear()
        return joined


def _shared_strings(archive: zipfile.ZipFile, path: str) -> list[str]:
    strings: list[str] = []
    collector = _TextCollector()

    def end(tag: str) -> None:
        collector.end(tag)
        if tag == "si":
            strings.append(collector.take())

    for _ in _walk(archive, path, lambda tag, attrs: collector.start(tag), end, collector.text):
        pass
    return strings


def _date_styles(archive: zipfile.ZipFile, path: str) -> frozenset[int]:
    """Indexes of the cell formats (``s`` of a cell) that show numbers as dates."""
    custom: dict[int, str] = {}
    formats: list[int] = []
    inside = [False]

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "numFmt":
            custom[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            inside[0] = True
        elif tag == "xf" and inside[0]:
            formats.append(int(attrs.get("numFmtId", 0)))

    def end(tag: str) -> None:
        if tag == "cellXfs":
            inside[0] = False

    for _ in _walk(archive, path, start, end):
        pass

    def shows_date(number_format: int) -> bool:
        if number_format in custom:
            return is_date_format(custom[number_format])
        return number_format in _DATE_FORMAT_IDS or is_date_format(BUILTIN_FORMATS.get(number_format, "General"))

    return frozenset(index for index, number_format in enumerate(formats) if shows_date(number_format))


def _column_index(reference: str) -> int:
    """1 for "A1", 28 for "AB7"."""
    index = 0
    for letter in reference:
        if "A" <= letter <= "Z":
            index = index * 26 + ord(letter) - 64
        else:
            break
    if not 0 < index <= 16384:
        raise ValueError(reference)
    return index


class _SheetReader:
    def __init__(self, strings: list[str], dates: frozenset[int], epoch: datetime, max_columns: int) -> None:
        self.strings, self.dates, self.epoch, self.max_columns = strings, dates, epoch, max_columns
        self.done: list[tuple[int, list[Cell | None]]] = []
        self.row_number = 0
        self.cells: list[Cell | None] | None = None
        self.column = 0
        self.seen = 0  # cell elements, read or skipped
        self.cell: dict[str, Any] | None = None  # the cell being read, None when skipped
        self.value: list[str] = []
        self.in_value = False
        self.inline = _TextCollector()

    def rows(self, archive: zipfile.ZipFile, path: str) -> Iterator[tuple[int, list[Cell | None]]]:
        for _ in _walk(archive, path, self.start, self.end, self.text):
            yield from self.done
            self.done.clear()

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "c" and self.cells is not None:
            self.seen += 1
            if self.seen > MAX_CELLS:
                raise InvalidInput(f"Excel 文件的单元格超过 {MAX_CELLS // 10_000} 万个，不予读取："
                                   "请删去无关的列或分批导入", code="spreadsheet_too_large", field="file", limit=MAX_CELLS)
            self.column = _column_index(attrs["r"]) if "r" in attrs else self.column + 1
            self.cell = None
            if self.column <= self.max_columns:
                self.cell = {"type": attrs.get("t", "n"), "style": int(attrs.get("s", 0)), "formula": False}
        elif self.cell is not None:
            if tag == "f":
                self.cell["formula"] = True
            elif tag == "v":
                self.in_value = True
            else:
                self.inline.start(tag)
        elif tag == "row":
            number = int(attrs["r"]) if "r" in attrs else self.row_number + 1
            if number <= self.row_number:
                raise ValueError("rows out of order")
            self.row_number, self.cells, self.column = number, [None] * self.max_columns, 0

    def end(self, tag: str) -> None:
        if self.cell is not None:
            if tag == "c":
                self.cells[self.column - 1] = self._finish(self.cell, "".join(self.value), self.inline.take())
                self.cell = None
                self.value.clear()
            elif tag == "v":
                self.in_value = False
            else:
                self.inline.end(tag)
        elif tag == "row":
            if any(cell is not None for cell in self.cells):
                self.done.append((self.row_number, self.cells))
            self.cells = None

    def text(self, data: str) -> None:
        if self.cell is not None:
            if self.in_value:
                self.value.append(data)
            else:
                self.inline.text(data)

    def _finish(self, cell: dict[str, Any], value: str, inline: str) -> Cell | None:
        if cell["formula"]:
            return Cell(None, formula=True)
        kind = cell["type"]
        if kind == "inlineStr":
            return Cell(inline) if inline else None
        if not value:
            return None
        if kind == "s":
            index = int(value)
            if index < 0:
                raise ValueError(value)
            return Cell(self.strings[index])
        if kind == "b":
            return Cell(value == "1")
        if kind in ("str", "e", "d"):  # a formula's text, an error such as #N/A, an ISO date
            return Cell(value)
        try:
            number: int | float = int(value)  # exactly, however long (codes typed as numbers)
        except ValueError:
            number = float(value)
        if cell["style"] in self.dates:
            try:
                moment = from_excel(number, self.epoch)
            except (OverflowError, ValueError):
                return Cell(number)
            if isinstance(moment, datetime):
                return Cell(moment.date() if moment.time() == datetime.min.time() else moment)
        return Cell(number)
