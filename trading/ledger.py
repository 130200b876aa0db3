"""The center's ledger for bid deposits (统一费用收取退付): what was paid, by whom, from which account.

Deposits come in two ways: a bank statement imported as CSV or XLSX (all rows or none,
idempotent on the bank's transaction reference; ``trading.bank_statements``) or a manual
confirmation by finance staff. Every
deposit records the paying account; when deposits of *different* bidders for the same
project come from one account, the regulation deems it collusion (《招标投标法实施条例》
第四十条：不同投标人的投标保证金从同一单位或者个人的账户转出), so a collusion flag is raised
for supervisors in the same transaction, with its audit entry and an outbox message.

Refunds (退还): one refund instruction per deposit at most (a unique key), to the very
account the deposit came from, with any interest, a due time and the rule that sets it;
paid when finance staff confirm it with the bank's reference or when an outgoing row of a
bank statement names it. A deposit the rules let the center keep (a revoked bid) is marked
kept with the rule and its source, and is never refunded. Service fees charged to the
winner are recorded here too, with their payment. A supervisor may dismiss a collusion
flag with a reason; new facts (another bidder on the account) raise it again.

This module knows nothing of tenders (trading/ must not import bidding/): projects and
bidders are plain codes here. Matching a deposit to an admitted registration and settling
the registration is done by ``bidding.settlement.deposits``, which passes a matcher to the statement
import; when refunds are due and which deposits are kept is decided by ``bidding.settlement.refunds``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, TypedDict

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    distinct,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading.audit import AuditEvent, record_event, record_events
from trading.columns import any_of, created_at_column, money_column, text_length, timestamp_column
from trading.database import database_now, insert_in_batches
from trading.errors import Conflict, InvalidInput, NotFound
from trading.identifiers import validate_credit_code
from trading.notifications import enqueue

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
    # Kept by the center (not refunded) where the rule allows it: a bid revoked by the bidder.
    kept_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    kept_rule: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    kept_source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    kept_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_code": self.project_code, "bidder_credit_code": self.bidder_credit_code,
                "amount_fen": self.amount_fen, "account": self.account, "account_name": self.account_name,
                "bank": self.bank, "bank_reference": self.bank_reference, "value_date": self.value_date.isoformat(),
                "source": self.source, "confirmed_by": self.confirmed_by,
                "kept": None if self.kept_at is None else {
                    "at": self.kept_at.isoformat(), "rule": self.kept_rule, "source": self.kept_source,
                    "reason": self.kept_reason}}


class CollusionFlag(SQLModel, table=True):
    __tablename__ = "collusion_flags"
    __table_args__ = (UniqueConstraint("project_code", "account", name="collusion_flags_project_account_unique"),)

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    account: str = Field(sa_column=Column(String(64), nullable=False))
    bidder_codes: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    raised_at: datetime = Field(sa_column=created_at_column())
    note: str = Field(sa_column=Column(Text, nullable=False))
    # A supervisor's dismissal (e.g. a guarantor's account paying for several bidders, checked).
    dismissed_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    dismissed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    dismissal_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_code": self.project_code, "account": self.account,
                "bidder_codes": list(self.bidder_codes), "raised_at": self.raised_at.isoformat(), "note": self.note,
                "dismissed": None if self.dismissed_at is None else {
                    "at": self.dismissed_at.isoformat(), "by": self.dismissed_by, "reason": self.dismissal_reason}}


REFUND_EVENTS = {"award_notice": "中标通知书发出", "contract": "合同签订", "failed": "流标",
                 "terminated": "终止招标", "withdrawn": "投标截止前撤回投标"}


class RefundPayment(TypedDict):
    at: str
    by: str | None
    bank: str | None
    bank_reference: str | None
    value_date: str | None
    source: str | None


class RefundRecord(TypedDict):
    """A refund instruction as the ledger shows it (``LedgerRefund.as_dict``)."""

    id: int
    number: str
    deposit_id: int
    project_code: str
    bidder_credit_code: str
    principal_fen: int
    interest_fen: int
    amount_fen: int
    interest: dict[str, Any] | None
    payee_account: str
    payee_account_name: str
    event: str
    event_name: str
    rule: str | None
    rule_source: str | None
    due_at: str
    due_provisional: bool
    instructed_by: str | None
    paid: RefundPayment | None


class LedgerRefund(SQLModel, table=True):
    """One refund instruction per deposit (never two), to the account the deposit came from."""

    __tablename__ = "ledger_refunds"
    __table_args__ = (
        CheckConstraint("principal_fen > 0 AND interest_fen >= 0", name="ledger_refunds_amounts"),
        CheckConstraint("amount_fen = principal_fen + interest_fen", name="ledger_refunds_amount_is_sum"),
        CheckConstraint("event IN ('award_notice', 'contract', 'failed', 'terminated', 'withdrawn')",
                        name="ledger_refunds_event_known"),
        CheckConstraint("(paid_at IS NULL) = (paid_reference IS NULL)", name="ledger_refunds_paid_has_reference"),
        UniqueConstraint("deposit_id", name="ledger_refunds_one_per_deposit"),
        UniqueConstraint("paid_bank", "paid_reference", name="ledger_refunds_paid_reference_unique"),
        Index("ledger_refunds_project", "project_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    deposit_id: int = Field(sa_column=Column(Integer, ForeignKey("ledger_deposits.id"), nullable=False))
    project_code: str = Field(sa_column=Column(String(40), nullable=False))
    bidder_credit_code: str = Field(sa_column=Column(String(18), nullable=False))
    principal_fen: int = Field(sa_column=money_column())
    interest_fen: int = Field(sa_column=money_column())
    amount_fen: int = Field(sa_column=money_column())
    interest: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))  # how it was computed
    payee_account: str = Field(sa_column=Column(String(64), nullable=False))
    payee_account_name: str = Field(sa_column=Column(String(200), nullable=False))
    event: str = Field(sa_column=Column(String(16), nullable=False))
    rule: str | None = Field(default=None, sa_column=Column(String(80), nullable=True))
    rule_source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    due_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    # Reckoned on a provisional calendar year (trading.rules.calendar.PROVISIONAL_NOTE).
    due_provisional: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                                  server_default=text("false")))
    instructed_by: str = Field(sa_column=Column(String(200), nullable=False))
    instructed_at: datetime = Field(sa_column=created_at_column())
    paid_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    paid_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    paid_bank: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    paid_reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    paid_value_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    paid_source: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))

    @property
    def number(self) -> str:
        """The refund's number, written in the bank transfer's remark (附言) to match it back."""
        return refund_number(self.id)

    def as_dict(self) -> RefundRecord:
        return {"id": self.id, "number": self.number, "deposit_id": self.deposit_id,
                "project_code": self.project_code, "bidder_credit_code": self.bidder_credit_code,
                "principal_fen": self.principal_fen, "interest_fen": self.interest_fen, "amount_fen": self.amount_fen,
                "interest": self.interest, "payee_account": self.payee_account,
                "payee_account_name": self.payee_account_name, "event": self.event,
                "event_name": REFUND_EVENTS[self.event], "rule": self.rule, "rule_source": self.rule_source,
                "due_at": self.due_at.isoformat(), "due_provisional": self.due_provisional,
                "instructed_by": self.instructed_by,
                "paid": None if self.paid_at is None else {
                    "at": self.paid_at.isoformat(), "by": self.paid_by, "bank": self.paid_bank,
                    "bank_reference": self.paid_reference,
                    "value_date": self.paid_value_date.isoformat() if self.paid_value_date else None,
                    "source": self.paid_source}}


class LedgerFee(SQLModel, table=True):
    """The service fee charged to the winner of a project (one per project), and its payment."""

    __tablename__ = "ledger_fees"
    __table_args__ = (
        CheckConstraint("amount_fen >= 0 AND basis_fen >= 0", name="ledger_fees_amounts"),
        CheckConstraint("(paid_at IS NULL) = (paid_reference IS NULL)", name="ledger_fees_paid_has_reference"),
        UniqueConstraint("project_code", name="ledger_fees_one_per_project"),
        UniqueConstraint("paid_bank", "paid_reference", name="ledger_fees_paid_reference_unique"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(sa_column=Column(String(40), nullable=False))
    payer_credit_code: str = Field(sa_column=Column(String(18), nullable=False))
    category: str = Field(sa_column=Column(String(16), nullable=False))
    basis_fen: int = Field(sa_column=money_column())  # the winning amount the fee is computed on
    amount_fen: int = Field(sa_column=money_column())
    schedule: str = Field(sa_column=Column(String(60), nullable=False))  # code@version of the fee schedule
    charged_by: str = Field(sa_column=Column(String(200), nullable=False))
    charged_at: datetime = Field(sa_column=created_at_column())
    paid_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    paid_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    paid_account: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    paid_account_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    paid_bank: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    paid_reference: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    paid_value_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "project_code": self.project_code, "payer_credit_code": self.payer_credit_code,
                "category": self.category, "basis_fen": self.basis_fen, "amount_fen": self.amount_fen,
                "schedule": self.schedule, "charged_by": self.charged_by, "charged_at": self.charged_at.isoformat(),
                "paid": None if self.paid_at is None else {
                    "at": self.paid_at.isoformat(), "by": self.paid_by, "account": self.paid_account,
                    "account_name": self.paid_account_name, "bank": self.paid_bank,
                    "bank_reference": self.paid_reference,
                    "value_date": self.paid_value_date.isoformat() if self.paid_value_date else None}}


def refund_number(refund_id: int | None) -> str:
    return f"TK{refund_id:08d}" if refund_id is not None else ""


# ------------------------------------------------------------------------------ money

_YUAN = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.[0-9]{2}")  # ASCII digits only
_FEN = re.compile(r"[0-9]+")


def parse_yuan(value: str) -> int:
    """``"1,234.50"`` → 123450 fen: exactly two decimals, no floats anywhere (string arithmetic)."""
    text_ = str(value).strip().replace("，", ",")
    if not _YUAN.fullmatch(text_):
        raise InvalidInput(f"金额「{value}」格式有误：应为保留两位小数的元金额，如 12345.00", code="invalid_yuan_amount", field="amount")
    whole, cents = text_.replace(",", "").split(".")
    return int(whole) * 100 + int(cents)


def parse_fen(value: str) -> int:
    text_ = str(value).strip()
    if not _FEN.fullmatch(text_):
        raise InvalidInput(f"金额「{value}」格式有误：应为整数（单位：分）", code="invalid_fen_amount", field="amount")
    return int(text_)


def normalise_account(account: str) -> str:
    """Account numbers compare without spaces and hyphens (banks print them grouped)."""
    return re.sub(r"[\s\-]", "", str(account or ""))


# ------------------------------------------------------------------------------ deposits


def _check_amount(amount_fen: Any) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise InvalidInput("保证金金额应为大于零的整数（单位：分）", code="invalid_deposit_amount", field="amount_fen")
    return amount_fen


# Free text of a deposit, and the length its column holds (a longer value is refused, naming it).
DEPOSIT_TEXT_LENGTHS = {name: text_length(LedgerDeposit.__table__.c[name])
                        for name in ("account", "account_name", "bank", "bank_reference")}
DEPOSIT_TEXT_LABELS = {"account": "付款账号", "account_name": "付款户名", "bank": "收款银行",
                       "bank_reference": "银行交易流水号"}


def over_long(field_: str, value: str) -> str | None:
    """Why ``value`` cannot be stored in the deposit's ``field_``, or None."""
    limit = DEPOSIT_TEXT_LENGTHS[field_]
    return f"{DEPOSIT_TEXT_LABELS[field_]}过长：最多{limit}个字符，实为{len(value)}个" if len(value) > limit else None


