"""The deadline watch (电子监察) for supervisors: open yellow and red cards."""

from __future__ import annotations

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.deadline_watch import YELLOW_MIN, YELLOW_SHARE, open_cards
from trading.roles import UserRole
from web.core.auth import requires_role
from web.api.schemas.pools import DeadlineCards


class DeadlineCardController(Controller):
    path = "/api/supervision/deadline-cards"
    tags = ["supervision"]

    @get("/", guards=[requires_role(UserRole.SUPERVISOR, UserRole.ADMIN)],
         summary="Open deadline cards (red first): project, act, due time, rule and source; "
                 "include_met=true adds red cards of acts done late")
    async def cards(self, session: AsyncSession, include_met: bool = False) -> DeadlineCards:
        return {"rule": f"期限届满前最后 1/{YELLOW_SHARE} 期间（至少最后 {int(YELLOW_MIN.total_seconds() // 3600)} 小时）"
                        f"未办结亮黄牌；逾期未办结或逾期办结亮红牌",
                "cards": await open_cards(session, include_met=include_met)}
