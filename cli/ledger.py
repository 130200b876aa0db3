"""``trading ledger``: the center's ledger on the command line (统一费用收取退付).

``import-statement FILE`` imports a bank statement (CSV/XLSX) exactly as the API does:
incoming rows are deposits matched to admitted registrations, outgoing rows (收支方向 =
支出) pay refund instructions named in the remark; every row or none. Receipts for what
was paid are issued at once with the center's key.
"""

from __future__ import annotations

from pathlib import Path

import click

from bidding.settlement.deposits import import_statement
from bidding.settlement.due_receipts import issue_due_receipts
from cli.support import one_line_errors, run_import
from trading.keys import load_center_keys
from trading.settings import get_settings


@click.group()
def ledger() -> None:
    """保证金、服务费与退款台账 (the center's ledger)."""


@ledger.command("import-statement")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", default="", help="The receiving bank, when the file has no 收款银行 column.")
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; write nothing.")
@one_line_errors
def import_statement_command(path: Path, bank: str, dry_run: bool) -> None:
    """Import a bank statement: every row, or none (exit 1 listing every bad cell)."""
    settings = get_settings()
    keys = load_center_keys(settings)

    async def importer(session, *, actor: str, filename: str, data: bytes, dry_run: bool) -> str:
        savepoint = await session.begin_nested() if dry_run else None
        result = await import_statement(session, actor=actor, filename=filename, data=data, bank=bank)
        report = (f"入账保证金 {result.count} 笔，支付退款 {len(result.refunds_paid)} 笔，"
                  f"此前已导入 {len(result.already)} 笔")
        if savepoint is not None:
            await savepoint.rollback()
            return f"检查通过，未写入（试运行）：{report}"
        receipts = await issue_due_receipts(session, keys, public_url=settings.public_url)
        return f"导入完成：{report}；开具电子票据 {len(receipts)} 张"

    click.echo(run_import(path, dry_run, importer))