@dataclass(frozen=True)
class IncomingPayment:
    """One checked payment into the center's account, to record as a deposit."""

    project_code: str
    bidder_credit_code: str
    amount_fen: int
    account: str  # normalised (normalise_account)
    account_name: str
    bank_reference: str
    value_date: date
    bank: str = ""


async def record_deposit(
    session: AsyncSession, *, actor: str, project_code: str, bidder_credit_code: str, amount_fen: int,
    account: str, account_name: str, bank_reference: str, value_date: date, source: str, bank: str = "",
) -> LedgerDeposit:
    """Record one deposit with its audit entry; raise a collusion flag where the account is shared."""
    amount = _check_amount(amount_fen)
    bidder = validate_credit_code(bidder_credit_code)
    project = (project_code or "").strip()
    if not project:
        raise InvalidInput("缺少项目编号", code="project_code_required", field="project_code")
    paying = normalise_account(account)
    if not paying:
        raise InvalidInput("缺少付款账号", code="payer_account_required", field="account")
    if not (account_name or "").strip():
        raise InvalidInput("缺少付款户名", code="payer_name_required", field="account_name")
    reference = (bank_reference or "").strip()
    if not reference:
        raise InvalidInput("缺少银行交易流水号", code="bank_reference_required", field="bank_reference")
    if not isinstance(value_date, date):
        raise InvalidInput("到账日期格式有误", code="invalid_date", field="value_date")
    if source not in SOURCES:
        raise InvalidInput(f"未知的保证金来源「{source}」", code="unknown_deposit_source", field="source")
    payment = IncomingPayment(project, bidder, amount, paying, account_name.strip(), reference, value_date,
                              (bank or "").strip())
    for name in DEPOSIT_TEXT_LENGTHS:
        if reason := over_long(name, getattr(payment, name)):
            raise InvalidInput(reason, code="invalid_deposit", field=name)
    if await session.scalar(select(LedgerDeposit.id).where(LedgerDeposit.bank == payment.bank,
                                                           LedgerDeposit.bank_reference == reference)):
        raise Conflict(f"银行流水 {reference} 已入账", code="bank_reference_used", bank_reference=reference)
    [deposit] = await record_deposits(session, actor=actor, payments=[payment], source=source)
    return deposit


