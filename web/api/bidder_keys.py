"""The organisation's identity key over the API (sealed-bid.md revision 2): keys are per
organisation, not per tender. A bidder account registers the first key, replaces it with a
rotation signed by the current key, or asks for a reset when the key is lost; the center's
administrators approve or refuse resets after checking the organisation's identity.
Everything is decided by bidding.bids.bidder_keys and bidding.bids.key_resets."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.key_resets import (
    approve_key_reset,
    cancel_key_reset,
    refuse_key_reset,
    request_key_reset,
    reset_requests,
    resets_of,
)
from bidding.bids.bidder_keys import active_bidder_key, key_history, rotate_bidder_key
from trading.accounts import User
from trading.audit import actor_of
from trading.roles import UserRole
from web.core.auth import own_organisation, requires_role
from web.api.bid_wire import (
    KeyAnswer,
    KeyRegistration,
    KeyRotation,
    MyKeys,
    ResetApproval,
    ResetRefusal,
    ResetRequest,
    ResetView,
    StaffResetView,
)
from web.api.bids import key_answer
from web.core.errors import error_responses
from web.core.parameters import RowId

bidders = requires_role(UserRole.BIDDER)
admins = requires_role(UserRole.ADMIN)
staff_readers = requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)
RESET_DECIDED = {404: "not_found", 409: "reset_decided"}


class BidderKeyController(Controller):
    path = "/api/bidder-keys"
    tags = ["bidder keys"]

    @get("/mine", guards=[bidders], summary="The organisation's identity key: the current one, every earlier one "
                                            "(how each came) and its reset requests",
         responses=error_responses({403: "no_organisation, http_403"}, 401))
    async def mine(self, user: User, session: AsyncSession) -> MyKeys:
        organisation = await own_organisation(session, user)
        current = await active_bidder_key(session, organisation.id)
        return {"bidder_credit_code": organisation.credit_code, "current": current.as_dict() if current else None,
                "history": [key.as_dict() for key in await key_history(session, organisation.id)],
                "resets": [reset.as_dict() for reset in await resets_of(session, organisation.id)]}

    @post("/", guards=[bidders], summary="Register the organisation's FIRST identity key (the organisation's, "
                                         "for every tender)",
          description="Registering the same key again answers it. While a key is current another is refused "
                      "(409 bidder_key_exists): use a rotation or a reset.",
          responses=error_responses({400: "invalid_input, invalid_request, invalid_verify_key, not_a_bidder_organisation",
                                     403: "no_organisation, http_403",
                                     409: "bidder_key_exists, bidder_key_reused"}, 401))
    async def register(self, data: KeyRegistration, user: User, session: AsyncSession) -> KeyAnswer:
        return await key_answer(session, user, data.verify_key)

    @post("/rotation", guards=[bidders],
          summary="Replace the organisation's key: a sealed-bid-key-rotation/1 request signed by the current key",
          description="Bids already submitted keep the key they were submitted under: they are opened and can be "
                      "withdrawn only with it.",
          responses=error_responses({
              400: "invalid_request, rotation_format, rotation_mismatch, rotation_signature, rotation_stale",
              403: "no_organisation, http_403",
              409: "rotation_not_current, rotation_replayed, bidder_key_reused", 422: "no_bidder_key"}, 401))
    async def rotate(self, data: KeyRotation, user: User, session: AsyncSession) -> KeyAnswer:
        organisation = await own_organisation(session, user)
        key = await rotate_bidder_key(session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
                                      request=dict(data.request), signature=data.signature)
        await session.commit()
        return {**key.as_dict(), "bidder_credit_code": organisation.credit_code}

    @post("/resets", guards=[bidders],
          summary="Ask the center to reset a lost key: the new verify key and the reason; staff approve after "
                  "checking the organisation's identity",
          responses=error_responses({400: "invalid_input, invalid_request, invalid_verify_key, reset_key_unchanged, "
                                          "text_required, text_too_long",
                                     403: "no_organisation, http_403",
                                     409: "reset_pending", 422: "no_bidder_key"}, 401))
    async def request_reset(self, data: ResetRequest, user: User, session: AsyncSession) -> ResetView:
        organisation = await own_organisation(session, user)
        reset = await request_key_reset(session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
                                        new_verify_key=data.new_verify_key, reason=data.reason)
        await session.commit()
        return reset.as_dict()

    @post("/resets/{reset_id:int}/cancellation", guards=[bidders],
          summary="The organisation withdraws its own pending reset request",
          responses=error_responses({**RESET_DECIDED, 403: "no_organisation, not_own_reset, http_403"}, 401))
    async def cancel_reset(self, reset_id: RowId, user: User, session: AsyncSession) -> ResetView:
        organisation = await own_organisation(session, user)
        reset = await cancel_key_reset(session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
                                       reset_id=reset_id)
        await session.commit()
        return reset.as_dict()

    @get("/resets", guards=[staff_readers], summary="Reset requests for the center's staff: pending first",
         responses=error_responses(None, 400, 401, 403))
    async def list_resets(self, session: AsyncSession,
                          pending: Annotated[bool, Parameter(query="pending", description="Only pending requests")]
                          = False) -> list[StaffResetView]:
        return [{**reset.as_dict(), "bidder_credit_code": organisation.credit_code, "bidder_name": organisation.name}
                for reset, organisation in await reset_requests(session, pending_only=pending)]

    @post("/resets/{reset_id:int}/approval", guards=[admins],
          summary="Approve a reset after checking the organisation's identity (saying how): the new key is current",
          responses=error_responses({**RESET_DECIDED, 400: "invalid_input, invalid_request",
                                     409: "reset_decided, reset_lapsed, bidder_key_reused"}, 401, 403))
    async def approve_reset(self, reset_id: RowId, data: ResetApproval, user: User, session: AsyncSession) -> ResetView:
        reset = await approve_key_reset(session, actor=actor_of(user), reset_id=reset_id,
                                        identity_check=data.identity_check)
        await session.commit()
        return reset.as_dict()

    @post("/resets/{reset_id:int}/refusal", guards=[admins], summary="Refuse a reset, saying why; the key stays",
          responses=error_responses({**RESET_DECIDED, 400: "invalid_input, invalid_request"}, 401, 403))
    async def refuse_reset(self, reset_id: RowId, data: ResetRefusal, user: User, session: AsyncSession) -> ResetView:
        reset = await refuse_key_reset(session, actor=actor_of(user), reset_id=reset_id, reason=data.reason)
        await session.commit()
        return reset.as_dict()
