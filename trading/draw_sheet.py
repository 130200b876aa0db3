"""The sealed result sheet (密封打印) of a draw, as a PDF, once the result is unsealed."""

from __future__ import annotations

import json

from trading.draws import REVEALED, Draw
from trading.errors import Conflict
from trading.keys import CenterKeys
from trading.pdf import qr_data_uri, render_pdf
from trading.timefmt import rfc3339

PURPOSE_NAMES = {"expert": "评标专家", "agency": "招标代理机构"}


def draw_verification_url(public_url: str, draw_id: str) -> str:
    return f"{public_url.rstrip('/')}/draws/{draw_id}"


async def draw_sheet_pdf(draw: Draw, keys: CenterKeys, *, public_url: str, names: dict[str, str] | None = None) -> bytes:
    """The sheet with records, signatures and a QR code of the verification page.

    ``names`` maps public codes to display names for the people who may see them.
    """
    if draw.status != REVEALED:
        raise Conflict(f"抽取 {draw.draw_id} 的结果尚未揭晓，不能打印结果单", code="draw_not_revealed")
    url = draw_verification_url(public_url, draw.draw_id)
    return await render_pdf(
        "draw_sheet.html", draw=draw, purpose_name=PURPOSE_NAMES[draw.purpose], commit=draw.commit_record,
        criteria=json.dumps(draw.commit_record["criteria"], ensure_ascii=False, sort_keys=True),
        witness={"value": draw.witness_value, "by": draw.witness_by, "at": rfc3339(draw.witness_at)},
        reveal=draw.reveal_record, names=names or {}, verify_key=keys.verify_key_hex, qr=qr_data_uri(url),
        verify_url=url,
    )