async def record_deposits(session: AsyncSession, *, actor: str, payments: Sequence[IncomingPayment],
                          source: str) -> list[LedgerDeposit]:
    """Record checked payments as deposits, each with its audit entry, in a few statements
    however many there are (a statement brings tens of thousands); raise a collusion flag
    for every account that now pays for more than one bidder of a project."""
    # One writer per project at a time, so that the collusion check sees every deposit of it;
    # taken in order, so that two imports naming the same projects cannot deadlock.
    for project in sorted({payment.project_code for payment in payments}):
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"ledger:{project}"})
    await session.flush()
    deposits = await insert_in_batches(session, LedgerDeposit, [
        {**asdict(payment), "source": source, "confirmed_by": actor} for payment in payments], returning=LedgerDeposit)
    await record_events(session, [AuditEvent(actor, "ledger.deposit_recorded", f"project:{deposit.project_code}", {
        "deposit_id": deposit.id, "bidder": deposit.bidder_credit_code, "amount_fen": deposit.amount_fen,
        "account": deposit.account, "account_name": deposit.account_name, "bank": deposit.bank,
        "bank_reference": deposit.bank_reference, "value_date": deposit.value_date.isoformat(), "source": source})
        for deposit in deposits])
    paid_from = {(deposit.project_code, deposit.account) for deposit in deposits}
    shared = (await session.execute(
        select(LedgerDeposit.project_code, LedgerDeposit.account)
        .where(any_of(LedgerDeposit.project_code, {project for project, _ in paid_from}),
               any_of(LedgerDeposit.account, {account for _, account in paid_from}))
        .group_by(LedgerDeposit.project_code, LedgerDeposit.account)
        .having(func.count(distinct(LedgerDeposit.bidder_credit_code)) > 1))).all()
    for project, account in sorted(pair for pair in map(tuple, shared) if pair in paid_from):
        await _check_shared_account(session, actor=actor, project_code=project, account=account)
    return deposits


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
        # New facts: a dismissed flag is raised again for the supervisors to look at.
        flag.bidder_codes, flag.note = bidders, note
        flag.dismissed_at = flag.dismissed_by = flag.dismissal_reason = None
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


