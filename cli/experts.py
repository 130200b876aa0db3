"""``trading experts``: import, export and the annual-review list from the command line."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

import click

from cli.support import cli_actor, in_transaction, one_line_errors
from expert_pool.imports import export_experts, import_experts
from expert_pool.reviews import list_review_due
from trading.spreadsheets import ImportRejected


@click.group()
def experts() -> None:
    """评标专家库 (the expert pool)."""


@experts.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate every row and report; import nothing.")
@one_line_errors
def import_command(path: Path, dry_run: bool) -> None:
    """Import experts from a CSV or XLSX file: every row, or none."""
    data = path.read_bytes()
    try:
        result = in_transaction(lambda session: import_experts(session, actor=cli_actor(), filename=path.name, data=data,
                                                     dry_run=dry_run))
    except ImportRejected as rejected:
        for error in rejected.errors:
            click.echo(error.describe())
        click.echo(f"错误：导入未执行，文件中有 {len(rejected.errors)} 处错误。", err=True)
        sys.exit(1)
    for row in result.rows:
        if dry_run:
            click.echo(f"第 {row.row} 行：校验通过 {row.name}")
        else:
            click.echo(f"第 {row.row} 行：已导入 {row.code} {row.name}")
    if dry_run:
        click.echo(f"校验通过：{result.count} 名专家可以导入（试运行，未写入）。")
    else:
        click.echo(f"已导入 {result.count} 名专家。")


@experts.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--masked", is_flag=True, help="Mask ID and phone numbers.")
@one_line_errors
def export_command(path: Path, masked: bool) -> None:
    """Write every expert to a CSV or XLSX file (full values unless --masked)."""
    content = in_transaction(lambda session: export_experts(session, actor=cli_actor(), filename=path.name, masked=masked))
    path.write_bytes(content)
    click.echo(f"已导出专家库到 {path}{'（已脱敏）' if masked else ''}")


@experts.command("review-due")
@click.option("--date", "on_date", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to check (default: today).")
@click.option("--within", "within_days", type=int, default=30, show_default=True,
              help="Also list reviews due within this many days.")
@one_line_errors
def review_due_command(on_date: Any, within_days: int) -> None:
    """List experts whose annual review is due or overdue."""
    day: date | None = on_date.date() if on_date is not None else None
    due = in_transaction(lambda session: list_review_due(session, on_date=day, within_days=within_days))
    if not due:
        click.echo("没有到期或逾期待审定的专家。")
        return
    for item in due:
        state = f"已逾期 {-item.days_left} 天" if item.overdue else f"{item.days_left} 天后到期"
        click.echo(f"{item.expert.code}  {item.expert.name}  应审定日期 {item.expert.next_review_due.isoformat()}  {state}")
    click.echo(f"共 {len(due)} 名专家，其中逾期 {sum(1 for item in due if item.overdue)} 名。")
