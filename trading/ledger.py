"""The center's ledger for bid deposits (统一费用收取退付): what was paid, by whom, from which account.

Deposits come in two ways: a bank statement imported as CSV (all rows or none, idempotent
on the bank's transaction reference) or a manual confirmation by finance staff. Every
deposit records the paying account; when deposits of *different* bidders for the same
project come from one account, the regulation deems it collusion (《招标投标法实施条例》
第四十条：不同投标人的投标保证金从同一单位或者个人的账户转出), so a collusion flag is raised
for supervisors in the same transaction, with its audit entry and an outbox message.

This module knows nothing of tenders (trading/ must not import bidding/): projects and
bidders are plain codes here. Matching a deposit to an admitted registration and settling
the registration is done by ``bidding.deposits``, which passes a matcher in.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Date, Index, String, Text, UniqueConstraint, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import record_event
from trading.columns import created_at_column, money_column
from trading.errors import Conflict, InvalidInput
from trading.identifiers import validate_credit_code
from trading.notifications import enqueue
from trading.spreadsheets import ImportRejected, RowError, read_rows

STATEMENT, MANUAL = "statement", "manual"
SOURCES = (STATEMENT, MANUAL)
SUPERVISORS = "role:supervisor"
REGULATION = "《中华人民共和国招标投标法实施条例》第四十条第（六）项"


class LedgerDeposit(SQLModel, table=True):
    __tablename__ = "ledger_deposits"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ledger_deposits_amount_positive"),
        CheckConstraint("source IN ('statement', 'manual')", name="ledger_deposits_source_known"),
        UniqueConstraint("bank", "bank_reference", name="ledger_deposits_bank_reference_unique"),
        Index("ledger_deposits_project_account", "project_code", "account"),
        Index("ledger_deposits_project_bidder", "project_code", "bidder_credit_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(sa_column=Column(String(40), nullable=False))
    bidder_credit_code: str = Field(sa_column=Column(String(18), nullable=False))
    amount_fen: int = Field(sa_column=money_column())
    account: str = Field(sa_column=Column(String(64), nullable=False))  # paying account number
    account_name: str = Field(sa_column=Column(String(200), nullable=False))  # paying account's holder
    bank: str = Field(default="", sa_column=Column(String(100), nullable=False, server_default=""))
    bank_reference: str = Field(sa_column=Column(String(100), nullable=False))  # the bank's transaction number
    value_date: date = Field(sa_column=Column(Date, nullable=False))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    confirmed_by: str = Field(sa_column=Column(String(200), nullable=False))
    confirmed_at: datetime = Field(sa_column=created_at_column())

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_code": self.project_code, "bidder_credit_code": self.bidder_credit_code,
                "amount_fen": self.amount_fen, "account": self.account, "account_name": self.account_name,
                "bank": self.bank, "bank_reference": self.bank_reference, "value_date": self.value_date.isoformat(),
                "source": self.source, "confirmed_by": self.confirmed_by}


class CollusionFlag(SQLModel, table=True):
    __tablename__ = "collusion_flags"
    __table_args__ = (UniqueConstraint("project_code", "account", name="collusion_flags_project_account_unique"),)

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    account: str = Field(sa_column=Column(String(64), nullable=False))
    bidder_codes: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    raised_at: datetime = Field(sa_column=created_at_column())
    note: str = Field(sa_column=Column(Text, nullable=False))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_code": self.project_code, "account": self.account,
                "bidder_codes": list(self.bidder_codes), "raised_at": self.raised_at.isoformat(), "note": self.note}


# ------------------------------------------------------------------------------ money

_YUAN = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.[0-9]{2}")  # ASCII digits only
_FEN = re.compile(r"[0-9]+")


def parse_yuan(value: str) -> int:
    """``"1,234.50"`` → 123450 fen: exactly two decimals, no floats anywhere (string arithmetic)."""
    text_ = str(value).strip().replace("，", ",")
    if not _YUAN.fullmatch(text_):
        raise InvalidInput(f"金额「{value}」格式有误：应为保留两位小数的元金额，如 12345.00", field="amount")
    whole, cents = text_.replace(",", "").split(".")
    return int(whole) * 100 + int(cents)


def parse_fen(value: str) -> int:
    text_ = str(value).strip()
    if not _FEN.fullmatch(text_):
        raise InvalidInput(f"金额「{value}」格式有误：应为整数（单位：分）", field="amount")
    return int(text_)


def format_yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def normalise_account(account: str) -> str:
    """Account numbers compare without spaces and hyphens (banks print them grouped)."""
    return re.sub(r"[\s\-]", "", str(account or ""))


# ------------------------------------------------------------------------------ deposits


def _check_amount(amount_fen: Any) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidInput("保证金金额应为大于零的整数（单位：分）", field="amount_fen")
    return amount_fen


async def record_deposit(
    session: AsyncSession, *, actor: str, project_code: str, bidder_credit_code: str, amount_fen: int,
    account: str, account_name: str, bank_reference: str, value_date: date, source: str, bank: str = "",
) -> LedgerDeposit:
    """Record one deposit with its audit entry; raise a collusion flag where the account is shared."""
    amount = _check_amount(amount_fen)
    bidder = validate_credit_code(bidder_credit_code)
    project = (project_code or "").strip()
    if not project:
        raise InvalidInput("缺少项目编号", field="project_code")
    paying = normalise_account(account)
    if not paying:
        raise InvalidInput("缺少付款账号", field="account")
    if not (account_name or "").strip():
        raise InvalidInput("缺少付款户名", field="account_name")
    reference = (bank_reference or "").strip()
    if not reference:
        raise InvalidInput("缺少银行交易流水号", field="bank_reference")
    if not isinstance(value_date, date):
        raise InvalidInput("到账日期格式有误", field="value_date")
    if source not in SOURCES:
        raise InvalidInput(f"未知的保证金来源「{source}」", field="source")
    bank = (bank or "").strip()
    if await session.scalar(select(LedgerDeposit.id).where(LedgerDeposit.bank == bank,
                                                           LedgerDeposit.bank_reference == reference)):
        raise Conflict(f"银行流水 {reference} 已入账", bank_reference=reference)
    # One writer per project and account at a time: the collusion check sees every deposit.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ledger:{project}:{paying}"})
    deposit = LedgerDeposit(project_code=project, bidder_credit_code=bidder, amount_fen=amount, account=paying,
                            account_name=account_name.strip(), bank=bank, bank_reference=reference,
                            value_date=value_date, source=source, confirmed_by=actor)
    session.add(deposit)
    await session.flush()
    await session.refresh(deposit)
    await record_event(session, actor=actor, action="ledger.deposit_recorded", subject=f"project:{project}",
                       data={"deposit_id": deposit.id, "bidder": bidder, "amount_fen": amount, "account": paying,
                             "account_name": deposit.account_name, "bank": bank, "bank_reference": reference,
                             "value_date": value_date.isoformat(), "source": source})
    await _check_shared_account(session, actor=actor, project_code=project, account=paying)
    return deposit


async def _check_shared_account(session: AsyncSession, *, actor: str, project_code: str,
                                account: str) -> CollusionFlag | None:
    bidders = sorted(set((await session.scalars(select(LedgerDeposit.bidder_credit_code).where(
        LedgerDeposit.project_code == project_code, LedgerDeposit.account == account))).all()))
    if len(bidders) < 2:
        return None
    note = (f"项目 {project_code} 中，{len(bidders)} 家不同投标人（{'、'.join(bidders)}）的投标保证金"
            f"从同一账户 {account} 转出，依{REGULATION}视为投标人相互串通投标，请监督人员核查")
    flag = await session.scalar(select(CollusionFlag).where(CollusionFlag.project_code == project_code,
                                                            CollusionFlag.account == account).with_for_update())
    if flag is not None and sorted(flag.bidder_codes) == bidders:
        return flag
    if flag is None:
        flag = CollusionFlag(project_code=project_code, account=account, bidder_codes=bidders, note=note)
        session.add(flag)
        action = "ledger.collusion_flagged"
    else:
        flag.bidder_codes, flag.note = bidders, note
        action = "ledger.collusion_flag_extended"
    await session.flush()
    await session.refresh(flag)
    await record_event(session, actor=actor, action=action, subject=f"project:{project_code}",
                       data={"flag_id": flag.id, "account": account, "bidders": bidders, "regulation": REGULATION})
    enqueue(session, channel="portal", recipient=SUPERVISORS, subject=f"collusion:{project_code}",
            body=f"【串通投标预警】{note}")
    return flag


async def deposits_of(session: AsyncSession, *, project_code: str,
                      bidder_credit_code: str | None = None) -> list[LedgerDeposit]:
    query = select(LedgerDeposit).where(LedgerDeposit.project_code == project_code)
    if bidder_credit_code is not None:
        query = query.where(LedgerDeposit.bidder_credit_code == bidder_credit_code)
    return list((await session.scalars(query.order_by(LedgerDeposit.id))).all())


async def paid_total(session: AsyncSession, *, project_code: str, bidder_credit_code: str) -> int:
    return int(await session.scalar(select(func.coalesce(func.sum(LedgerDeposit.amount_fen), 0)).where(
        LedgerDeposit.project_code == project_code, LedgerDeposit.bidder_credit_code == bidder_credit_code)) or 0)


async def collusion_flags(session: AsyncSession, *, project_code: str | None = None) -> list[CollusionFlag]:
    query = select(CollusionFlag)
    if project_code is not None:
        query = query.where(CollusionFlag.project_code == project_code)
    return list((await session.scalars(query.order_by(CollusionFlag.id))).all())


# ------------------------------------------------------------------------------ statements

REFERENCE, ACCOUNT, ACCOUNT_NAME, REMARK, VALUE_DATE = "交易流水号", "付款账号", "付款户名", "附言", "到账日期"
AMOUNT_YUAN, AMOUNT_FEN = "金额（元）", "金额（分）"
BANK = "收款银行"  # optional column; otherwise the ``bank`` argument
_AMOUNT_ALIASES = {"金额(元)": AMOUNT_YUAN, "金额(分)": AMOUNT_FEN}
_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{4})([0-9]{2})([0-9]{2})")

# (session, project code, bidder credit code) → None when they match an admitted registration, else why not.
Matcher = Callable[[AsyncSession, str, str], Awaitable[str | None]]


@dataclass
class StatementResult:
    imported: list[LedgerDeposit] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # bank references imported before

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
    project_code: str
    bidder_credit_code: str
    value_date: date
    bank: str


def parse_value_date(value: str) -> date:
    match = _DATE.fullmatch(value.strip())
    if not match:
        raise ValueError(value)
    parts = [part for part in match.groups() if part is not None]
    return date(int(parts[0]), int(parts[1]), int(parts[2]))


def parse_remark(remark: str) -> tuple[str, str]:
    """附言 → (project code, bidder credit code): the one valid credit code and the token before or after it."""
    tokens = [token for token in re.split(r"[\s,，;；/|:：、]+", remark.upper()) if token]
    credit = [token for token in tokens if _CREDIT_CODE.fullmatch(token)]
    valid = []
    for token in credit:
        try:
            valid.append(validate_credit_code(token))
        except InvalidInput:
            continue
    if len(valid) != 1:
        raise ValueError("附言中应有且只有一个有效的统一社会信用代码")
    projects = [token for token in tokens if token not in credit and "-" in token]
    if len(projects) != 1:
        raise ValueError("附言中应有且只有一个项目编号（如 JN-2026-GC-0007）")
    return projects[0], valid[0]


def _amount_column(header: set[str]) -> str | None:
    for name in (AMOUNT_YUAN, AMOUNT_FEN):
        if name in header:
            return name
    return None


async def import_statement(session: AsyncSession, *, actor: str, filename: str, data: bytes, bank: str = "",
                           matcher: Matcher | None = None) -> StatementResult:
    """Import a bank statement (CSV/XLSX): every row valid and matched, or nothing at all.

    Rows whose bank reference was imported before are skipped when they agree with what
    was recorded (so the same statement imported twice changes nothing), and are errors
    when they do not.
    """
    rows = read_rows(filename, data, [REFERENCE, ACCOUNT, ACCOUNT_NAME, REMARK, VALUE_DATE])
    for row in rows:
        for alias, name in _AMOUNT_ALIASES.items():
            if alias in row.values and name not in row.values:
                row.values[name] = row.values.pop(alias)
    amount_column = _amount_column(set(rows[0].values) if rows else set())
    if rows and amount_column is None:
        raise ImportRejected([RowError(1, AMOUNT_YUAN, "表头缺少金额列（金额（元）或金额（分））")])
    errors: list[RowError] = []
    parsed: list[_Parsed] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        values, before = row.values, len(errors)

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
        project_code = bidder_code = ""
        try:
            project_code, bidder_code = parse_remark(values.get(REMARK, ""))
        except ValueError as error:
            bad(REMARK, str(error))
        if project_code and matcher is not None:
            reason = await matcher(session, project_code, bidder_code)
            if reason:
                bad(REMARK, reason)
        if len(errors) == before and value_date is not None:
            parsed.append(_Parsed(row.number, reference, account, account_name, amount, project_code, bidder_code,
                                  value_date, row_bank))
    result = StatementResult()
    fresh: list[_Parsed] = []
    for item in parsed:
        existing = await session.scalar(select(LedgerDeposit).where(LedgerDeposit.bank == item.bank,
                                                                    LedgerDeposit.bank_reference == item.reference))
        if existing is None:
            fresh.append(item)
        elif (existing.project_code, existing.bidder_credit_code, existing.amount_fen, existing.account) == (
                item.project_code, item.bidder_credit_code, item.amount_fen, item.account):
            result.already.append(item.reference)
        else:
            errors.append(RowError(item.row, REFERENCE, f"流水号 {item.reference} 已入账，但内容与本行不同"))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda error: error.row))
    for item in fresh:
        result.imported.append(await record_deposit(
            session, actor=actor, project_code=item.project_code, bidder_credit_code=item.bidder_credit_code,
            amount_fen=item.amount_fen, account=item.account, account_name=item.account_name,
            bank_reference=item.reference, value_date=item.value_date, source=STATEMENT, bank=item.bank))
    if not fresh:
        return result  # the same statement again: nothing changes
    await record_event(session, actor=actor, action="ledger.statement_imported", subject=f"statement:{filename}",
                       data={"filename": filename, "imported": [item.reference for item in fresh],
                             "already_imported": result.already})
    return result
