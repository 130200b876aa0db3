"""Receipts owed by the ledger, issued: every deposit received, every fee paid, every refund paid.

A payment is recorded in the transaction that learns of it (statement import, finance
confirmation), which has no signing key; :func:`issue_due_receipts` finds every payment
without a receipt and issues it (:func:`trading.receipts.issue_receipt`: PDF, signature).
The web routes call it right after the payment, the app's worker every minute, so no
payment stays without its receipt.
"""

from __future__ import annotations

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.projects import Project
from trading import ledger
from trading.accounts import User
from trading.errors import PermissionDenied
from trading.keys import CenterKeys
from trading.money import yuan
from trading.organisations import Organisation
from trading.receipts import DEPOSIT, FEE, REFUND, Receipt, get_receipt, issue_receipt
from trading.roles import UserRole

SOURCE_NAMES = {ledger.STATEMENT: "银行流水导入", ledger.MANUAL: "财务人工确认"}


def _without_receipt(model, kind: str):
    return ~select(Receipt.id).where(and_(Receipt.kind == kind, Receipt.source_id == model.id)).exists()


async def _names(session: AsyncSession, project_code: str, credit_code: str) -> tuple[str, str]:
    title = await session.scalar(select(Project.title).where(Project.code == project_code)) or ""
    name = await session.scalar(select(Organisation.name).where(Organisation.credit_code == credit_code)) or ""
    return title, name


async def issue_due_receipts(session: AsyncSession, keys: CenterKeys, *, public_url: str,
                             project_code: str | None = None, limit: int = 200) -> list[Receipt]:
    """Issue the receipt of every payment and refund that has none yet (optionally of one project)."""

    def scoped(query, model):
        return query.where(model.project_code == project_code) if project_code is not None else query

    deposits = (await session.scalars(scoped(select(ledger.LedgerDeposit).where(
        _without_receipt(ledger.LedgerDeposit, DEPOSIT)), ledger.LedgerDeposit)
        .order_by(ledger.LedgerDeposit.id).limit(limit))).all()
    fees = (await session.scalars(scoped(select(ledger.LedgerFee).where(
        ledger.LedgerFee.paid_at.is_not(None), _without_receipt(ledger.LedgerFee, FEE)), ledger.LedgerFee)
        .order_by(ledger.LedgerFee.id).limit(limit))).all()
    refunds = (await session.scalars(scoped(select(ledger.LedgerRefund).where(
        ledger.LedgerRefund.paid_at.is_not(None), _without_receipt(ledger.LedgerRefund, REFUND)), ledger.LedgerRefund)
        .order_by(ledger.LedgerRefund.id).limit(limit))).all()
    issued = []
    for deposit in deposits:
        title, name = await _names(session, deposit.project_code, deposit.bidder_credit_code)
        issued.append(await issue_receipt(
            session, keys, kind=DEPOSIT, source_id=deposit.id, project_code=deposit.project_code, project_title=title,
            party_credit_code=deposit.bidder_credit_code, party_name=name, amount_fen=deposit.amount_fen,
            account=deposit.account, account_name=deposit.account_name, bank=deposit.bank,
            bank_reference=deposit.bank_reference, value_date=deposit.value_date.isoformat(),
            details=[["款项", "投标保证金"], ["入账方式", SOURCE_NAMES.get(deposit.source, deposit.source)]],
            public_url=public_url))
    for fee in fees:
        title, name = await _names(session, fee.project_code, fee.payer_credit_code)
        issued.append(await issue_receipt(
            session, keys, kind=FEE, source_id=fee.id, project_code=fee.project_code, project_title=title,
            party_credit_code=fee.payer_credit_code, party_name=name, amount_fen=fee.amount_fen,
            account=fee.paid_account, account_name=fee.paid_account_name, bank=fee.paid_bank or "",
            bank_reference=fee.paid_reference, value_date=fee.paid_value_date.isoformat(),
            details=[["款项", "交易服务费"], ["计费基数（中标金额）", f"¥ {yuan(fee.basis_fen)} 元"],
                     ["收费标准", fee.schedule], ["计费方法", "差额定率累进"]],
            public_url=public_url))
    for refund in refunds:
        title, name = await _names(session, refund.project_code, refund.bidder_credit_code)
        interest = refund.interest or {}
        issued.append(await issue_receipt(
            session, keys, kind=REFUND, source_id=refund.id, project_code=refund.project_code, project_title=title,
            party_credit_code=refund.bidder_credit_code, party_name=name, amount_fen=refund.amount_fen,
            account=refund.payee_account, account_name=refund.payee_account_name, bank=refund.paid_bank or "",
            bank_reference=refund.paid_reference, value_date=refund.paid_value_date.isoformat(),
            details=[["款项", "退还投标保证金"], ["退款单号", refund.number],
                     ["本金", f"¥ {yuan(refund.principal_fen)} 元"],
                     ["利息", f"¥ {yuan(refund.interest_fen)} 元"
                      + (f"（{interest['days']} 天，活期存款利率，实际天数/360）" if interest else "（不计息）")],
                     ["退还事由", ledger.REFUND_EVENTS[refund.event]],
                     ["依据", refund.rule_source or "—"]],
            public_url=public_url))
    return issued


async def receipts_of(session: AsyncSession, *, project_code: str | None = None,
                      party_credit_code: str | None = None) -> list[Receipt]:
    query = select(Receipt)
    if project_code is not None:
        query = query.where(Receipt.project_code == project_code)
    if party_credit_code is not None:
        query = query.where(Receipt.party_credit_code == party_credit_code)
    return list((await session.scalars(query.order_by(Receipt.id))).all())


# The center's staff hold every receipt; anyone else only those of its own organisation (the payer or payee).
CENTER_ROLES = frozenset({UserRole.FINANCE.value, UserRole.ADMIN.value, UserRole.SUPERVISOR.value})


async def _holder_code(session: AsyncSession, user: User) -> str | None:
    organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return organisation.credit_code if organisation is not None else None


async def receipts_held_by(session: AsyncSession, user: User, *, project_code: str | None = None) -> list[Receipt]:
    """The receipts ``user`` may hold: every one for the center's staff, its organisation's own otherwise."""
    if user.role in CENTER_ROLES:
        return await receipts_of(session, project_code=project_code)
    code = await _holder_code(session, user)
    return [] if code is None else await receipts_of(session, project_code=project_code, party_credit_code=code)


async def held_receipt(session: AsyncSession, number: str, user: User) -> Receipt:
    """The receipt ``number``, when ``user`` may hold it (the center's staff, or the organisation on it)."""
    receipt = await get_receipt(session, number)
    if user.role not in CENTER_ROLES and await _holder_code(session, user) != receipt.party_credit_code:
        raise PermissionDenied("只有缴款（收款）单位和交易中心可以下载该票据", code="may_not_download")
    return receipt
