"""Request-scoped dependencies: a database session, the app context, the current user."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import User
from web.core.state import AppContext


def context_of(state: State) -> AppContext:
    return state["context"]


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    # Handlers commit explicitly; whatever they leave uncommitted is rolled back here.
    async with context_of(state).sessions() as session:
        yield session


async def provide_context(state: State) -> AppContext:
    return context_of(state)


async def provide_user(request: ASGIConnection) -> User | None:
    """The authenticated user (set by ``CurrentUserMiddleware``), or None for the public."""
    return request.scope.get("user")  # type: ignore[return-value]
