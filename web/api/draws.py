"""Draws over the API for outsiders and supervisors: bundles, witness, void; the draw's page
and its sealed result sheet are web/pages/draws.py."""

from __future__ import annotations

from litestar import Controller, get, post
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.draws.project_draws import witness_draw
from trading.accounts import User
from trading.audit import actor_of
from trading.draws import COMMITTED, STATUS_NAMES, draw_bundle, draws_of_project, get_draw, void_draw
from trading.errors import NotFound, PermissionDenied
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.draws import avoided_bidders_of
from web.core.state import AppContext
from web.api.schemas.draws import AvoidedBidders, DrawBundle, DrawSummary


class WitnessRequest(BaseModel):
    value: str = Field(max_length=200, description="typed by the witness (a supervisor; for an agency draw the "
                                                   "tendering party, or a supervisor it asked), or generated on "
                                                   "their side")


class VoidRequest(BaseModel):
    reason: str = Field(max_length=500)


def draw_summary(draw) -> DrawSummary:
    return {"draw_id": draw.draw_id, "purpose": draw.purpose, "project_code": draw.project_code,
            "status": draw.status, "status_name": STATUS_NAMES[draw.status],
            "committed_at": draw.commit_record["committed_at"], "continues": draw.continues_draw_id,
            "void_reason": draw.void_reason, "void_approved_by": draw.void_approved_by,
            "void_after_witness": draw.status == "voided" and draw.witness_at is not None}


class DrawApiController(Controller):
    path = "/api/draws"
    tags = ["draws"]

    @get("/", summary="Every draw of a project, voided ones included")
    async def list_for_project(self, project: str, session: AsyncSession) -> list[DrawSummary]:
        return [draw_summary(draw) for draw in await draws_of_project(session, project)]

    @get("/{draw_id:str}", summary="The draw bundle of sealed-draw/1, for independent verification")
    async def bundle(self, draw_id: str, session: AsyncSession, context: AppContext) -> DrawBundle:
        return draw_bundle(await get_draw(session, draw_id), context.keys)

    @get("/{draw_id:str}/avoided-bidders",
         summary="After the reveal: the salt and bidders whose digest is criteria.exclude_bidders_sha256")
    async def avoided(self, draw_id: str, session: AsyncSession) -> AvoidedBidders:
        disclosed = await avoided_bidders_of(session, await get_draw(session, draw_id))
        if disclosed is None:
            raise NotFound("本次抽取没有可公开的回避投标人名单（揭晓前不公开）")
        return disclosed

    @post("/{draw_id:str}/witness", guards=[requires_role(UserRole.SUPERVISOR, UserRole.TENDERING_PARTY)],
          summary="Supply the witness value after the commit record is public: a supervisor; for an agency "
                  "draw the project's tendering party, or a supervisor it asked (never the center)")
    async def witness(self, draw_id: str, data: WitnessRequest, user: User, session: AsyncSession,
                      context: AppContext) -> DrawBundle:
        draw = await witness_draw(session, context.keys, draw_id=draw_id, value=data.value, user=user)
        await session.commit()
        return draw_bundle(draw, context.keys)

    @post("/{draw_id:str}/void", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
          summary="Void an unfinished draw with a reason, in a signed sealed-draw-void/1 record (after the "
                  "witness: supervisors only, and the record publishes the center's seed)")
    async def void(self, draw_id: str, data: VoidRequest, user: User, session: AsyncSession,
                   context: AppContext) -> DrawSummary:
        draw = await get_draw(session, draw_id)
        approval = actor_of(user) if user.role == UserRole.SUPERVISOR else None
        if draw.status != COMMITTED and approval is None:
            raise PermissionDenied("见证值提交后作废抽取须经监督人员批准", code="void_needs_supervisor")
        draw = await void_draw(session, context.keys, draw_id, reason=data.reason, actor=actor_of(user),
                               approved_by_supervisor=approval)
        await session.commit()
        return draw_summary(draw)
