"""The organisation's identity key page (/bidder/key): the first key registered, the key
replaced by a rotation signed in the browser with the current key file, a reset asked for
when the key is lost (and withdrawn while pending), the keys' history and every reset with
its outcome. Keys are made and used in the browser only (web/static/bidder/); the server
sees verify keys and signed requests. The same services as /api/bidder-keys decide."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.key_resets import PENDING, cancel_key_reset, request_key_reset, resets_of
from bidding.bids.bidder_keys import active_bidder_key, key_history, register_bidder_key, rotate_bidder_key
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError
from web.core.auth import own_organisation
from web.pages.bidder import bidders_only
from web.pages.bidder_sealing import refusal
from web.core.errors import status_of
from web.core.forms import FormState, form_values
from web.core.parameters import RowId
from web.core.state import AppContext


class BidderKeyPageController(Controller):
    path = "/bidder/key"
    guards = [bidders_only]
    include_in_schema = False

    async def _page(self, session: AsyncSession, user: User, context: AppContext, *,
                    form: FormState | None = None,
                    reset: FormState | None = None, status_code: int = 200, done: str = "") -> Template:
        organisation = await own_organisation(session, user)  # afresh: a rollback expires it
        resets = await resets_of(session, organisation.id)
        return Template("bidder/key.html", status_code=status_code, context={
            "organisation": organisation, "key": await active_bidder_key(session, organisation.id),
            "history": await key_history(session, organisation.id), "resets": resets,
            "pending": next((r for r in resets if r.status == PENDING), None),
            "form": form or FormState.of({"verify_key": ""}),
            "reset": reset or FormState.of({"new_verify_key": "", "reason": ""}), "done": done,
            # What the browser pins when the first key is registered (trust on first use,
            # web/static/bidder/center_pin.js); the sealing page never takes it from the server again.
            "center_verify_key": context.keys.verify_key_hex, "center_key_id": context.keys.key_id})

    @get("/", name="bidder.key")
    async def key(self, session: AsyncSession, user: User, context: AppContext, saved: bool = False,
                  done: str = "") -> Template:
        return await self._page(session, user, context, done="registered" if saved else done)

    @post("/", name="bidder.register_key")
    async def register_key(self, request: Request, session: AsyncSession, user: User,
                           context: AppContext) -> Template | Redirect:
        """The organisation's first key (a later one needs a rotation or a reset)."""
        organisation = await own_organisation(session, user)
        form = FormState.of(await form_values(request))
        form.required(("verify_key", "身份公钥"))
        status = await self._attempt(session, form, lambda: register_bidder_key(
            session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
            verify_key=form.value("verify_key")))
        if status:
            return await self._page(session, user, context, form=form, status_code=status)
        return Redirect("/bidder/key?saved=1")

    @staticmethod
    async def _attempt(session: AsyncSession, form: FormState, act, aliases: dict[str, str] | None = None) -> int:
        """Run ``act`` and commit; 0, or the refusal's status with the refusal on the form."""
        if not form.ok:
            return 400
        try:
            await act()
        except DomainError as exc:
            await session.rollback()
            form.refuse(exc, aliases=aliases)
            return status_of(exc)
        await session.commit()
        return 0

    @post("/rotation", name="bidder.rotate_key", status_code=HTTP_201_CREATED)
    async def rotate(self, data: dict[str, Any], session: AsyncSession, user: User) -> Response[Any]:
        """A sealed-bid-key-rotation/1 request signed in the browser with the current key file."""
        organisation = await own_organisation(session, user)
        body = data if isinstance(data, dict) else {}
        try:
            key = await rotate_bidder_key(session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
                                          request=body.get("request"), signature=body.get("signature"))
        except DomainError as exc:
            await session.rollback()
            return refusal(exc)
        await session.commit()
        return Response({**key.as_dict(), "bidder_credit_code": organisation.credit_code},
                        status_code=HTTP_201_CREATED)

    @post("/resets", name="bidder.request_key_reset")
    async def request_reset(self, request: Request, session: AsyncSession, user: User,
                            context: AppContext) -> Template | Redirect:
        """A lost key: the new verify key and the reason, for the center's staff to decide."""
        organisation = await own_organisation(session, user)
        form = FormState.of(await form_values(request))
        form.required(("new_verify_key", "新身份公钥"), ("reason", "申请重置的原因"))
        status = await self._attempt(session, form, lambda: request_key_reset(
            session, actor=actor_of(user), bidder_credit_code=organisation.credit_code,
            new_verify_key=form.value("new_verify_key"), reason=form.value("reason")),
            aliases={"verify_key": "new_verify_key"})
        if status:
            return await self._page(session, user, context, reset=form, status_code=status)
        return Redirect("/bidder/key?done=reset_requested")

    @post("/resets/{reset_id:int}/cancellation", name="bidder.cancel_key_reset")
    async def cancel_reset(self, reset_id: RowId, session: AsyncSession, user: User,
                           context: AppContext) -> Template | Redirect:
        organisation = await own_organisation(session, user)
        form = FormState.of({"new_verify_key": "", "reason": ""})
        status = await self._attempt(session, form, lambda: cancel_key_reset(
            session, actor=actor_of(user), bidder_credit_code=organisation.credit_code, reset_id=reset_id))
        if status:
            return await self._page(session, user, context, reset=form, status_code=status)
        return Redirect("/bidder/key?done=reset_cancelled")
