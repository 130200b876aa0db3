"""Who is asking: session cookie for the portal, bearer token for API clients; role guards;
the bidder's own organisation."""

from __future__ import annotations

from collections.abc import Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import API, SESSION, User, authenticate, user_for_token
from trading.errors import NotAuthenticated, PermissionDenied, RateLimited
from trading.login_throttle import LoginLimits
from trading.organisations import Organisation
from trading.roles import UserRole
from web.core.dependencies import context_of
from web.core.state import AppContext

SESSION_COOKIE = "trading_session"


def token_of(connection: ASGIConnection) -> tuple[str, str] | None:
    """The presented token and its kind: a bearer token for the API, the cookie for pages.

    The API never honours the session cookie, so a page on another site cannot make a
    logged-in browser act through the API (the portal's own forms carry CSRF tokens).
    """
    if connection.scope["path"].startswith("/api"):
        header = connection.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip(), API
        return None
    cookie = connection.cookies.get(SESSION_COOKIE)
    return (cookie, SESSION) if cookie else None


class CurrentUserMiddleware(ASGIMiddleware):
    """Sets ``scope["user"]`` to the authenticated user, or None for the public."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        scope["user"] = None
        if scope["type"] in ("http", "websocket"):
            presented = token_of(ASGIConnection(scope))
            if presented is not None:
                token, kind = presented
                context = context_of(scope["litestar_app"].state)
                async with context.lookups.connect() as connection:
                    scope["user"] = await user_for_token(connection, token, kind=kind)
        await next_app(scope, receive, send)


def requires_role(*roles: UserRole) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """Guard: a logged-in user holding one of ``roles`` (any role when none is given)."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:  # async: no thread hop per request
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException("请先登录")
        if roles and user.role not in roles:
            raise PermissionDeniedException("您的角色无权执行此操作")

    guard.roles = frozenset(roles)  # type: ignore[attr-defined]  # who may pass, for the access tests
    return guard


requires_login = requires_role()


async def check_password(request: Request, session: AsyncSession, context: AppContext, username: str, password: str) -> User:
    """Authenticate under the configured login throttling; a failed attempt is committed."""
    settings = context.settings
    limits = LoginLimits(free_failures=settings.login_max_failures, window_seconds=settings.login_window_seconds,
                         first_delay_seconds=settings.login_first_delay_seconds,
                         max_delay_seconds=settings.login_max_delay_seconds)
    try:
        return await authenticate(session, username=username, password=password,
                                  client=request.client.host if request.client else "unknown", limits=limits)
    except (NotAuthenticated, RateLimited):
        await session.commit()  # the failed attempt counts towards the limit
        raise


async def own_organisation(session: AsyncSession, user: User) -> Organisation:
    organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    if organisation is None:
        raise PermissionDenied("投标人账号未关联单位，不能投标", code="no_organisation")
    return organisation
