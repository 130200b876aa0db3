"""Who may read the opening record (开标记录), and from when (sealed-bid.md "Opening").

Before the decryption window is over the record is for the watchers only (supervisors and
the center's administrators): a bidder, a party or the public who could read rivals' prices
during the window could choose whether to let a bid open. Once it is over the record is
public. The API, the party's opening page, the public tender page and the bidder's view all
ask here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.opening.proceedings import OpeningSession, opening_of, opening_record, window_over
from trading.accounts import User
from trading.database import database_now
from trading.errors import NotAuthenticated, PermissionDenied
from trading.roles import UserRole

WATCHERS = frozenset({UserRole.SUPERVISOR.value, UserRole.ADMIN.value})
SEALED_MESSAGE = "解密时限结束前，开标记录仅供监督人员查看"


def opening_record_visible_to(role: str | None, opening: OpeningSession | None, now: datetime) -> bool:
    """Whether someone in ``role`` (None: not signed in) may read the record at ``now``."""
    if role in WATCHERS:
        return True
    return opening is not None and window_over(opening, now)


async def may_read_opening_record(session: AsyncSession, project_code: str, role: str | None) -> bool:
    """:func:`opening_record_visible_to` for the project's opening, now (the database clock)."""
    if role in WATCHERS:
        return True
    return opening_record_visible_to(role, await opening_of(session, project_code), await database_now(session))


async def readable_opening_record(session: AsyncSession, project_code: str, user: User | None) -> dict[str, Any]:
    """The opening record for ``user``; refused (not signed in, or not a watcher) before the window is over."""
    if not await may_read_opening_record(session, project_code, user.role if user is not None else None):
        if user is None:
            raise NotAuthenticated(SEALED_MESSAGE)
        raise PermissionDenied(SEALED_MESSAGE, code="opening_record_sealed")
    return await opening_record(session, project_code)
