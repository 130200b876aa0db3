"""Atom 1.0 (RFC 4287) feeds of the public announcements, one per trading category."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from xml.etree import ElementTree

from bidding.reading.listing import ListingRow
from trading.money import yuan

ATOM = "http://www.w3.org/2005/Atom"


def _text(parent: ElementTree.Element, tag: str, text: str, **attributes: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    element.text = text
    return element


def _link(parent: ElementTree.Element, href: str, rel: str = "alternate", media_type: str = "text/html") -> None:
    ElementTree.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "href": href, "type": media_type})


def atom_feed(*, base_url: str, category: str, category_name: str, rows: Sequence[ListingRow],
              updated: datetime, center_name: str) -> bytes:
    """The feed document; each entry links to its tender page (an absolute URL under ``base_url``)."""
    ElementTree.register_namespace("", ATOM)
    base = base_url.rstrip("/")
    feed = ElementTree.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _text(feed, "id", f"{base}/feeds/{category}.atom")
    _text(feed, "title", f"{center_name} · {category_name}交易公告")
    _text(feed, "updated", (rows[0].published_at if rows else updated).isoformat())
    _link(feed, f"{base}/feeds/{category}.atom", rel="self", media_type="application/atom+xml")
    _link(feed, f"{base}/tenders?category={category}")
    author = ElementTree.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", center_name)
    for row in rows:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        page = f"{base}/tenders/{row.project_code}"
        _text(entry, "id", f"{page}#announcement-{row.announcement_id}")
        _text(entry, "title", f"【{row.kind_name}】{row.title}")
        _text(entry, "updated", row.published_at.isoformat())
        _text(entry, "published", row.published_at.isoformat())
        _link(entry, page)
        _text(entry, "category", "", term=row.category, label=row.category_name)
        _text(entry, "summary", f"项目编号 {row.project_code}，{row.project_title}；招标人 {row.tendering_party}；"
                                f"估算价/预算 {yuan(row.estimate_fen)} 元；当前状态：{row.state_name}。")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
