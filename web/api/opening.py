"""The opening (开标) over the API: started and finished by the center's administrators,
bidders sign in, hand in their key halves (answered at once, pending: the batch opener
decrypts them) and raise objections for their own organisation,
the maximum bid price and answers to objections come from administrators or the agency.
The opening record is public once the decryption window has closed; supervisors (and
administrators) may watch it at any time."""

from __future__ import annotations

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.opening.proceedings import (
    HANDED_IN_LABEL,
    announce_max_price,
    answer_objection,
    close_window,
    finish_opening,
    hand_in_bidder_half,
    opening_record,
    raise_objection,
    record_other_failure,
    sign_in,
    start_opening,
)
from bidding.opening.view import bidder_opening_view
from bidding.opening.visibility import readable_opening_record
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import NotFound
from trading.roles import UserRole
from web.core.auth import own_organisation, requires_role
from web.api.bodies import json_object
from web.api.bid_wire import HandIn, HandInAnswer, SignInAnswer
from web.core.errors import error_responses
from web.core.parameters import RowId
from web.core.state import AppContext
from web.api.schemas.opening import (
    MaxPrice,
    MaxPriceAnnounced,
    MyOpening,
    ObjectionAnswer,
    ObjectionAnswered,
    ObjectionRaised,
    ObjectionText,
    OpeningFinished,
    OpeningRecordView,
    OtherFailure,
    OtherFailureRecorded,
)

admin_only = requires_role(UserRole.ADMIN)
bidders = requires_role(UserRole.BIDDER)
admin_or_agency = requires_role(UserRole.ADMIN, UserRole.AGENCY)


