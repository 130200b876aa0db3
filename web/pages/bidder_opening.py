"""The opening (开标) from the bidder's side: sign in, decrypt in the browser with the key
file (the page opens its own ``sealed_bidder`` locally and hands ``K_b`` in through
bidding.opening.proceedings.hand_in_bidder_half, as ``POST /api/projects/{code}/opening/hand-in``
does), follow its own entry and, once the decryption window has closed, the whole opening
record live, and raise objections (异议).

Live: ``GET /bidder/live/{code}`` streams the tender's opening events (server-sent
events, the session cookie) to a bidder taking part in it. Events are passed on by kind
only, without their data (which names other bidders while the window is open): the page
re-reads its fragment (``/opening/state``) on each one, where the access rules apply.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.reading.bidder_desk import opening_desk, tender_desk
from bidding.opening.proceedings import hand_in_bidder_half, raise_objection, sign_in
from bidding.opening.view import bidder_opening_view
from bidding.tender.projects import get_project
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError, NotFound
from trading.event_hub import HEARTBEAT, EventHub
from trading.organisations import Organisation
from trading.timefmt import local_time
from web.core.auth import own_organisation
from web.pages.bidder import bidders_only
from web.pages.bidder_sealing import refusal, wants_json
from web.core.errors import status_of
from web.core.forms import FormState
from web.core.state import AppContext

RETRY_MILLISECONDS = 3000


@dataclass
class HandInForm:
    k_b: str = ""


@dataclass
class ObjectionForm:
    text: str = ""


async def opening_state(session: AsyncSession, code: str, organisation: Organisation) -> dict[str, Any]:
    """What the bidder may see of the opening now (bidding.opening.view): its own entry and how
    many have handed in; the whole record once the decryption window has closed."""
    desk = await opening_desk(session, code, organisation)
    if desk is None:
        return {"desk": None, "view": None, "record": None, "mine": None, "closed": False, "objections": []}
    view = await bidder_opening_view(session, code, organisation.credit_code)
    objections = [{**o, "raised_at_local": local_time(datetime.fromisoformat(o["raised_at"]))}
                  for o in view["objections"]]
    return {"desk": desk, "view": view, "record": view["record"], "mine": view["entry"],
            "closed": view["window_closed"], "objections": objections}


class BidderOpeningController(Controller):
    path = "/bidder"
    guards = [bidders_only]
    include_in_schema = False

    async def _page(self, session: AsyncSession, code: str, user: User, *,
                    hand_in: FormState | None = None, objection: FormState | None = None,
                    status_code: int = 200) -> Template:
        organisation = await own_organisation(session, user)  # afresh: a rollback expires it
        tender = await tender_desk(session, code, organisation)
        return Template("bidder/opening.html", status_code=status_code, context={
            "organisation": organisation, "project": tender.project, "tender": tender,
            "hand_in": hand_in or FormState(), "objection": objection or FormState(),
            **await opening_state(session, code, organisation)})

    @get("/tenders/{code:str}/opening", name="bidder.opening")
    async def opening(self, code: str, session: AsyncSession, user: User) -> Template:
        return await self._page(session, code, user)

    @get("/tenders/{code:str}/opening/state", name="bidder.opening_state")
    async def state(self, code: str, session: AsyncSession, user: User) -> Template:
        """The live part of the opening page, re-read on each event."""
        organisation = await own_organisation(session, user)
        return Template("bidder/_opening_state.html", context={
            "organisation": organisation, "project": await get_project(session, code),
            "hand_in": FormState(), **await opening_state(session, code, organisation)})

    @post("/tenders/{code:str}/opening/sign-in", name="bidder.opening_sign_in")
    async def sign_in(self, code: str, session: AsyncSession, user: User) -> Template | Redirect:
        organisation = await own_organisation(session, user)
        try:
            await sign_in(session, actor=actor_of(user), project_code=code, bidder_credit_code=organisation.credit_code)
        except DomainError as exc:
            await session.rollback()
            form = FormState()
            form.refuse(exc)
            return await self._page(session, code, user, hand_in=form, status_code=status_of(exc))
        await session.commit()
        return Redirect(f"/bidder/tenders/{code}/opening")

    @post("/tenders/{code:str}/opening/hand-in", name="bidder.hand_in")
    async def hand_in(self, code: str, request: Request, session: AsyncSession, user: User, context: AppContext,
                      data: Annotated[HandInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
                      ) -> Template | Redirect | Response[Any]:
        """K_b (hex) opened in the browser, or pasted from ``trading bid decrypt``."""
        organisation = await own_organisation(session, user)
        form = FormState.of({"k_b": data.k_b})
        form.required(("k_b", "密钥份额"))
        if form.ok:
            try:
                entry = await hand_in_bidder_half(session, context.keys, actor=actor_of(user), project_code=code,
                                                  bidder_credit_code=organisation.credit_code, k_b_hex=data.k_b)
            except DomainError as exc:
                await session.rollback()
                if wants_json(request):
                    return refusal(exc)
                form.refuse(exc)
                if not form.errors and form.general:  # a refusal of the hand-in: show it beside the field
                    form.error("k_b", form.general.pop())
                return await self._page(session, code, user, hand_in=form, status_code=status_of(exc))
            await session.commit()
            if wants_json(request):
                return Response({"state": entry.state, "handed_in_at": entry.handed_in_at.isoformat()})
            return Redirect(f"/bidder/tenders/{code}/opening")
        if wants_json(request):
            return Response({"error": {"code": "invalid_input", "message": form.errors["k_b"]}}, status_code=400)
        return await self._page(session, code, user, hand_in=form, status_code=400)

    @post("/tenders/{code:str}/opening/objections", name="bidder.objection")
    async def objection(self, code: str, session: AsyncSession, user: User,
                        data: Annotated[ObjectionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
                        ) -> Template | Redirect:
        organisation = await own_organisation(session, user)
        form = FormState.of({"text": data.text})
        form.required(("text", "异议内容"))
        if form.ok:
            try:
                await raise_objection(session, actor=actor_of(user), project_code=code, text=data.text,
                                      bidder_credit_code=organisation.credit_code)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc)
                if not form.errors and form.general:
                    form.error("text", form.general.pop())
                return await self._page(session, code, user, objection=form, status_code=status_of(exc))
            await session.commit()
            return Redirect(f"/bidder/tenders/{code}/opening#objections")
        return await self._page(session, code, user, objection=form, status_code=400)

    @get("/live/{code:str}", name="bidder.live")
    async def live(self, code: str, session: AsyncSession, user: User, context: AppContext) -> ServerSentEvent:
        organisation = await own_organisation(session, user)
        tender = await tender_desk(session, code, organisation)
        if not tender.bids:
            raise NotFound("本单位在本项目没有投标，无开标动态可看", project=code)
        await session.close()  # nothing is held open while the stream runs
        return ServerSentEvent(opening_events(context.events, f"opening:{code}"))


async def opening_events(hub: EventHub, topic: str) -> AsyncIterator[ServerSentEventMessage]:
    """The topic's events by kind only (``ready`` first: read the state now, then on each event)."""
    subscription = hub.subscribe(topic)
    try:
        yield ServerSentEventMessage(event="ready", data="{}", retry=RETRY_MILLISECONDS)
        async for event in subscription:
            if event.kind == HEARTBEAT:
                yield ServerSentEventMessage(comment="keep-alive", data=None)
            else:
                yield ServerSentEventMessage(id=event.id, event=event.kind, data=json.dumps({"kind": event.kind}))
    finally:
        hub.unsubscribe(subscription)