async def paid_totals(session: AsyncSession, *, project_code: str) -> dict[str, int]:
    """What each bidder's deposits for the project now secure (not those kept or being
    refunded), by credit code, for every bidder that paid."""
    rows = await session.execute(
        select(LedgerDeposit.bidder_credit_code, func.sum(LedgerDeposit.amount_fen)).where(
            LedgerDeposit.project_code == project_code, LedgerDeposit.kept_at.is_(None),
            LedgerDeposit.id.not_in(select(LedgerRefund.deposit_id)))
        .group_by(LedgerDeposit.bidder_credit_code))
    return {bidder: int(total) for bidder, total in rows.all()}


async def collusion_flags(session: AsyncSession, *, project_code: str | None = None) -> list[CollusionFlag]:
    query = select(CollusionFlag)
    if project_code is not None:
        query = query.where(CollusionFlag.project_code == project_code)
    return list((await session.scalars(query.order_by(CollusionFlag.id))).all())


async def dismiss_collusion_flag(session: AsyncSession, *, flag_id: int, actor: str, reason: str) -> CollusionFlag:
    """A supervisor dismisses a collusion flag after checking it, with the reason (audited)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("撤销串通投标预警须说明理由", code="reason_required", field="reason")
    flag = await session.scalar(select(CollusionFlag).where(CollusionFlag.id == flag_id).with_for_update())
    if flag is None:
        raise NotFound("未找到该串通投标预警", flag_id=flag_id)
    if flag.dismissed_at is not None:
        raise Conflict("该预警已被撤销", code="flag_dismissed", flag_id=flag_id)
    flag.dismissed_at = await database_now(session)
    flag.dismissed_by, flag.dismissal_reason = actor, reason.strip()
    await session.flush()
    await record_event(session, actor=actor, action="ledger.collusion_flag_dismissed",
                       subject=f"project:{flag.project_code}",
                       data={"flag_id": flag.id, "account": flag.account, "bidders": list(flag.bidder_codes),
                             "reason": flag.dismissal_reason})
    return flag


# ------------------------------------------------------------------------------ kept deposits and refunds


async def keep_deposit(session: AsyncSession, *, deposit: LedgerDeposit, actor: str, rule: str, source: str | None,
                       reason: str) -> LedgerDeposit:
    """Mark a deposit kept by the center under ``rule`` (audited); a refunded one cannot be kept."""
    if deposit.kept_at is not None:
        return deposit
    if await session.scalar(select(LedgerRefund.id).where(LedgerRefund.deposit_id == deposit.id)):
        raise Conflict("该保证金已发出退还指令，不能再不予退还", code="deposit_refunded", deposit_id=deposit.id)
    deposit.kept_at = await database_now(session)
    deposit.kept_rule, deposit.kept_source, deposit.kept_reason = rule, source, reason
    await session.flush()
    await record_event(session, actor=actor, action="ledger.deposit_kept", subject=f"project:{deposit.project_code}",
                       data={"deposit_id": deposit.id, "bidder": deposit.bidder_credit_code,
                             "amount_fen": deposit.amount_fen, "rule": rule, "source": source, "reason": reason})
    return deposit


async def open_deposits(session: AsyncSession, *, project_code: str) -> list[LedgerDeposit]:
    """The project's deposits neither kept nor refund-instructed, locked for the caller."""
    refunded = select(LedgerRefund.deposit_id)
    return list((await session.scalars(
        select(LedgerDeposit).where(LedgerDeposit.project_code == project_code, LedgerDeposit.kept_at.is_(None),
                                    LedgerDeposit.id.not_in(refunded))
        .order_by(LedgerDeposit.id).with_for_update())).all())


