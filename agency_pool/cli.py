"""``trading agencies``: import and export of the agency pool from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.exports import export_agencies
from agency_pool.imports import import_agencies
from trading.cli_support import cli_actor, in_transaction, one_line_errors
from trading.spreadsheets import ImportRejected
@click.group()
def agencies() -> None:
    """The agency pool (代理机构库)."""


@agencies.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; write nothing.")
@one_line_errors
def agencies_import(path: Path, dry_run: bool) -> None:
    """Import agencies from a CSV or XLSX file: every row, or none (exit 1 with the report)."""
    data = path.read_bytes()

    async def work(session: AsyncSession) -> Any:
        try:
            return await import_agencies(session, actor=cli_actor(), filename=path.name, data=data, dry_run=dry_run)
        except ImportRejected as rejected:
            return rejected  # nothing was written; reported in full below

    outcome = in_transaction(work)
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
@one_line_errors
def agencies_export(path: Path) -> None:
    """Write the whole pool to a .csv or .xlsx file (format by extension)."""
    file_format = path.suffix.lower().lstrip(".")
    data = in_transaction(lambda session: export_agencies(session, file_format=file_format))
    path.write_bytes(data)
    click.echo(f"已导出代理机构库到 {path}")
