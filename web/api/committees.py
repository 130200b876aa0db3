"""Committee requests, experts' invitations, and agency draws over the API."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment, decline_agency
from bidding.draws.project_draws import ask_supervisor_for_agency_draw, draw_project_agency, request_project_committee
from bidding.tender.projects import project_by_code
from expert_pool.committees import GroupSpec, answer_invitation, committee_view, expert_of_user, invitations_of, unseal_committee
from trading.accounts import User
from trading.audit import actor_of
from trading.draws import draw_bundle, get_draw
from trading.errors import PermissionDenied
from trading.organisations import Organisation
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.parameters import RowId
from web.core.state import AppContext
from web.api.schemas.draws import AgencyAssignment, AgencyDeclined, AgencyView, DrawBundle
from web.api.schemas.experts import CommitteeView, Invitation


class GroupRequest(BaseModel):
    specialty: str = Field(max_length=16, description="specialty code; its whole subtree qualifies")
    count: int = Field(ge=1, le=50)
    reserve_count: int = Field(ge=0, le=50)


class CommitteeRequestBody(BaseModel):
    project_code: str = Field(max_length=40)
    starts_at: datetime
    ends_at: datetime
    place: str = Field(max_length=200)
    groups: list[GroupRequest] = Field(min_length=1, max_length=10)
    representatives: int = Field(default=0, ge=0, le=10, description="the tendering party's own members")
    agency_code: str | None = Field(default=None, description="credit code of the project's agency")
    bidder_codes: list[str] = Field(default_factory=list, description="credit codes of the registered bidders")


class AnswerBody(BaseModel):
    accept: bool
    reason: str = Field(default="", max_length=500)


class AgencyDrawBody(BaseModel):
    project_code: str = Field(max_length=40)
    reserve_count: int = Field(default=3, ge=0, le=10)


class DeclineBody(BaseModel):
    reason: str = Field(max_length=500)


class CommitteeController(Controller):
    path = "/api/committees"
    tags = ["draws"]

    @post("/", guards=[requires_role(UserRole.ADMIN)], summary="Request a committee: one sealed draw per group")
    async def request(self, data: CommitteeRequestBody, user: User, session: AsyncSession,
                      context: AppContext) -> CommitteeView:
        request = await request_project_committee(
            session, context.keys, actor=actor_of(user), project_code=data.project_code, starts_at=data.starts_at,
            ends_at=data.ends_at, place=data.place, representatives=data.representatives, agency_code=data.agency_code,
            bidder_codes=data.bidder_codes,
            groups=[GroupSpec(g.specialty, g.count, g.reserve_count) for g in data.groups])
        await session.commit()
        return await committee_view(session, request.id)

    @get("/{request_id:int}", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
         summary="A committee: counts while sealed, members once the session has started")
    async def view(self, request_id: RowId, session: AsyncSession) -> CommitteeView:
        return await committee_view(session, request_id)

    @post("/{request_id:int}/unseal", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
          summary="Unseal at the start of the session (the app also does it on time by itself)")
    async def unseal(self, request_id: RowId, user: User, session: AsyncSession,
                     context: AppContext) -> CommitteeView:
        await unseal_committee(session, context.keys, request_id, actor=actor_of(user))
        await session.commit()
        return await committee_view(session, request_id)


class InvitationController(Controller):
    path = "/api/me/invitations"
    tags = ["draws"]
    guards = [requires_role(UserRole.EXPERT)]

    @get("/", summary="The expert's own invitations: time and place only")
    async def mine(self, user: User, session: AsyncSession) -> list[Invitation]:
        return await invitations_of(session, (await expert_of_user(session, user)).id)

    @post("/{member_id:int}", summary="Confirm or decline (with a reason) an invitation")
    async def answer(self, member_id: RowId, data: AnswerBody, user: User, session: AsyncSession,
                     context: AppContext) -> list[Invitation]:
        expert = await expert_of_user(session, user)
        await answer_invitation(session, context.keys, member_id=member_id, expert_id=expert.id, accept=data.accept,
                                reason=data.reason, actor=actor_of(user))
        await session.commit()
        return await invitations_of(session, expert.id)


async def _agency_view(session: AsyncSession, agency) -> AgencyView | None:
    if agency is None:
        return None
    organisation = await session.get(Organisation, agency.organisation_id)
    return {"code": agency.code, "name": agency.name, "credit_code": organisation.credit_code}


class AgencyDrawController(Controller):
    path = "/api/agency-draws"
    tags = ["draws"]

    @post("/", guards=[requires_role(UserRole.ADMIN)],
          summary="Draw the project's agency: committed now, revealed when the tendering party (or a supervisor "
                  "it asks) supplies the witness value at POST /api/draws/{draw_id}/witness")
    async def draw(self, data: AgencyDrawBody, user: User, session: AsyncSession, context: AppContext) -> DrawBundle:
        draw = await draw_project_agency(session, context.keys, actor=actor_of(user), project_code=data.project_code,
                                         reserve_count=data.reserve_count)
        await session.commit()
        return draw_bundle(draw, context.keys)

    @get("/{project_code:str}", summary="Which agency serves the project now, and whose witness the draw awaits")
    async def current(self, project_code: str, session: AsyncSession) -> AgencyAssignment:
        assignment = await agency_assignment(session, project_code)
        draw = await get_draw(session, assignment.draw_id)
        return {"draw_id": assignment.draw_id, "status": draw.status, "status_name": draw.status_name,
                "witness": draw.witness_role, "supervisor_asked": draw.witness_asked_by is not None,
                "declined": assignment.declined, "agency": await _agency_view(session, assignment.agency)}

    @post("/{project_code:str}/witness-request", guards=[requires_role(UserRole.TENDERING_PARTY)],
          summary="The tendering party asks a supervisor to supply its agency draw's witness value")
    async def ask_supervisor(self, project_code: str, user: User, session: AsyncSession,
                             context: AppContext) -> DrawBundle:
        draw = await ask_supervisor_for_agency_draw(session, project_code=project_code, user=user)
        await session.commit()
        return draw_bundle(draw, context.keys)

    @post("/{project_code:str}/decline", guards=[requires_role(UserRole.TENDERING_PARTY)],
          summary="The tendering party declines the drawn agency, with a reason")
    async def decline(self, project_code: str, data: DeclineBody, user: User,
                      session: AsyncSession) -> AgencyDeclined:
        _, party, _ = await project_by_code(session, project_code)
        if user.organisation_id != party.id:
            raise PermissionDenied("只有本项目的招标人可以拒绝抽中的代理机构", code="not_tendering_party")
        assignment = await decline_agency(session, actor=actor_of(user), project_code=project_code, reason=data.reason)
        await session.commit()
        return {"draw_id": assignment.draw_id, "declined": assignment.declined,
                "agency": await _agency_view(session, assignment.agency)}