async def instruct_refund(
    session: AsyncSession, *, deposit: LedgerDeposit, actor: str, event: str, interest_fen: int,
    interest: dict[str, Any] | None, due_at: datetime, rule: str | None, rule_source: str | None,
    due_provisional: bool = False,
) -> LedgerRefund:
    """Write the refund instruction of one deposit (to its paying account), audited; never twice."""
    if event not in REFUND_EVENTS:
        raise InvalidInput(f"未知的退还事由「{event}」", code="unknown_refund_event", field="event")
    if deposit.kept_at is not None:
        raise Conflict("该保证金依规则不予退还", code="deposit_kept", deposit_id=deposit.id)
    if await session.scalar(select(LedgerRefund.id).where(LedgerRefund.deposit_id == deposit.id)):
        raise Conflict("该保证金已发出退还指令", code="refund_exists", deposit_id=deposit.id)
    refund = LedgerRefund(deposit_id=deposit.id, project_code=deposit.project_code,
                          bidder_credit_code=deposit.bidder_credit_code, principal_fen=deposit.amount_fen,
                          interest_fen=interest_fen, amount_fen=deposit.amount_fen + interest_fen, interest=interest,
                          payee_account=deposit.account, payee_account_name=deposit.account_name, event=event,
                          rule=rule, rule_source=rule_source, due_at=due_at, due_provisional=due_provisional,
                          instructed_by=actor)
    session.add(refund)
    await session.flush()
    await session.refresh(refund)
    await record_event(session, actor=actor, action="ledger.refund_instructed", subject=f"project:{deposit.project_code}",
                       data={"refund_id": refund.id, "deposit_id": deposit.id, "bidder": deposit.bidder_credit_code,
                             "principal_fen": refund.principal_fen, "interest_fen": interest_fen,
                             "amount_fen": refund.amount_fen, "account": refund.payee_account, "event": event,
                             "rule": rule, "source": rule_source, "due_at": due_at.isoformat()})
    return refund


