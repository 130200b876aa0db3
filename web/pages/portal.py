"""Portal pages: home (its body in web/pages/public.py), login and logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import SESSION, issue_token, revoke_token
from trading.errors import NotAuthenticated, RateLimited
from web.core.auth import SESSION_COOKIE, check_password, requires_login, token_of
from web.core.errors import status_of
from web.pages.public import home_page
from web.core.state import AppContext


@dataclass
class LoginForm:
    username: str = ""
    password: str = ""
    next: str = "/"


def safe_next(target: str) -> str:
    # Only same-site paths: "//host" and "/\host" would leave the portal.
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


class PortalController(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, session: AsyncSession) -> Template:
        """The public home (信息公开): web/pages/public.py."""
        return await home_page(session)

    @get("/login", name="login")
    async def login_page(self, next: str = "/") -> Template:
        return Template("login.html", context={"next": safe_next(next), "username": "", "error": None})

    @post("/login", name="login.submit")
    async def login(
        self,
        request: Request,
        session: AsyncSession,
        context: AppContext,
        data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template | Redirect:
        settings = context.settings
        try:
            user = await check_password(request, session, context, data.username, data.password)
        except (NotAuthenticated, RateLimited) as exc:
            headers = {"Retry-After": str(exc.details["retry_after"])} if isinstance(exc, RateLimited) else None
            return Template("login.html", status_code=status_of(exc), headers=headers, context={
                "next": safe_next(data.next), "username": data.username, "error": exc.message})
        token, _ = await issue_token(session, user, kind=SESSION, lifetime=timedelta(hours=settings.session_hours))
        await session.commit()
        response = Redirect(safe_next(data.next))
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                            max_age=settings.session_hours * 3600, secure=request.url.scheme == "https")
        return response

    @post("/logout", name="logout", guards=[requires_login])
    async def logout(self, request: Request, session: AsyncSession) -> Redirect:
        presented = token_of(request)
        if presented is not None:
            await revoke_token(session, presented[0])
            await session.commit()
        response = Redirect("/")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
