"""Sealed bids in the browser (sealed-bid/1); the identity key's page is web/pages/bidder_keys.py.

The key is loaded from a key file (made on the key page or by ``trading bid keygen``) and
used in the browser only (web/static/bidder/): the server sees the signed envelope with its
ciphertext, which the submission route hands to the same service as
``POST /api/projects/{code}/bids`` (bidding.bids.submission.submit_bid) — here with the session cookie and the CSRF header instead of a
bearer token. Answers are JSON for the page's script (``Accept: application/json``) and a
page for a plain form post (files sealed with the command line, no JavaScript).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.reading.bidder_desk import my_key, tender_desk
from bidding.bids.submission import BidSubmission, withdraw_bid
from bidding.bids.opening_keys import opening_public_key
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError, InvalidInput, NotFound
from trading.timefmt import local_time
from web.core.auth import own_organisation
from web.pages.bidder import bidders_only, deposit_account
from web.core.edge import json_text
from web.core.errors import status_of
from web.core.files import MAX_BID_REQUEST_SIZE
from web.core.state import AppContext


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def refusal(exc: DomainError) -> Response[dict[str, Any]]:
    return Response({"error": exc.as_dict()}, status_code=status_of(exc))


class BidderSealingController(Controller):
    path = "/bidder"
    guards = [bidders_only]
    include_in_schema = False

    # ------------------------------------------------------------------ sealing and submission

    @get("/tenders/{code:str}/bid", name="bidder.bid")
    async def bid_page(self, code: str, session: AsyncSession, user: User, context: AppContext) -> Template:
        organisation = await own_organisation(session, user)
        desk = await tender_desk(session, code, organisation)
        try:
            tender_key = await opening_public_key(session, code)
        except NotFound:
            tender_key = None
        return Template("bidder/bid.html", context={
            "organisation": organisation, "desk": desk, "project": desk.project, "tender_key": tender_key,
            "key": await my_key(session, organisation), "public_url": context.settings.public_url,
            "account": deposit_account(context)})

    @post("/tenders/{code:str}/bids", name="bidder.submit", request_max_body_size=MAX_BID_REQUEST_SIZE,
          status_code=HTTP_201_CREATED)
    async def submit(self, code: str, request: Request, session: AsyncSession, user: User,
                     context: AppContext) -> Response[Any] | Template:
        """The same multipart as the API (``envelope`` JSON text, ``ciphertext`` file)."""
        # Read the whole upload before the first query, as the API does.
        form = await request.form()
        envelope_part, ciphertext_part = form.get("envelope"), form.get("ciphertext")
        if isinstance(envelope_part, UploadFile):
            envelope_part = (await envelope_part.read()).decode("utf-8", errors="replace")
        ciphertext = await ciphertext_part.read() if isinstance(ciphertext_part, UploadFile) else None
        try:
            if not isinstance(envelope_part, str) or not envelope_part.strip() or not ciphertext:
                raise InvalidInput("请同时提交投标信封（.envelope.json）与密文文件（.sealed）", code="invalid_upload", field="envelope")
            envelope = json_text(envelope_part, field="envelope", what="投标信封")
            if not isinstance(envelope, dict):
                raise InvalidInput("投标信封应为 JSON 对象", code="invalid_upload", field="envelope")
            # Stored with the tender's other waiting bids, as the API's are (bidding/bids/intake.py).
            receipt = await context.bid_intake.submit(code, BidSubmission(
                actor=actor_of(user), envelope=envelope, ciphertext=ciphertext, organisation_id=user.organisation_id))
        except DomainError as exc:
            if wants_json(request):
                return refusal(exc)
            organisation = await own_organisation(session, user)
            return Template("bidder/submitted.html", status_code=status_of(exc), context={
                "organisation": organisation, "code": code, "error": exc.message, "answer": None})
        organisation = await own_organisation(session, user)
        answer = {**receipt.as_dict(), "center_verify_key": context.keys.verify_key_hex,
                  "superseded": receipt.superseded_envelopes}
        if wants_json(request):
            return Response(answer, status_code=HTTP_201_CREATED)
        return Template("bidder/submitted.html", status_code=HTTP_201_CREATED, context={
            "organisation": organisation, "code": code, "error": None, "answer": answer,
            "received_at": local_time(datetime.fromisoformat(receipt.record["received_at"]), "%Y-%m-%d %H:%M:%S"),
            "answer_json": json.dumps(answer, ensure_ascii=False, indent=1)})

    @post("/tenders/{code:str}/withdrawal", name="bidder.withdraw", status_code=HTTP_201_CREATED)
    async def withdraw(self, code: str, data: dict[str, Any], session: AsyncSession, user: User,
                       context: AppContext) -> Response[Any]:
        """A withdrawal request signed in the browser with the bidder's key (sealed-bid-withdraw/1)."""
        organisation = await own_organisation(session, user)
        try:
            receipt = await withdraw_bid(session, context.keys, actor=actor_of(user), project_code=code,
                                         bidder_credit_code=organisation.credit_code,
                                         request=data.get("request") if isinstance(data, dict) else None,
                                         signature=data.get("signature") if isinstance(data, dict) else None)
        except DomainError as exc:
            await session.rollback()
            return refusal(exc)
        await session.commit()
        return Response({**receipt.as_dict(), "center_verify_key": context.keys.verify_key_hex},
                        status_code=HTTP_201_CREATED)

    @get("/tenders/{code:str}/receipts/{digest:str}", name="bidder.bid_receipt")
    async def bid_receipt(self, code: str, digest: str, session: AsyncSession, user: User,
                          context: AppContext) -> Response[Any]:
        """The center-signed receipt of one of the organisation's own bids, as a JSON file, named
        by its envelope's digest (not by the tender's sequence, which the bidder must not learn)."""
        organisation = await own_organisation(session, user)
        desk = await tender_desk(session, code, organisation)
        bid = next((bid for bid in desk.bids if bid.envelope_sha256 == digest), None)
        if bid is None:
            raise NotFound("未找到本单位的该次投标回执", project=code)
        body = {"receipt": bid.receipt, "signature": bid.receipt_signature, "key_id": bid.receipt_key_id,
                "center_verify_key": context.keys.verify_key_hex}
        if bid.withdrawal:
            body["withdrawal"] = {"receipt": bid.withdrawal.get("receipt"),
                                  "signature": bid.withdrawal.get("receipt_signature")}
        return Response(body, headers={"Content-Disposition":
                                       f'attachment; filename="{code}-receipt-{digest[:16]}.json"'})
