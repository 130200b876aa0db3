"""Sealed bids over the API (sealed-bid/1): bidder keys, the tender's opening public key,
submission and withdrawal. There is deliberately no route that returns a bid's ciphertext
or envelope: before the opening nobody, whatever their role, can read a bid here.

``POST /api/projects/{code}/bids`` takes ``multipart/form-data`` with two parts:
``envelope`` (the signed envelope as JSON text) and ``ciphertext`` (the encrypted bid
package as a file, raw bytes). It answers 201 with ``{"receipt", "signature", "key_id",
"center_verify_key", "superseded"}`` only after the bid is committed (``receipt`` is a
``sealed-bid-receipt/2``, no count; ``superseded`` lists the ``envelope_sha256`` of the
organisation's bids it replaced); after the deadline 422 (``after_bid_deadline``) with a
Chinese message.

``GET /api/projects/{code}/opening-key`` (public) answers the center-signed opening key
record: ``{"record": {"protocol": "sealed-bid-opening-key/1", "tender_code", "public_key",
"published_at"}, "signature", "public_key"}``.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bidder_keys import register_bidder_key
from bidding.bids import MAX_CIPHERTEXT_SIZE, BidSubmission, withdraw_bid
from bidding.opening_keys import signed_opening_key
from bidding.projects import project_by_code
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import InvalidInput, PermissionDenied
from trading.organisations import Organisation
from trading.roles import UserRole
from web.auth import requires_role
from web.bodies import json_object
from web.state import AppContext

# The ciphertext limit plus room for the envelope and the multipart framing.
MAX_REQUEST_SIZE = MAX_CIPHERTEXT_SIZE + 1024 * 1024


async def own_organisation(session: AsyncSession, user: User) -> Organisation:
    organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if organisation is None:
        raise PermissionDenied("投标人账号未关联单位，不能投标")
    return organisation


class BidController(Controller):
    path = "/api/projects"
    tags = ["bidding"]

    @post("/{code:str}/bidder-key", guards=[requires_role(UserRole.BIDDER)],
          summary="Register the bidder organisation's identity verify key (Ed25519, hex); replaces the previous one")
    async def register_key(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        await project_by_code(session, code)
        organisation = await own_organisation(session, user)
        key = await register_bidder_key(session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
                                        verify_key=json_object(data, "请求").get("verify_key"))
        await session.commit()
        return {"bidder_credit_code": organisation.credit_code, "verify_key": key.verify_key,
                "registered_at": key.registered_at.isoformat() if key.registered_at else None}

    @get("/{code:str}/opening-key", summary="The tender's opening public key in its center-signed record "
         "(sealed-bid-opening-key/1): check it with the pinned center verify key before sealing")
    async def opening_key(self, code: str, session: AsyncSession, context: AppContext) -> dict[str, Any]:
        return (await signed_opening_key(session, context.keys, code)).as_dict()

    @post("/{code:str}/bids", guards=[requires_role(UserRole.BIDDER)], request_max_body_size=MAX_REQUEST_SIZE,
          summary="Submit a sealed bid (multipart: envelope JSON + ciphertext file); 201 with the signed receipt")
    async def submit(self, code: str, request: Request, user: User, context: AppContext) -> dict[str, Any]:
        if user.organisation_id is None:
            raise PermissionDenied("投标人账号未关联单位，不能投标")
        # The whole upload is read before the bid joins its tender's lane: no connection of the
        # pool waits on a bidder's package trickling in (in a deadline rush, most are uploading).
        form = await request.form()
        envelope_part, ciphertext_part = form.get("envelope"), form.get("ciphertext")
        if isinstance(envelope_part, UploadFile):
            envelope_part = (await envelope_part.read()).decode("utf-8", errors="replace")
        if not isinstance(envelope_part, str) or not isinstance(ciphertext_part, UploadFile):
            raise InvalidInput("请以 multipart/form-data 提交：envelope（信封 JSON）与 ciphertext（密文文件）")
        try:
            envelope = json.loads(envelope_part)
        except ValueError:
            raise InvalidInput("投标信封不是有效的 JSON", field="envelope") from None
        submission = BidSubmission(actor=actor_of(user), envelope=json_object(envelope, "投标信封"),
                                   ciphertext=await ciphertext_part.read(), organisation_id=user.organisation_id)
        # Stored together with the tender's other waiting bids; answered after their commit.
        receipt = await context.bid_intake.submit(code, submission)
        return {**receipt.as_dict(), "center_verify_key": context.keys.verify_key_hex,
                "superseded": receipt.superseded_envelopes}

    @post("/{code:str}/bids/withdrawal", guards=[requires_role(UserRole.BIDDER)],
          summary="Withdraw the current bid: JSON {request, signature} (sealed-bid-withdraw/1); 201 with the receipt")
    async def withdraw(self, code: str, data: dict[str, Any], user: User, session: AsyncSession,
                       context: AppContext) -> dict[str, Any]:
        organisation = await own_organisation(session, user)
        data = json_object(data, "请求")
        receipt = await withdraw_bid(session, context.keys, actor=actor_of(user), project_code=code,
                                     bidder_credit_code=organisation.credit_code, request=data.get("request"),
                                     signature=data.get("signature"))
        await session.commit()
        return {**receipt.as_dict(), "center_verify_key": context.keys.verify_key_hex}
