"""Sealed bids over the API (sealed-bid/1): the tender's opening public key, submission and
withdrawal; the organisation's identity key is web/api/bidder_keys.py (the first registration is
also taken here, under the tender, for clients written before keys were per organisation).
There is deliberately no route that returns a bid's ciphertext or envelope: before the
opening nobody, whatever their role, can read a bid here.

``POST /api/projects/{code}/bids`` takes ``multipart/form-data`` with exactly two parts:
``envelope`` (the signed envelope as JSON text, a plain field) and ``ciphertext`` (the
encrypted bid package as a file, raw bytes). It answers 201 with ``{"receipt", "signature",
"key_id", "center_verify_key", "superseded"}`` only after the bid is committed (``receipt``
is a ``sealed-bid-receipt/2``, no count; ``superseded`` lists the ``envelope_sha256`` of the
organisation's bids it replaced); after the deadline 422 (``after_bid_deadline``) with a
Chinese message. docs/bidder-api.md and the OpenAPI document describe every answer.

``GET /api/projects/{code}/opening-key`` (public) answers the center-signed opening key
record: ``{"record": {"protocol": "sealed-bid-opening-key/1", "tender_code", "public_key",
"published_at"}, "signature", "public_key"}``.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.bidder_keys import register_bidder_key
from bidding.bids.submission import BidSubmission, withdraw_bid
from bidding.bids.opening_keys import signed_opening_key
from bidding.tender.projects import project_by_code
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import InvalidInput, PermissionDenied
from trading.roles import UserRole
from web.core.auth import own_organisation, requires_role
from web.api.bid_wire import BidUpload, KeyAnswer, KeyRegistration, ReceiptAnswer, Withdrawal, WithdrawalAnswer
from web.api.bodies import json_object
from web.core.edge import json_text
from web.core.files import MAX_BID_REQUEST_SIZE
from web.core.errors import domain_error_handler, error_responses, http_error_handler
from web.core.state import AppContext
from web.api.schemas.bids import SignedOpeningKey


UPLOAD_FORMAT = ("请以 multipart/form-data 提交恰好两部分：envelope（信封 JSON 文本，作为普通字段提交，而不是文件）"
                 "与 ciphertext（密文文件）")


def refuse_upload(request: Request, exc: ClientException) -> Response:
    """A body that is not the two-part upload (a part missing, the envelope sent as a file):
    say what the upload must be, not only that it is wrong."""
    if exc.status_code != 400:
        return http_error_handler(request, exc)
    return domain_error_handler(request, InvalidInput(UPLOAD_FORMAT, code="invalid_upload", field="envelope"))


async def key_answer(session: AsyncSession, user: User, verify_key: str) -> KeyAnswer:
    """Register the organisation's first identity key (``bidding.bids.bidder_keys``) and answer it."""
    organisation = await own_organisation(session, user)
    key = await register_bidder_key(session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
                                    verify_key=verify_key)
    await session.commit()
    return {**key.as_dict(), "bidder_credit_code": organisation.credit_code}


class BidController(Controller):
    path = "/api/projects"
    tags = ["bidding"]

    @post("/{code:str}/bidder-key", guards=[requires_role(UserRole.BIDDER)], deprecated=True,
          summary="Register the organisation's first identity key (same as POST /api/bidder-keys)",
          description="The key is the organisation's, not the tender's: the tender in the path only has to exist. "
                      "Replacing a key takes POST /api/bidder-keys/rotation or an approved reset.",
          responses=error_responses({400: "invalid_input, invalid_request, invalid_verify_key", 404: "not_found",
                                     409: "bidder_key_exists, bidder_key_reused"}, 401, 403))
    async def register_key(self, code: str, data: KeyRegistration, user: User, session: AsyncSession) -> KeyAnswer:
        await project_by_code(session, code)
        return await key_answer(session, user, data.verify_key)

    @get("/{code:str}/opening-key", summary="The tender's opening public key in its center-signed record "
         "(sealed-bid-opening-key/1): check it with the pinned center verify key before sealing")
    async def opening_key(self, code: str, session: AsyncSession, context: AppContext) -> SignedOpeningKey:
        return (await signed_opening_key(session, context.keys, code)).as_dict()

    @post("/{code:str}/bids", guards=[requires_role(UserRole.BIDDER)], request_max_body_size=MAX_BID_REQUEST_SIZE,
          exception_handlers={ClientException: refuse_upload},
          summary="Submit a sealed bid (multipart: envelope JSON text + ciphertext file); 201 with the signed receipt",
          description="Answered only after the bid is committed. Sending the same envelope again while it is the "
                      "current bid answers the stored receipt (safe to retry).",
          responses=error_responses({
              400: "invalid_upload, invalid_input, envelope_rejected (details.check: format, tender_code, "
                   "bidder_code, signature, size, sha256), bidder_key_mismatch, ciphertext_too_large",
              403: "no_organisation, http_403", 404: "not_found",
              409: "state_conflict, envelope_reused",
              413: "http_413", 422: "after_bid_deadline, not_registered, registration_refused, deposit_unpaid, "
                                   "no_bidder_key"}, 401))
    async def submit(self, code: str, data: Annotated[BidUpload, Body(
                         media_type=RequestEncodingType.MULTI_PART,
                         description="Exactly two parts: envelope (text) and ciphertext (file).")],
                     request: Request, user: User, context: AppContext) -> ReceiptAnswer:
        if user.organisation_id is None:
            raise PermissionDenied("投标人账号未关联单位，不能投标", code="no_organisation")
        # The whole upload is read before the bid joins its tender's lane: no connection of the
        # pool waits on a bidder's package trickling in (in a deadline rush, most are uploading).
        if set((await request.form()).keys()) != {"envelope", "ciphertext"}:
            raise InvalidInput(UPLOAD_FORMAT, code="invalid_upload", field="envelope")
        envelope = json_text(data.envelope, field="envelope", what="投标信封")
        submission = BidSubmission(actor=actor_of(user), envelope=json_object(envelope, "投标信封"),
                                   ciphertext=await data.ciphertext.read(), organisation_id=user.organisation_id)
        # Stored together with the tender's other waiting bids; answered after their commit.
        receipt = await context.bid_intake.submit(code, submission)
        return {**receipt.as_dict(), "center_verify_key": context.keys.verify_key_hex,
                "superseded": receipt.superseded_envelopes}

    @post("/{code:str}/bids/withdrawal", guards=[requires_role(UserRole.BIDDER)],
          summary="Withdraw the current bid: JSON {request, signature} (sealed-bid-withdraw/1); 201 with the receipt",
          description="Signed by the key the bid was submitted under: a key registered later (rotation, reset) "
                      "cannot withdraw it.",
          responses=error_responses({
              400: "invalid_input, invalid_request, withdraw_format, withdraw_mismatch, withdraw_signature",
              403: "no_organisation, http_403", 404: "not_found", 409: "state_conflict, bid_not_current",
              422: "after_bid_deadline"}, 401))
    async def withdraw(self, code: str, data: Withdrawal, user: User, session: AsyncSession,
                       context: AppContext) -> WithdrawalAnswer:
        organisation = await own_organisation(session, user)
        receipt = await withdraw_bid(session, context.keys, actor=actor_of(user), project_code=code,
                                     bidder_credit_code=organisation.credit_code, request=dict(data.request),
                                     signature=data.signature)
        await session.commit()
        return {**receipt.as_dict(), "center_verify_key": context.keys.verify_key_hex}