async def record_refund_paid(
    session: AsyncSession, *, refund_id: int, actor: str, bank_reference: str, value_date: date, bank: str = "",
    source: str = MANUAL,
) -> LedgerRefund:
    """The refund left the center's account (finance confirmation or a statement's outgoing row)."""
    reference = (bank_reference or "").strip()
    if not reference:
        raise InvalidInput("缺少银行交易流水号", code="bank_reference_required", field="bank_reference")
    if not isinstance(value_date, date):
        raise InvalidInput("付款日期格式有误", code="invalid_date", field="value_date")
    refund = await session.scalar(select(LedgerRefund).where(LedgerRefund.id == refund_id).with_for_update())
    if refund is None:
        raise NotFound("未找到该退款指令", refund_id=refund_id)
    if refund.paid_at is not None:
        raise Conflict(f"退款 {refund.number} 已于 {refund.paid_value_date} 支付（流水号 {refund.paid_reference}）",
                       code="refund_paid", refund_id=refund_id)
    bank = (bank or "").strip()
    if await session.scalar(select(LedgerRefund.id).where(LedgerRefund.paid_bank == bank,
                                                          LedgerRefund.paid_reference == reference)):
        raise Conflict(f"银行流水 {reference} 已用于其他退款", code="bank_reference_used", bank_reference=reference)
    refund.paid_at = await database_now(session)
    refund.paid_by, refund.paid_bank, refund.paid_reference = actor, bank, reference
    refund.paid_value_date, refund.paid_source = value_date, source
    await session.flush()
    await record_event(session, actor=actor, action="ledger.refund_paid", subject=f"project:{refund.project_code}",
                       data={"refund_id": refund.id, "deposit_id": refund.deposit_id, "amount_fen": refund.amount_fen,
                             "account": refund.payee_account, "bank": bank, "bank_reference": reference,
                             "value_date": value_date.isoformat(), "source": source})
    return refund


