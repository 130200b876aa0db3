"""Alembic migrations, run from code (``trading migrate``, ``serve`` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from trading.settings import PROJECT_ROOT


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_database(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade_database(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)
