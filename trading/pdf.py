"""PDF documents (sealed result sheets, award notices, receipts) from HTML templates.

WeasyPrint renders; Chinese text needs a CJK font on the machine (Debian's
fonts-noto-cjk, installed by the set-up), named first in the stylesheet.
"""

from __future__ import annotations

import base64
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import segno

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)


def qr_data_uri(url: str) -> str:
    """A QR code of ``url`` as an SVG data URI, to embed in a document."""
    svg = segno.make(url, error="m").svg_inline(scale=4)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def render_pdf(template: str, **context: Any) -> bytes:
    from weasyprint import HTML  # imported late: loading its fonts and libraries takes time

    html = _environment().get_template(template).render(**context)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