class OpeningController(Controller):
    path = "/api/projects/{code:str}/opening"
    tags = ["opening"]

    @post("/", guards=[admin_only], summary="Start the opening: center halves opened, decryption window set")
    async def start(self, code: str, user: User, session: AsyncSession, context: AppContext) -> OpeningRecordView:
        await start_opening(session, context.keys, actor=actor_of(user), project_code=code)
        await session.commit()
        return await opening_record(session, code)

    @post("/sign-in", guards=[bidders], summary="A bidder signs in online for its own organisation",
          responses=error_responses({403: "no_organisation, http_403", 404: "not_found, no_opening_entry",
                                     409: "opening_not_started, opening_finished, state_conflict"}, 400, 401))
    async def sign_in(self, code: str, user: User, session: AsyncSession) -> SignInAnswer:
        organisation = await own_organisation(session, user)
        entry = await sign_in(session, actor=actor_of(user), project_code=code,
                              bidder_credit_code=organisation.credit_code)
        await session.commit()
        return {"bidder_credit_code": entry.bidder_credit_code, "signed_in_at": entry.signed_in_at.isoformat()}

    @post("/hand-in", guards=[bidders], summary="Hand in the bidder's key half K_b (hex) within the window",
          description="Answered at once; the server opens the bid with K_c XOR K_b within about a second (its "
                      "outcome: GET .../opening/mine).",
          responses=error_responses({
              400: "invalid_input, invalid_request, invalid_key_half", 403: "no_organisation, http_403",
              404: "not_found, no_opening_entry",
              409: "opening_not_started, opening_finished, state_conflict, already_settled, already_handed_in",
              422: "after_decryption_window"}, 401))
    async def hand_in(self, code: str, data: HandIn, user: User, session: AsyncSession,
                      context: AppContext) -> HandInAnswer:
        organisation = await own_organisation(session, user)
        entry = await hand_in_bidder_half(session, context.keys, actor=actor_of(user), project_code=code,
                                          bidder_credit_code=organisation.credit_code, k_b_hex=data.k_b)
        await session.commit()
        # Answered at once: the batch opener decrypts within about a second (the opening record shows it).
        return {"bidder_credit_code": entry.bidder_credit_code, "state": entry.state, "state_name": HANDED_IN_LABEL,
                "signed_in_at": entry.signed_in_at.isoformat(), "handed_in_at": entry.handed_in_at.isoformat()}

    @post("/close-window", guards=[admin_only], summary="Close the decryption window once it has ended")
    async def close(self, code: str, user: User, session: AsyncSession, context: AppContext) -> OpeningRecordView:
        await close_window(session, actor=actor_of(user), project_code=code, keys=context.keys)
        await session.commit()
        return await opening_record(session, code)

    @post("/other-failures", guards=[admin_only],
          summary="Record a bid not decrypted for a cause not the bidder's (deemed withdrawn)")
    async def other_failure(self, code: str, data: OtherFailure, user: User,
                            session: AsyncSession) -> OtherFailureRecorded:
        data = json_object(data)
        entry = await record_other_failure(session, actor=actor_of(user), project_code=code,
                                           bidder_credit_code=data.get("bidder_credit_code"), reason=data.get("reason"))
        await session.commit()
        return {"bidder_credit_code": entry.bidder_credit_code, "state": entry.state, "cause": entry.cause}

    @post("/max-price", guards=[admin_or_agency], summary="Announce the maximum bid price (最高投标限价, fen)")
    async def max_price(self, code: str, data: MaxPrice, user: User, session: AsyncSession) -> MaxPriceAnnounced:
        opening = await announce_max_price(session, actor=actor_of(user), project_code=code,
                                           max_price_fen=json_object(data).get("max_price_fen"))
        await session.commit()
        return {"max_price_fen": opening.max_price_fen,
                "max_price_announced_at": opening.max_price_announced_at.isoformat()}

    @post("/objections", guards=[bidders], summary="Raise an objection at the opening (异议)")
    async def objection(self, code: str, data: ObjectionText, user: User, session: AsyncSession) -> ObjectionRaised:
        organisation = await own_organisation(session, user)
        objection = await raise_objection(session, actor=actor_of(user), project_code=code,
                                          text=json_object(data).get("text"), bidder_credit_code=organisation.credit_code)
        await session.commit()
        return {"id": objection.id, "text": objection.text, "raised_at": objection.raised_at.isoformat()}

    @post("/objections/{objection_id:int}/answer", guards=[admin_or_agency], summary="Answer an objection")
    async def answer(self, code: str, objection_id: RowId, data: ObjectionAnswer, user: User,
                     session: AsyncSession) -> ObjectionAnswered:
        objection = await answer_objection(session, actor=actor_of(user), project_code=code,
                                           objection_id=objection_id, answer=json_object(data).get("answer"))
        await session.commit()
        return {"id": objection.id, "answer": objection.answer, "answered_by": objection.answered_by}

    @get("/mine", guards=[bidders], summary="The bidder's own entry and how many bidders have handed in "
         "(during the window too; never a rival's entry)")
    async def mine(self, code: str, session: AsyncSession, user: User) -> MyOpening:
        # A bidder follows its own decryption live; the others' entries wait for the window's end.
        organisation = await own_organisation(session, user)
        view = await bidder_opening_view(session, code, organisation.credit_code)
        if view["entry"] is None:
            raise NotFound("本单位在本项目没有参加开标的投标", project=code)
        return {name: view[name] for name in
                ("project", "window_ends_at", "window_closed", "max_price_fen", "handed_in", "entry")}

    @get("/", summary="The opening record: public after the decryption window; supervisors at any time")
    async def record(self, code: str, session: AsyncSession, user: User | None) -> OpeningRecordView:
        return await readable_opening_record(session, code, user)

    @post("/finish", guards=[admin_only], summary="Finish the opening: evaluation, or 流标 when too few valid bids")
    async def finish(self, code: str, user: User, session: AsyncSession, context: AppContext) -> OpeningFinished:
        result = await finish_opening(session, actor=actor_of(user), project_code=code, keys=context.keys)
        await session.commit()
        return result
