"""What a bidder may see of the opening (sealed-bid.md "Opening", revision 2).

During the decryption window a bidder sees its own entry and how many bidders have handed
in their key halves, never a rival's name, price or objection: a bidder who could see
rivals' prices before handing in ``K_b`` could choose whether to let its own bid open. Once
the window has closed (:func:`bidding.opening.visibility.opening_record_visible_to`) the whole opening
record is shown to every bidder, as it is published. The API (``/opening/mine``) and the bidder's
opening page both ask here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.opening.proceedings import opening_record, window_closed
from bidding.opening.visibility import may_read_opening_record
from trading.roles import UserRole


async def bidder_opening_view(session: AsyncSession, project_code: str, credit_code: str) -> dict[str, Any]:
    """The bidder's view: ``entry`` (its own, None when it has no bid in the opening),
    ``handed_in`` (how many bidders have handed in), ``window_closed``, and the whole
    ``record`` only once the window has closed. Conflict when the opening has not started."""
    record = await opening_record(session, project_code)
    closed = await window_closed(session, project_code)
    return {
        "project": record["project"], "window_ends_at": record["window_ends_at"], "window_closed": closed,
        "max_price_fen": record["max_price_fen"],
        "handed_in": sum(1 for entry in record["entries"] if entry["handed_in_at"] is not None),
        "entry": next((entry for entry in record["entries"] if entry["bidder_credit_code"] == credit_code), None),
        "objections": [objection for objection in record["objections"]
                       if closed or objection["bidder_credit_code"] == credit_code],
        "record": record if await may_read_opening_record(session, project_code, UserRole.BIDDER.value) else None,
    }
