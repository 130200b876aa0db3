"""What tests read in a PDF: its text (pypdf, no system tool), and the fonts it embeds."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from fontTools.ttLib import TTFont
from pypdf import PdfReader

BUNDLED_FAMILY = "Noto Sans SC"
# The whole bundled face has 30,898 glyphs: a document's subset has a few hundred.
SUBSET_MAX_GLYPHS = 1_000


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@dataclass(frozen=True)
class EmbeddedFont:
    name: str  # the PDF's BaseFont, "ABCDEF+..." for a subset
    family: str  # from the embedded font program's own name table
    glyphs: int
    size: int  # bytes of the (uncompressed) font program


def embedded_fonts(pdf: bytes) -> list[EmbeddedFont]:
    """Every font the pages use; a font without an embedded program has ``family`` "".

    Only composite (Type0) and simple TrueType fonts are expected: what WeasyPrint writes.
    """
    found: dict[str, EmbeddedFont] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            program = next((descriptor[key] for key in ("/FontFile2", "/FontFile3", "/FontFile") if key in descriptor),
                           None)
            if program is None:
                found[str(font["/BaseFont"])] = EmbeddedFont(str(font["/BaseFont"]), "", 0, 0)
                continue
            data = program.get_object().get_data()
            parsed = TTFont(io.BytesIO(data))
            found[str(font["/BaseFont"])] = EmbeddedFont(str(font["/BaseFont"]), parsed["name"].getDebugName(1),
                                                         parsed["maxp"].numGlyphs, len(data))
    return list(found.values())


def assert_only_the_bundled_font(pdf: bytes) -> list[EmbeddedFont]:
    """Every font of the PDF is the bundled Noto Sans SC, embedded and subset."""
    fonts = embedded_fonts(pdf)
    assert fonts, "the PDF has no font"
    for font in fonts:
        assert font.family == BUNDLED_FAMILY, font
        assert re.fullmatch(r"/[A-Z]{6}\+.+", font.name), font  # the PDF names a subset so
        assert 0 < font.glyphs < SUBSET_MAX_GLYPHS, font
    return fonts
