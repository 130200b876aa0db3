"""``trading agencies``: import and export of the agency pool from the command line.

``trading.cli`` registers this group at its end, so the platform's helpers
(``_with_session``, ``one_line_errors``) are imported when a command runs, not when
this module loads: either module may then be imported first.
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
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.exports import export_agencies
from agency_pool.imports import import_agencies
from trading.spreadsheets import ImportRejected


def _one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from trading.cli import one_line_errors

        return one_line_errors(func)(*args, **kwargs)

    return wrapper


def _in_transaction(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run ``work`` in one transaction of the configured database: committed, or rolled back on error."""
    from trading.cli import _with_session

    return asyncio.run(_with_session(work))


def _actor() -> str:
    """Audit name of whoever runs the command on the server."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        who = "unknown"
    return f"cli:{who}"


@click.group()
def agencies() -> None:
    """The agency pool (代理机构库)."""


@agencies.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; write nothing.")
@_one_line_errors
def agencies_import(path: Path, dry_run: bool) -> None:
    """Import agencies from a CSV or XLSX file: every row, or none (exit 1 with the report)."""
    data = path.read_bytes()

    async def work(session: AsyncSession) -> Any:
        try:
            return await import_agencies(session, actor=_actor(), filename=path.name, data=data, dry_run=dry_run)
        except ImportRejected as rejected:
            return rejected  # nothing was written; reported in full below

    outcome = _in_transaction(work)
    if isinstance(outcome, ImportRejected):
        click.echo(f"导入未执行：文件 {path.name} 中有 {len(outcome.errors)} 处错误：")
        for error in outcome.errors:
            click.echo(f"  {error.describe()}")
        sys.exit(1)
    click.echo(outcome.describe())
    for label, codes in (("新入库", outcome.registered), ("更新", outcome.updated)):
        if codes:
            click.echo(f"  {label}：{'、'.join(codes)}")


@agencies.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_one_line_errors
def agencies_export(path: Path) -> None:
    """Write the whole pool to a .csv or .xlsx file (format by extension)."""
    file_format = path.suffix.lower().lstrip(".")
    data = _in_transaction(lambda session: export_agencies(session, file_format=file_format))
    path.write_bytes(data)
    click.echo(f"已导出代理机构库到 {path}")
