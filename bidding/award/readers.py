"""Who may read what the award stage keeps: the objections to the result and the complaints
(the center and supervisors all; the project's tendering party and agency all; a bidder its
own), and the award notice's PDF (the center, supervisors, the project's parties and the
winner). The API and the pages ask here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import AwardNotice
from bidding.tender.party_projects import PARTY_ROLES, acts_for, check_acts_for
from bidding.tender.projects import Project, get_project
from trading.accounts import User
from trading.errors import NotAuthenticated, PermissionDenied
from trading.roles import UserRole

WATCHERS = frozenset({UserRole.ADMIN.value, UserRole.SUPERVISOR.value})


async def reading_scope(session: AsyncSession, project_code: str, user: User | None) -> int | None:
    """None: the reader sees every objection and complaint; an organisation id: only that bidder's own."""
    if user is None:
        raise NotAuthenticated("请先登录")
    if user.role in WATCHERS:
        return None
    if user.role in PARTY_ROLES:
        await check_acts_for(session, await get_project(session, project_code), user.role, user.organisation_id,
                             "办理此事项")
        return None
    if user.role == UserRole.BIDDER.value:
        if user.organisation_id is None:
            raise PermissionDenied("投标人账号未关联单位，不能投标", code="no_organisation")
        return user.organisation_id
    raise PermissionDenied("您的角色无权查看", code="may_not_view")


async def check_notice_reader(session: AsyncSession, notice: AwardNotice, user: User | None) -> None:
    """The award notice's PDF is for the center, supervisors, the project's parties and the winner."""
    if user is None:
        raise NotAuthenticated("请先登录")
    if user.role in WATCHERS:
        return
    if user.role == UserRole.BIDDER.value and user.organisation_id == notice.organisation_id:
        return
    if user.role in PARTY_ROLES and await acts_for(session, await session.get(Project, notice.project_id),
                                                   user.role, user.organisation_id):
        return
    raise PermissionDenied("只有交易中心、监督人员、招标人及其代理机构和中标人可以下载中标通知书", code="may_not_download")
