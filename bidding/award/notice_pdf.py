"""The award notice (中标通知书) as a PDF in Chinese, with a QR code of its verification page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trading.money import yuan
from trading.pdf import qr_data_uri, render_pdf
from trading.timefmt import local_time

BASIS_NAMES = {
    "first_candidate": "依法确定排名第一的中标候选人为中标人",
    "tendering_party_choice": "招标人在中标候选人中确定中标人",
}


def award_notice_url(public_url: str, number: str) -> str:
    return f"{public_url.rstrip('/')}/verify/award-notices/{number}"


async def award_notice_pdf(record: Mapping[str, Any], *, verify_key_hex: str, issued_at, contract_days: int | None,
                           contract_source: str | None) -> bytes:
    """Render the notice from its (unsigned) record; the signature covers this PDF's SHA-256."""
    return await render_pdf(
        "award_notice.html", record=record, price_yuan=yuan(record["price_fen"]),
        basis_name=BASIS_NAMES[record["basis"]], issued_local=local_time(issued_at, "%Y年%m月%d日 %H:%M"),
        contract_days=contract_days or 30, contract_source=contract_source, verify_key=verify_key_hex,
        qr=qr_data_uri(record["verify_url"]),
    )
