"""Alembic environment, async (asyncpg). The URL comes from ``trading migrate`` or the settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from migrations.models import metadata
from trading.database import database_url, make_engine
from trading.settings import get_settings

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True,
                      compare_server_default=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    url = config.get_main_option("sqlalchemy.url") or database_url(get_settings())
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `trading migrate`")

connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    asyncio.run(run_async())
