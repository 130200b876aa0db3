"""The ledger as the center's staff read it: deposits with their refund state and receipt,
refunds with their state, receipts (without their PDFs), each optionally of one project.

Read-only; every act on the ledger goes through :mod:`bidding.settlement.deposits`,
:mod:`bidding.settlement.refunds` and :mod:`trading.ledger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from trading.ledger import REFUND_EVENTS, LedgerDeposit, LedgerFee, LedgerRefund
from trading.organisations import Organisation
from trading.receipts import DEPOSIT, FEE, KIND_NAMES, REFUND, Receipt

LIST_LIMIT = 500  # the newest rows; a project filter shows that project's whole ledger


@dataclass
class DepositLine:
    deposit: LedgerDeposit
    bidder_name: str
    refund: LedgerRefund | None
    receipt_number: str | None

    @property
    def state(self) -> str:
        if self.deposit.kept_at is not None:
            return "kept"
        if self.refund is None:
            return "held"
        return "refunded" if self.refund.paid_at is not None else "refund_due"


DEPOSIT_STATE_NAMES = {"held": "在账", "kept": "依规不予退还", "refund_due": "待退还", "refunded": "已退还"}


@dataclass
class RefundLine:
    refund: LedgerRefund
    bidder_name: str
    receipt_number: str | None
    overdue: bool

    @property
    def event_name(self) -> str:
        return REFUND_EVENTS.get(self.refund.event, self.refund.event)

    @property
    def state_name(self) -> str:
        if self.refund.paid_at is not None:
            return "已支付"
        return "已逾期未付" if self.overdue else "待支付"


def _project(query, model, project_code: str | None):
    return query.where(model.project_code == project_code.strip()) if project_code and project_code.strip() else query


async def deposit_lines(session: AsyncSession, *, project_code: str | None = None) -> list[DepositLine]:
    """Deposits, newest first, with the bidder's name, the refund instruction and the receipt."""
    query = (select(LedgerDeposit, Organisation.name, LedgerRefund, Receipt.number)
             .outerjoin(Organisation, Organisation.credit_code == LedgerDeposit.bidder_credit_code)
             .outerjoin(LedgerRefund, LedgerRefund.deposit_id == LedgerDeposit.id)
             .outerjoin(Receipt, and_(Receipt.kind == DEPOSIT, Receipt.source_id == LedgerDeposit.id)))
    query = _project(query, LedgerDeposit, project_code).order_by(LedgerDeposit.id.desc()).limit(LIST_LIMIT)
    return [DepositLine(deposit, name or "", refund, number)
            for deposit, name, refund, number in (await session.execute(query)).all()]


async def refund_lines(session: AsyncSession, *, now: datetime, project_code: str | None = None,
                       unpaid_only: bool = False) -> list[RefundLine]:
    """Refund instructions, soonest due first, with their state (paid, due, overdue at ``now``)."""
    query = (select(LedgerRefund, Organisation.name, Receipt.number)
             .outerjoin(Organisation, Organisation.credit_code == LedgerRefund.bidder_credit_code)
             .outerjoin(Receipt, and_(Receipt.kind == REFUND, Receipt.source_id == LedgerRefund.id)))
    if unpaid_only:
        query = query.where(LedgerRefund.paid_at.is_(None))
    query = _project(query, LedgerRefund, project_code).order_by(LedgerRefund.due_at, LedgerRefund.id).limit(LIST_LIMIT)
    return [RefundLine(refund, name or "", number, refund.paid_at is None and now >= refund.due_at)
            for refund, name, number in (await session.execute(query)).all()]


@dataclass
class ReceiptLine:
    number: str
    kind: str
    project_code: str
    party_credit_code: str
    party_name: str
    amount_fen: int
    issued_at: datetime

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)


async def receipt_lines(session: AsyncSession, *, project_code: str | None = None) -> list[ReceiptLine]:
    """Receipts issued, newest first (their PDFs are not loaded)."""
    query = (select(Receipt, Organisation.name).options(defer(Receipt.pdf), defer(Receipt.record))
             .outerjoin(Organisation, Organisation.credit_code == Receipt.party_credit_code))
    query = _project(query, Receipt, project_code).order_by(Receipt.id.desc()).limit(LIST_LIMIT)
    return [ReceiptLine(r.number, r.kind, r.project_code, r.party_credit_code, name or "", r.amount_fen, r.issued_at)
            for r, name in (await session.execute(query)).all()]


@dataclass
class FeeLine:
    fee: LedgerFee
    payer_name: str
    receipt_number: str | None


async def fee_lines(session: AsyncSession, *, project_code: str | None = None) -> list[FeeLine]:
    """Service fees charged to winners, newest first, with their payment and receipt."""
    query = (select(LedgerFee, Organisation.name, Receipt.number)
             .outerjoin(Organisation, Organisation.credit_code == LedgerFee.payer_credit_code)
             .outerjoin(Receipt, and_(Receipt.kind == FEE, Receipt.source_id == LedgerFee.id)))
    query = _project(query, LedgerFee, project_code).order_by(LedgerFee.id.desc()).limit(LIST_LIMIT)
    return [FeeLine(fee, name or "", number) for fee, name, number in (await session.execute(query)).all()]
