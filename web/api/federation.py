"""The API between cities (docs/federation.md): signed requests from partner centers, and
our own center staff's side: the partner registry and remote draws for our committees.

Routes under /api/federation/draw-requests take no bearer token: each request is checked
against the sending partner's key (trading.federation_wire) and every answer, refusals
included, is signed with our key and bound to the request's nonce.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.status_codes import HTTP_200_OK
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.draws import partner_draws as pd
from bidding.draws.partner_client import PartnerUnreachable
from expert_pool import lending
from expert_pool.committees import committee_view
from trading.accounts import User
from trading.audit import actor_of
from trading.database import transaction
from trading.errors import DomainError, InvalidInput
from trading.federation_wire import NONCE, FederationRefused, check_request, record_refusal, sign_response
from trading.partners import Partner, add_partner, disable_partner, list_partners, own_city
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.edge import json_text
from web.core.errors import error_responses, status_of
from web.core.parameters import RowId
from web.core.state import AppContext
from web.api.schemas.federation import (
    AttendanceMessage,
    Cancelled,
    CancelMessage,
    CityCard,
    CommitteeWithPartners,
    DeclineMessage,
    DrawAnswer,
    DrawRequestMessage,
    FellBack,
    LentStatus,
    PartnerCounts,
    PartnerDrawView,
    PartnerView,
    RatingsMessage,
    RatingsRecorded,
    Recorded,
    RevealAnswer,
    RevealMessage,
    WitnessAnswer,
    WitnessMessage,
)

Work = Callable[[AsyncSession, Partner, dict[str, Any]], Awaitable[dict[str, Any]]]
# Every answer of a signed route is 200 or a signed refusal: 401 for a request that fails the
# federation/1 checks (signature, nonce, clock, unknown partner), the others from the work.
SIGNED_ANSWERS = error_responses({401: "federation refusals (details name the check)"}, 403, 404, 409, 422)


async def _signed_answer(request: Request, context: AppContext, work: Work) -> Response:
    body = await request.body()
    # The path as sent (percent-encoding and all), without the query string.
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else request.scope["path"]
    method = request.method
    nonce = request.headers.get(NONCE, "")
    try:
        # The nonce is stored (committed) whether or not the work succeeds: no replay either way.
        async with transaction(context.sessions) as session:
            partner = await check_request(session, method=method, path=path, headers=request.headers, body=body,
                                          own_city=context.settings.city_code)
        try:
            message = json_text(body.decode(), field="body", what="请求体") if body else {}
        except UnicodeDecodeError:
            raise InvalidInput("请求体不是有效的 JSON") from None
        if not isinstance(message, dict):
            raise InvalidInput("请求体应为 JSON 对象")
        async with transaction(context.sessions) as session:
            result, status = await work(session, partner, message), 200
    except FederationRefused as refused:
        async with transaction(context.sessions) as session:
            await record_refusal(session, refused, method=method, path=path)
        result, status = {"error": refused.as_dict()}, status_of(refused)
    except DomainError as exc:
        result, status = {"error": exc.as_dict()}, status_of(exc)
    content = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    headers = sign_response(context.keys.signing_key, status=status, request_nonce=nonce,
                            from_city=context.settings.city_code, body=content)
    return Response(content, status_code=status, headers=headers, media_type="application/json")


class FederationController(Controller):
    """What partner cities call (signed, federation/1); we lend them experts."""

    path = "/api/federation"
    tags = ["federation"]

    @get("/city", summary="This center as a partner registers it: city code, name, URL, public keys")
    async def city(self, context: AppContext) -> CityCard:
        return own_city(context.settings, context.keys)

    @post("/draw-requests", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="draw-request: draw experts here for the partner's session (signed)",
          body=DrawRequestMessage, answer=DrawAnswer)
    async def draw_request(self, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.lend_experts(
            session, context.keys, partner, message, own_city=context.settings.city_code))

    @get("/draw-requests/{request_id:str}", responses=SIGNED_ANSWERS,
          summary="status: counts per group and every draw (signed)",
          answer=LentStatus)
    async def status(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.lent_status(
            session, context.keys, partner, request_id))

    @post("/draw-requests/{request_id:str}/witness", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="witness: the partner supervisor's value (signed)",
          body=WitnessMessage, answer=WitnessAnswer)
    async def witness(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.witness_lent_draw(
            session, context.keys, partner, request_id, message))

    @post("/draw-requests/{request_id:str}/reveal", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="reveal: at the session start, sealed to the partner (signed)",
          body=RevealMessage, answer=RevealAnswer)
    async def reveal(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.reveal_to_partner(
            session, context.keys, partner, request_id))

    @post("/draw-requests/{request_id:str}/declines", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="decline: an expert's decline relayed (signed)",
          body=DeclineMessage, answer=LentStatus)
    async def decline(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.decline_for_partner(
            session, context.keys, partner, request_id, message))

    @post("/draw-requests/{request_id:str}/attendance", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="attendance: who attended (signed)",
          body=AttendanceMessage, answer=Recorded)
    async def attendance(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.record_attendance(
            session, partner, request_id, message))

    @post("/draw-requests/{request_id:str}/cancel", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="cancel: the partner no longer needs the experts (signed)",
          body=CancelMessage, answer=Cancelled)
    async def cancel(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.cancel_for_partner(
            session, context.keys, partner, request_id, message))

    @post("/draw-requests/{request_id:str}/ratings", status_code=HTTP_200_OK, responses=SIGNED_ANSWERS,
          summary="ratings: the partner's ratings of our experts (signed)",
          body=RatingsMessage, answer=RatingsRecorded)
    async def ratings(self, request_id: str, request: Request, context: AppContext) -> Response:
        return await _signed_answer(request, context, lambda session, partner, message: lending.rate_for_partner(
            session, partner, request_id, message))


class PartnerBody(BaseModel):
    city_code: str = Field(max_length=6)
    name: str = Field(max_length=100)
    base_url: str = Field(max_length=300)
    verify_key: str = Field(max_length=64)
    exchange_key: str = Field(max_length=64)


class ReasonBody(BaseModel):
    reason: str = Field(max_length=500)


class PartnerController(Controller):
    """The partner-city registry, kept by center staff."""

    path = "/api/partners"
    tags = ["federation"]

    @get("/", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)], summary="Every partner city")
    async def list(self, session: AsyncSession) -> list[PartnerView]:
        return [partner.as_dict() for partner in await list_partners(session)]

    @post("/", guards=[requires_role(UserRole.ADMIN)], summary="Register a partner city")
    async def add(self, data: PartnerBody, user: User, session: AsyncSession, context: AppContext) -> PartnerView:
        partner = await add_partner(session, actor=actor_of(user), own_city_code=context.settings.city_code,
                                    **data.model_dump())
        await session.commit()
        return partner.as_dict()

    @post("/{city_code:str}/disable", guards=[requires_role(UserRole.ADMIN)], summary="Disable a partner city")
    async def disable(self, city_code: str, data: ReasonBody, user: User, session: AsyncSession) -> PartnerView:
        partner = await disable_partner(session, actor=actor_of(user), city_code=city_code, reason=data.reason)
        await session.commit()
        return partner.as_dict()


class GroupBody(BaseModel):
    specialty: str = Field(max_length=16)
    count: int = Field(ge=1, le=50)
    reserve_count: int = Field(default=0, ge=0, le=50)


class PartnerDrawBody(BaseModel):
    partner: str = Field(max_length=6, description="the partner's city code")
    groups: list[GroupBody] = Field(min_length=1, max_length=10)


class WitnessBody(BaseModel):
    draw_id: str = Field(max_length=40)
    value: str = Field(max_length=200)


class DeclineBody(BaseModel):
    expert_code: str = Field(max_length=12)
    reason: str = Field(max_length=500)


class AttendanceItem(BaseModel):
    expert_code: str = Field(max_length=12)
    attended: bool
    note: str = Field(default="", max_length=500)


class AttendanceBody(BaseModel):
    records: list[AttendanceItem] = Field(min_length=1, max_length=100)


class RatingBody(BaseModel):
    expert_code: str = Field(max_length=12)
    score: int = Field(ge=0, le=100)
    comment: str = Field(default="", max_length=1000)


async def _sent(session: AsyncSession, request_id: str, user: User, call: Awaitable[Any]) -> Any:
    """Run one exchange with a partner; an unreachable partner is noted on the request."""
    try:
        result = await call
    except PartnerUnreachable as exc:
        await session.rollback()
        await pd.note_failure(session, request_id, exc.message, actor=actor_of(user))
        await session.commit()
        raise
    await session.commit()
    return result


class PartnerDrawController(Controller):
    """Our committees' remote draws: request, witness, open, and what goes back afterwards."""

    path = "/api"
    tags = ["federation"]

    @post("/committees/{request_id:int}/partner-draws", guards=[requires_role(UserRole.ADMIN)],
          summary="Ask a partner city for experts for this committee")
    async def request(self, request_id: RowId, data: PartnerDrawBody, user: User, session: AsyncSession,
                      context: AppContext) -> PartnerDrawView:
        row = await pd.prepare_partner_draw(session, context.settings, actor=actor_of(user),
                                            committee_request_id=request_id, partner_city=data.partner,
                                            groups=[g.model_dump() for g in data.groups])
        await session.commit()
        row = await _sent(session, row.request_id, user, pd.send_partner_draw(
            session, context.keys, context.settings, row.request_id, gateway=context.partner_gateway,
            actor=actor_of(user)))
        return pd.partner_draw_view(row)

    @get("/committees/{request_id:int}/partner-draws", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
         summary="The committee with its local and remote draws")
    async def of_committee(self, request_id: RowId, session: AsyncSession) -> CommitteeWithPartners:
        return {**await committee_view(session, request_id),
                "partner_draws": await pd.partner_draws_of(session, request_id)}

    @get("/partner-draws/{request_id:str}", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
         summary="One remote draw: status, the partner's signed records, names once opened")
    async def view(self, request_id: str, user: User, session: AsyncSession) -> PartnerDrawView:
        # Center staff call the partner's experts once the names are open; supervisors watch.
        return pd.partner_draw_view(await pd.get_partner_draw(session, request_id),
                                    contacts=user.role == UserRole.ADMIN)

    @post("/partner-draws/{request_id:str}/retry", guards=[requires_role(UserRole.ADMIN)],
          summary="Send an unanswered request again (same request id: no second draw)")
    async def retry(self, request_id: str, user: User, session: AsyncSession,
                    context: AppContext) -> PartnerDrawView:
        row = await _sent(session, request_id, user, pd.send_partner_draw(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway, actor=actor_of(user)))
        return pd.partner_draw_view(row)

    @post("/partner-draws/{request_id:str}/witness", guards=[requires_role(UserRole.SUPERVISOR)],
          summary="Our supervisor's witness value for one of the partner's draws")
    async def witness(self, request_id: str, data: WitnessBody, user: User, session: AsyncSession,
                      context: AppContext) -> PartnerDrawView:
        row = await _sent(session, request_id, user, pd.witness_partner_draw(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway,
            draw_id=data.draw_id, value=data.value, by=actor_of(user)))
        return pd.partner_draw_view(row)

    @post("/partner-draws/{request_id:str}/refresh", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
          summary="Ask the partner for counts and draws (replacement draws show up here)")
    async def refresh(self, request_id: str, user: User, session: AsyncSession,
                      context: AppContext) -> PartnerCounts:
        return await _sent(session, request_id, user, pd.refresh_partner_draw(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway))

    @post("/partner-draws/{request_id:str}/open", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
          summary="At the session start: fetch and open the partner's sealed reveal")
    async def open(self, request_id: str, user: User, session: AsyncSession,
                   context: AppContext) -> PartnerDrawView:
        row = await _sent(session, request_id, user, pd.open_partner_draw(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway, actor=actor_of(user)))
        return pd.partner_draw_view(row)

    @post("/partner-draws/{request_id:str}/declines", guards=[requires_role(UserRole.ADMIN)],
          summary="Relay a partner expert's decline: the partner calls its next reserve")
    async def decline(self, request_id: str, data: DeclineBody, user: User, session: AsyncSession,
                      context: AppContext) -> LentStatus:
        return await _sent(session, request_id, user, pd.relay_decline(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway,
            expert_code=data.expert_code, reason=data.reason, actor=actor_of(user)))

    @post("/partner-draws/{request_id:str}/attendance", guards=[requires_role(UserRole.ADMIN)],
          summary="Report who of the partner's experts attended")
    async def attendance(self, request_id: str, data: AttendanceBody, user: User, session: AsyncSession,
                         context: AppContext) -> Recorded:
        return await _sent(session, request_id, user, pd.report_attendance(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway,
            records=[r.model_dump() for r in data.records], actor=actor_of(user)))

    @post("/partner-draws/{request_id:str}/cancel", guards=[requires_role(UserRole.ADMIN)],
          summary="Cancel the remote draw at the partner")
    async def cancel(self, request_id: str, data: ReasonBody, user: User, session: AsyncSession,
                     context: AppContext) -> PartnerDrawView:
        row = await _sent(session, request_id, user, pd.cancel_partner_draw(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway,
            reason=data.reason, actor=actor_of(user)))
        return pd.partner_draw_view(row)

    @post("/partner-draws/{request_id:str}/fallback", guards=[requires_role(UserRole.ADMIN)],
          summary="Draw local experts instead, where the rule set allows (said so in the record)")
    async def fallback(self, request_id: str, data: ReasonBody, user: User, session: AsyncSession,
                       context: AppContext) -> FellBack:
        row = await pd.fall_back_to_local(session, context.keys, context.settings, request_id,
                                          gateway=context.partner_gateway, reason=data.reason, actor=actor_of(user))
        await session.commit()
        return {**pd.partner_draw_view(row), "committee": await committee_view(session, row.committee_request_id)}

    @post("/partner-draws/{request_id:str}/ratings", guards=[requires_role(UserRole.TENDERING_PARTY, UserRole.SUPERVISOR)],
          summary="Rate a partner's expert after the evaluation; the rating goes to the partner")
    async def rate(self, request_id: str, data: RatingBody, user: User, session: AsyncSession,
                   context: AppContext) -> RatingsRecorded:
        return await _sent(session, request_id, user, pd.rate_partner_expert(
            session, context.keys, context.settings, request_id, gateway=context.partner_gateway,
            expert_code=data.expert_code, score=data.score,
            comment=data.comment, rater=actor_of(user), rater_role=UserRole(user.role).value,
            rater_organisation_id=user.organisation_id))
