"""The evaluation as a signed-in person may see it: a committee member as the expert it is,
the project's own tendering party and agency as the party (another project's party nothing),
everyone else by role and organisation (:func:`bidding.evaluation.views.evaluation_view`
says what each sees). The API and the party's result page ask here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.views import evaluation_view
from bidding.tender.party_projects import PARTY_ROLES, acts_for
from bidding.tender.projects import get_project
from expert_pool.committees import expert_of_user
from trading.accounts import User
from trading.errors import PermissionDenied
from trading.roles import UserRole


async def evaluation_for(session: AsyncSession, project_code: str, user: User) -> dict[str, Any]:
    if user.role == UserRole.EXPERT.value:
        expert = await expert_of_user(session, user)
        return await evaluation_view(session, project_code, role=user.role, expert_id=expert.id)
    if user.role in PARTY_ROLES:
        if not await acts_for(session, await get_project(session, project_code), user.role, user.organisation_id):
            raise PermissionDenied("您无权查看本项目的评标情况", code="may_not_view_evaluation")
        return await evaluation_view(session, project_code, role=user.role, party=True)
    return await evaluation_view(session, project_code, role=user.role, organisation_id=user.organisation_id)
