"""What every `trading` subcommand shares: one-line errors, a transaction, who acted.

Kept apart from :mod:`cli.main` so that the command groups beside it (experts, agencies,
credit, bid, ...) can use it without importing the root group that registers them.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from alembic.util import CommandError as AlembicError
from sqlalchemy.exc import SQLAlchemyError

from trading.database import database_url, make_engine, make_sessionmaker, transaction
from trading.errors import DomainError
from trading.settings import get_settings
from trading.spreadsheets import ImportRejected


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            click.echo(f"错误：{exc.message}", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"错误：无法连接数据库或读写文件：{exc.__class__.__name__}: {exc}", err=True)
            sys.exit(1)
        except (SQLAlchemyError, AlembicError) as exc:
            first_line = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            click.echo(f"错误：数据库操作失败：{first_line}", err=True)
            sys.exit(1)

    return wrapper


async def with_session(work: Callable[..., Any]) -> Any:
    engine = make_engine(database_url(get_settings()))
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


def in_transaction(work: Callable[..., Awaitable[Any]]) -> Any:
    """Run ``work(session)`` in one transaction of the configured database."""
    return asyncio.run(with_session(work))


def cli_actor() -> str:
    """Audit name of whoever runs the command on the server."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        who = "unknown"
    return f"cli:{who}"


def run_import(path: Path, dry_run: bool, importer: Callable[..., Awaitable[Any]]) -> Any:
    """Run a spreadsheet importer on ``path`` in one transaction and return its outcome;
    a rejected file prints every bad cell and exits 1 (nothing was written)."""
    data = path.read_bytes()

    async def work(session) -> Any:
        try:
            return await importer(session, actor=cli_actor(), filename=path.name, data=data, dry_run=dry_run)
        except ImportRejected as rejected:
            return rejected

    outcome = in_transaction(work)
    if isinstance(outcome, ImportRejected):
        click.echo(f"导入未执行：文件 {path.name} 中有 {len(outcome.errors)} 处错误：")
        for error in outcome.errors:
            click.echo(f"  {error.describe()}")
        sys.exit(1)
    return outcome
