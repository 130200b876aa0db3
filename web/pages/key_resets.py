"""The center's page for bidder key resets (/center/bidder-key-resets): the organisations'
requests to replace a lost identity key, approved by an administrator after checking the
organisation's identity (saying how) or refused with the reason; supervisors read it. The
same services as the API (bidding.bids.key_resets) decide and audit."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.key_resets import approve_key_reset, refuse_key_reset, reset_requests
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.forms import FormState, form_values
from web.core.parameters import RowId

admins_and_supervisors = requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)
admins_only = requires_role(UserRole.ADMIN)


class KeyResetPageController(Controller):
    path = "/center/bidder-key-resets"
    include_in_schema = False

    async def _page(self, session: AsyncSession, decision: FormState | None = None, status_code: int = 200,
                    done: str = "") -> Template:
        return Template("center/key_resets.html", status_code=status_code, context={
            "requests": await reset_requests(session), "decision": decision or FormState.of({}), "done": done})

    @get("/", name="center.key_resets", guards=[admins_and_supervisors])
    async def index(self, session: AsyncSession, done: str = "") -> Template:
        return await self._page(session, done=done)

    async def _decide(self, session: AsyncSession, reset_id: int, form: FormState, act) -> Template | Redirect:
        form.values["reset_id"] = str(reset_id)
        if form.ok:
            try:
                await act()
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc)
                return await self._page(session, form, status_of(exc))
            await session.commit()
            return Redirect(f"/center/bidder-key-resets?done={reset_id}")
        return await self._page(session, form, 400)

    @post("/{reset_id:int}/approval", name="center.approve_key_reset", guards=[admins_only])
    async def approve(self, reset_id: RowId, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        """Approve after checking the organisation's identity: the new key becomes current."""
        form = FormState.of(await form_values(request))
        form.required(("identity_check", "身份核验情况"))
        return await self._decide(session, reset_id, form, lambda: approve_key_reset(
            session, actor=actor_of(user), reset_id=reset_id, identity_check=form.value("identity_check")))

    @post("/{reset_id:int}/refusal", name="center.refuse_key_reset", guards=[admins_only])
    async def refuse(self, reset_id: RowId, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        form = FormState.of(await form_values(request))
        form.required(("reason", "不予批准的理由"))
        return await self._decide(session, reset_id, form, lambda: refuse_key_reset(
            session, actor=actor_of(user), reset_id=reset_id, reason=form.value("reason")))
