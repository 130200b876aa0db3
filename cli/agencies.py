"""``trading agencies``: import and export of the agency pool from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from agency_pool.exports import export_agencies
from agency_pool.imports import import_agencies
from cli.support import in_transaction, one_line_errors, run_import


@click.group()
def agencies() -> None:
    """The agency pool (代理机构库)."""


@agencies.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; write nothing.")
@one_line_errors
def agencies_import(path: Path, dry_run: bool) -> None:
    """Import agencies from a CSV or XLSX file: every row, or none (exit 1 with the report)."""
    outcome = run_import(path, dry_run, import_agencies)
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
