"""Bank statements (CSV/XLSX) imported into the ledger: every row valid and matched, or nothing.

An incoming row (收入, the default) is a deposit: its remark (附言) names the project, exactly
as the project's code is written, and the paying bidder's credit code. An outgoing row
(支出) pays the refund its remark names (TK…); its 付款账号/付款户名 hold the payee. A row
whose bank reference was imported before is skipped when it agrees with what was recorded
(the same statement imported twice changes nothing) and is an error when it does not.

The work is per statement, not per row: the rows are read and checked in a worker thread,
then one query per kind looks up registrations, refunds and references already recorded,
and the deposits go in with their audit entries in a few statements
(bench/bank_statement_import.py: 40,000 rows).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trading.audit import record_event
from trading.codes import PROJECT_CODE
from trading.columns import any_of
from trading.errors import InvalidInput
from trading.identifiers import validate_credit_code
from trading.ledger import (
    STATEMENT,
    IncomingPayment,
    LedgerDeposit,
    LedgerRefund,
    normalise_account,
    over_long,
    parse_fen,
    parse_yuan,
    record_deposits,
    record_refund_paid,
    refund_number,
)
from trading.money import yuan
from trading.spreadsheets import ImportRejected, Row, RowError, read_rows_in_worker

REFERENCE, ACCOUNT, ACCOUNT_NAME, REMARK, VALUE_DATE = "交易流水号", "付款账号", "付款户名", "附言", "到账日期"
AMOUNT_YUAN, AMOUNT_FEN = "金额（元）", "金额（分）"
BANK = "收款银行"  # optional column; otherwise the ``bank`` argument
DIRECTION = "收支方向"  # optional column: 收入 (incoming; the default) or 支出 (outgoing)
_OUTGOING = {"支出", "支", "借", "借方", "付出", "out"}
_INCOMING = {"", "收入", "收", "贷", "贷方", "in"}
_REFUND_NUMBER = re.compile(r"TK[0-9]{8}")
_AMOUNT_ALIASES = {"金额(元)": AMOUNT_YUAN, "金额(分)": AMOUNT_FEN}
_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{4})([0-9]{2})([0-9]{2})")
# The row's text that goes into the deposit, by the deposit's field.
_TEXT_COLUMNS = {"bank_reference": REFERENCE, "account": ACCOUNT, "account_name": ACCOUNT_NAME, "bank": BANK}

# (session, {(project code, bidder credit code)}) → why each pair that matches no admitted
# registration does not (a pair left out matches).
Matcher = Callable[[AsyncSession, Collection[tuple[str, str]]], Awaitable[dict[tuple[str, str], str]]]


@dataclass
class StatementResult:
    imported: list[LedgerDeposit] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # bank references imported before
    refunds_paid: list[LedgerRefund] = field(default_factory=list)  # outgoing rows matched to refunds

    @property
    def count(self) -> int:
        return len(self.imported)


@dataclass
class _Parsed:
    row: int
    reference: str
    account: str
    account_name: str
    amount_fen: int
    value_date: date | None
    bank: str
    valid: bool = True  # every cell of the row passed its own check
    project_code: str = ""
    bidder_credit_code: str = ""
    refund_id: int | None = None  # an outgoing row: the refund it pays
    amount_column: str = AMOUNT_YUAN


def parse_value_date(value: str) -> date:
    match = _DATE.fullmatch(value.strip())
    if not match:
        raise ValueError(value)
    parts = [part for part in match.groups() if part is not None]
    return date(int(parts[0]), int(parts[1]), int(parts[2]))


def parse_remark(remark: str) -> tuple[str, str]:
    """附言 → (project code, bidder credit code): the one valid credit code and the one project
    code, as written (project codes are case-sensitive; credit codes are upper-case)."""
    tokens = [token for token in re.split(r"[\s,，;；/|:：、]+", remark) if token]
    credit = [token for token in tokens if _CREDIT_CODE.fullmatch(token.upper())]
    valid = []
    for token in credit:
        try:
            valid.append(validate_credit_code(token.upper()))
        except InvalidInput:
            continue
    if len(valid) != 1:
        raise ValueError("附言中应有且只有一个有效的统一社会信用代码")
    projects = [token for token in tokens
                if token not in credit and "-" in token and PROJECT_CODE.pattern.fullmatch(token)]
    if len(projects) != 1:
        raise ValueError("附言中应有且只有一个项目编号（如 JN-2026-GC-0007）")
    return projects[0], valid[0]


def _amount_column(header: Collection[str]) -> str | None:
    return next((name for name in (AMOUNT_YUAN, AMOUNT_FEN) if name in header), None)


def _parse_rows(rows: Sequence[Row], bank: str) -> tuple[list[_Parsed], list[RowError]]:
    """Each row checked on its own (no database), and references repeated within the file;
    rows with a bad cell too, so that their remark is still matched and reported."""
    errors: list[RowError] = []
    parsed: list[_Parsed] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        values, before = row.values, len(errors)
        for alias, name in _AMOUNT_ALIASES.items():
            if alias in values and name not in values:
                values[name] = values.pop(alias)
        amount_column = _amount_column(values) or AMOUNT_YUAN

        def bad(column: str, reason: str) -> None:
            errors.append(RowError(row.number, column, reason))  # noqa: B023 - used within the iteration

        reference = values.get(REFERENCE, "")
        row_bank = values.get(BANK, "") or bank
        if not reference:
            bad(REFERENCE, "不能为空")
        elif (row_bank, reference) in seen:
            bad(REFERENCE, f"与第 {seen[(row_bank, reference)]} 行重复")
        else:
            seen[(row_bank, reference)] = row.number
        account = normalise_account(values.get(ACCOUNT, ""))
        if not account:
            bad(ACCOUNT, "不能为空")
        elif not account.isdigit():
            bad(ACCOUNT, "应为数字账号")
        account_name = values.get(ACCOUNT_NAME, "")
        if not account_name:
            bad(ACCOUNT_NAME, "不能为空")
        texts = {"bank_reference": reference, "account": account, "account_name": account_name, "bank": row_bank}
        for name, column in _TEXT_COLUMNS.items():
            if reason := over_long(name, texts[name]):
                bad(column, reason)
        amount = 0
        try:
            amount = parse_yuan(values.get(amount_column, "")) if amount_column == AMOUNT_YUAN \
                else parse_fen(values.get(amount_column, ""))
            if amount <= 0:
                bad(amount_column, "金额应大于零")
        except InvalidInput as error:
            bad(amount_column, error.message)
        value_date = None
        try:
            value_date = parse_value_date(values.get(VALUE_DATE, ""))
        except ValueError:
            bad(VALUE_DATE, f"日期「{values.get(VALUE_DATE, '')}」格式有误：应为 YYYY-MM-DD")
        item = _Parsed(row.number, reference, account, account_name, amount, value_date, row_bank,
                       amount_column=amount_column)
        direction = values.get(DIRECTION, "").strip()
        if direction in _OUTGOING:
            numbers = set(_REFUND_NUMBER.findall(values.get(REMARK, "").upper()))
            if len(numbers) != 1:
                bad(REMARK, "支出行的附言中应有且只有一个退款单号（如 TK00000017）")
            else:
                item.refund_id = int(numbers.pop()[2:])
        elif direction not in _INCOMING:
            bad(DIRECTION, f"「{direction}」应为 收入 或 支出")
        else:
            try:
                item.project_code, item.bidder_credit_code = parse_remark(values.get(REMARK, ""))
            except ValueError as error:
                bad(REMARK, str(error))
        item.valid = len(errors) == before
        parsed.append(item)
    return parsed, errors


async def _match(session: AsyncSession, parsed: list[_Parsed], matcher: Matcher | None,
                 errors: list[RowError]) -> tuple[list[_Parsed], dict[int, LedgerRefund]]:
    """The rows whose refund or registration is there and agrees with them (the others are
    errors), and the refunds named."""
    refunds = {refund.id: refund for refund in (await session.scalars(select(LedgerRefund).where(
        any_of(LedgerRefund.id, {item.refund_id for item in parsed if item.refund_id is not None})))).all()}
    pairs = {(item.project_code, item.bidder_credit_code) for item in parsed
             if item.refund_id is None and item.project_code}
    reasons = await matcher(session, pairs) if matcher is not None and pairs else {}
    matched = []
    for item in parsed:
        before = len(errors)
        if item.refund_id is None:
            if reason := reasons.get((item.project_code, item.bidder_credit_code)):
                errors.append(RowError(item.row, REMARK, reason))
        elif (refund := refunds.get(item.refund_id)) is None:
            errors.append(RowError(item.row, REMARK, f"未找到退款单 {refund_number(item.refund_id)}"))
        else:
            item.project_code, item.bidder_credit_code = refund.project_code, refund.bidder_credit_code
            if item.amount_fen and item.amount_fen != refund.amount_fen:
                errors.append(RowError(item.row, item.amount_column,
                                       f"金额与退款 {refund.number} 应退金额 {yuan(refund.amount_fen)} 元不符"))
            if item.account and item.account != refund.payee_account:
                errors.append(RowError(item.row, ACCOUNT, f"收款账号与退款 {refund.number} 的原缴款账号不符"))
        if item.valid and len(errors) == before:
            matched.append(item)
    return matched, refunds


async def import_statement(session: AsyncSession, *, actor: str, filename: str, data: bytes, bank: str = "",
                           matcher: Matcher | None = None) -> StatementResult:
    """Import a bank statement (CSV/XLSX): every row valid and matched, or nothing at all."""
    bank = (bank or "").strip()
    if reason := over_long("bank", bank):
        raise InvalidInput(reason, code="invalid_statement", field="bank")
    rows = await read_rows_in_worker(filename, data, [REFERENCE, ACCOUNT, ACCOUNT_NAME, REMARK, VALUE_DATE])
    if rows and _amount_column({_AMOUNT_ALIASES.get(name, name) for name in rows[0].values}) is None:
        raise ImportRejected([RowError(1, AMOUNT_YUAN, "表头缺少金额列（金额（元）或金额（分））")])
    parsed, errors = await anyio.to_thread.run_sync(_parse_rows, rows, bank)
    matched, refunds = await _match(session, parsed, matcher, errors)

    result = StatementResult()
    references = {item.reference for item in matched}
    deposits = {(deposit.bank, deposit.bank_reference): deposit for deposit in (await session.scalars(
        select(LedgerDeposit).where(any_of(LedgerDeposit.bank_reference, references)))).all()}
    used_by_refunds = {tuple(pair) for pair in (await session.execute(
        select(LedgerRefund.paid_bank, LedgerRefund.paid_reference)
        .where(any_of(LedgerRefund.paid_reference, references)))).all()}
    fresh: list[_Parsed] = []
    paying: list[_Parsed] = []
    paid_in_file: set[int] = set()
    for item in matched:
        if item.refund_id is not None:
            refund = refunds[item.refund_id]
            if (refund.paid_bank, refund.paid_reference) == (item.bank, item.reference):
                result.already.append(item.reference)
            elif refund.paid_at is not None:
                errors.append(RowError(item.row, REMARK, f"退款 {refund.number} 已支付（流水号 {refund.paid_reference}）"))
            elif (item.bank, item.reference) in used_by_refunds:
                errors.append(RowError(item.row, REFERENCE, f"流水号 {item.reference} 已用于其他退款"))
            elif item.refund_id in paid_in_file:
                errors.append(RowError(item.row, REMARK, f"退款 {refund.number} 在本文件中重复支付"))
            else:
                paid_in_file.add(item.refund_id)
                paying.append(item)
            continue
        existing = deposits.get((item.bank, item.reference))
        if existing is None:
            fresh.append(item)
        elif (existing.project_code, existing.bidder_credit_code, existing.amount_fen, existing.account) == (
                item.project_code, item.bidder_credit_code, item.amount_fen, item.account):
            result.already.append(item.reference)
        else:
            errors.append(RowError(item.row, REFERENCE, f"流水号 {item.reference} 已入账，但内容与本行不同"))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda error: error.row))
    if fresh:
        result.imported = await record_deposits(session, actor=actor, source=STATEMENT, payments=[IncomingPayment(
            item.project_code, item.bidder_credit_code, item.amount_fen, item.account, item.account_name,
            item.reference, item.value_date, item.bank) for item in fresh])
    for item in paying:
        result.refunds_paid.append(await record_refund_paid(
            session, refund_id=item.refund_id, actor=actor, bank_reference=item.reference, value_date=item.value_date,
            bank=item.bank, source=STATEMENT))
    if not fresh and not paying:
        return result  # the same statement again: nothing changes
    await record_event(session, actor=actor, action="ledger.statement_imported", subject=f"statement:{filename}",
                       data={"filename": filename, "imported": [item.reference for item in fresh],
                             "refunds_paid": [item.reference for item in paying],
                             "already_imported": result.already})
    return result
