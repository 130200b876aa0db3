"""``trading credit``: import credit records, check a bidder against a project, bind
department accounts — from the command line.

``check`` needs a project's facts, which only bidding/ builds: the command line, a
layer above every service package, asks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bidding.tender.registrations import preview_credit_check
from cli.support import cli_actor, in_transaction, one_line_errors, run_import
from credit.checks import CreditCheck
from credit.departments import bind_department_account
from credit.imports import import_records


@click.group()
def credit() -> None:
    """Credit records, blacklist and the deposit negative list (信用管理)."""


@credit.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and print the report; write nothing.")
@one_line_errors
def credit_import(path: Path, dry_run: bool) -> None:
    """Import credit records from a CSV or XLSX file: every row, or none (exit 1 with the report)."""
    outcome = run_import(path, dry_run, import_records)
    click.echo(outcome.describe())


def _print_check(check: CreditCheck) -> None:
    eligibility, deposit = check.eligibility, check.deposit
    click.echo(f"资格：{'准予报名' if eligibility.admitted else '不予报名'}")
    click.echo(f"  {eligibility.message}")
    click.echo(f"保证金：{'须缴纳' if deposit.required else '免交'}，金额 {deposit.amount_fen} 分"
               f"（上限 {deposit.cap_fen} 分）")
    for reason in deposit.reasons:
        click.echo(f"  {reason}")


@credit.command("check")
@click.argument("credit_code")
@click.option("--project", "project_code", required=True, help="The project's code.")
@click.option("--deposit", "deposit_fen", type=int, default=None, help="The project's deposit setting, in fen.")
@one_line_errors
def credit_check(credit_code: str, project_code: str, deposit_fen: int | None) -> None:
    """Print the eligibility and deposit answers for a bidder and a project now (writes nothing)."""
    check = in_transaction(lambda session: preview_credit_check(
        session, project_code=project_code, subject_key=credit_code, requested_deposit_fen=deposit_fen))
    _print_check(check)
    if not check.eligibility.admitted:
        sys.exit(2)


@credit.command("bind-account")
@click.argument("username")
@click.argument("department")
@one_line_errors
def credit_bind_account(username: str, department: str) -> None:
    """Bind a department API account (role ``department``) to its department (code or name)."""
    account = in_transaction(lambda session: bind_department_account(
        session, actor=cli_actor(), username=username, department=department))
    click.echo(f"已绑定：用户 {username} → 部门 {account.department_code}")
