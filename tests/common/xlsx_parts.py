"""Hand-made XLSX files from raw parts: what a hostile or an unusual writer puts in a workbook
(openpyxl and Excel read them too)."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx_file(sheet_data: str, *, shared_strings: list[str] | None = None, styles: str | None = None,
              level: int = 9) -> bytes:
    """A workbook of one sheet whose <sheetData> is ``sheet_data``."""
    links = [f'<Relationship Id="rId1" Type="{OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>']
    parts = {"xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}</sheetData></worksheet>'}
    if shared_strings is not None:
        links.append(f'<Relationship Id="rId2" Type="{OFFICE}/sharedStrings" Target="sharedStrings.xml"/>')
        items = "".join(f"<si><t>{escape(text)}</t></si>" for text in shared_strings)
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{items}</sst>'
    if styles is not None:
        links.append(f'<Relationship Id="rId3" Type="{OFFICE}/styles" Target="styles.xml"/>')
        parts["xl/styles.xml"] = f'<styleSheet xmlns="{MAIN}">{styles}</styleSheet>'
    kinds = {"xl/workbook.xml": "sheet.main", "xl/worksheets/sheet1.xml": "worksheet",
             "xl/sharedStrings.xml": "sharedStrings", "xl/styles.xml": "styles"}
    overrides = "".join(f'<Override PartName="/{name}" ContentType="{SPREADSHEET}.{kind}+xml"/>'
                        for name, kind in kinds.items() if name in parts or name == "xl/workbook.xml")
    parts["[Content_Types].xml"] = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>')
    parts["_rels/.rels"] = (f'<Relationships xmlns="{RELATIONSHIPS}"><Relationship Id="rId1" '
                            f'Type="{OFFICE}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    parts["xl/workbook.xml"] = (f'<workbook xmlns="{MAIN}" xmlns:r="{OFFICE}"><sheets>'
                                '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    parts["xl/_rels/workbook.xml.rels"] = f'<Relationships xmlns="{RELATIONSHIPS}">{"".join(links)}</Relationships>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def text_cell(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def row(*cells: str) -> str:
    return f"<row>{''.join(cells)}</row>"


def text_rows(*rows: list[str]) -> str:
    """<sheetData> of text cells, one <row> per list."""
    return "".join(row(*(text_cell(value) for value in values)) for values in rows)