async def refunds_of(session: AsyncSession, *, project_code: str | None = None, unpaid_only: bool = False,
                     bidder_credit_code: str | None = None) -> list[LedgerRefund]:
    query = select(LedgerRefund)
    if project_code is not None:
        query = query.where(LedgerRefund.project_code == project_code)
    if bidder_credit_code is not None:
        query = query.where(LedgerRefund.bidder_credit_code == bidder_credit_code)
    if unpaid_only:
        query = query.where(LedgerRefund.paid_at.is_(None))
    return list((await session.scalars(query.order_by(LedgerRefund.due_at, LedgerRefund.id))).all())


# ------------------------------------------------------------------------------ service fees


async def charge_fee(session: AsyncSession, *, actor: str, project_code: str, payer_credit_code: str, category: str,
                     basis_fen: int, amount_fen: int, schedule: str) -> LedgerFee:
    """Record the service fee charged to the winner (once per project), audited."""
    if await session.scalar(select(LedgerFee.id).where(LedgerFee.project_code == project_code)):
        raise Conflict(f"项目 {project_code} 已收取服务费", code="fee_charged", project_code=project_code)
    fee = LedgerFee(project_code=project_code, payer_credit_code=payer_credit_code, category=category,
                    basis_fen=basis_fen, amount_fen=amount_fen, schedule=schedule, charged_by=actor)
    session.add(fee)
    await session.flush()
    await session.refresh(fee)
    await record_event(session, actor=actor, action="ledger.fee_charged", subject=f"project:{project_code}",
                       data={"fee_id": fee.id, "payer": payer_credit_code, "category": category,
                             "basis_fen": basis_fen, "amount_fen": amount_fen, "schedule": schedule})
    return fee


async def record_fee_paid(
    session: AsyncSession, *, fee_id: int, actor: str, account: str, account_name: str, bank_reference: str,
    value_date: date, bank: str = "",
) -> LedgerFee:
    """Finance staff record that the fee came in, with the paying account and bank reference."""
    paying, reference = normalise_account(account), (bank_reference or "").strip()
    if not paying:
        raise InvalidInput("缺少付款账号", code="payer_account_required", field="account")
    if not (account_name or "").strip():
        raise InvalidInput("缺少付款户名", code="payer_name_required", field="account_name")
    if not reference:
        raise InvalidInput("缺少银行交易流水号", code="bank_reference_required", field="bank_reference")
    if not isinstance(value_date, date):
        raise InvalidInput("到账日期格式有误", code="invalid_date", field="value_date")
    fee = await session.scalar(select(LedgerFee).where(LedgerFee.id == fee_id).with_for_update())
    if fee is None:
        raise NotFound("未找到该服务费", fee_id=fee_id)
    if fee.paid_at is not None:
        raise Conflict("该服务费已缴纳", code="fee_paid", fee_id=fee_id)
    bank = (bank or "").strip()
    if await session.scalar(select(LedgerFee.id).where(LedgerFee.paid_bank == bank,
                                                       LedgerFee.paid_reference == reference)):
        raise Conflict(f"银行流水 {reference} 已入账", code="bank_reference_used", bank_reference=reference)
    fee.paid_at = await database_now(session)
    fee.paid_by, fee.paid_account, fee.paid_account_name = actor, paying, account_name.strip()
    fee.paid_bank, fee.paid_reference, fee.paid_value_date = bank, reference, value_date
    await session.flush()
    await record_event(session, actor=actor, action="ledger.fee_paid", subject=f"project:{fee.project_code}",
                       data={"fee_id": fee.id, "amount_fen": fee.amount_fen, "account": paying, "bank": bank,
                             "bank_reference": reference, "value_date": value_date.isoformat()})
    return fee


async def fees_of(session: AsyncSession, *, project_code: str | None = None) -> list[LedgerFee]:
    query = select(LedgerFee)
    if project_code is not None:
        query = query.where(LedgerFee.project_code == project_code)
    return list((await session.scalars(query.order_by(LedgerFee.id))).all())
