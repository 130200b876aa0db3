"""Deposits of registered bidders: matching ledger entries to registrations and settling them.

The ledger (``trading.ledger``) records money by project and bidder code and cannot see
registrations; this module, above it, matches each deposit to an admitted registration
and sets ``registrations.deposit_paid_at`` once the bidder's deposits for the project
reach what its registration requires (``bidding.bids.submission`` refuses bids until then).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.deadlines import meet_deadline
from bidding.tender.projects import Project
from bidding.tender.registrations import ADMITTED, Registration
from trading import bank_statements, ledger
from trading.audit import AuditEvent, record_events
from trading.columns import any_of
from trading.database import transaction_now
from trading.errors import InvalidInput, NotFound, RuleViolation
from trading.identifiers import validate_credit_code
from trading.organisations import Organisation


async def _admitted(session: AsyncSession, project_code: str, bidder_credit_code: str) -> Registration | None:
    return await session.scalar(
        select(Registration).join(Project, Project.id == Registration.project_id)
        .join(Organisation, Organisation.id == Registration.bidder_organisation_id)
        .where(Project.code == project_code, Organisation.credit_code == bidder_credit_code,
               Registration.status == ADMITTED))


async def registration_problems(session: AsyncSession, pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """For each (project code, bidder credit code) without an admitted registration, why not
    (Chinese); pairs left out match. Two queries however many pairs (a statement's rows)."""
    codes = {project for project, _ in pairs}
    known = set((await session.scalars(select(Project.code).where(any_of(Project.code, codes)))).all())
    admitted = {tuple(pair) for pair in (await session.execute(
        select(Project.code, Organisation.credit_code).join(Registration, Registration.project_id == Project.id)
        .join(Organisation, Organisation.id == Registration.bidder_organisation_id)
        .where(any_of(Project.code, known), Registration.status == ADMITTED,
               any_of(Organisation.credit_code, {bidder for _, bidder in pairs})))).all()}
    return {(project, bidder): f"未找到项目 {project}" if project not in known
            else f"投标人 {bidder} 未获准报名项目 {project}"
            for project, bidder in pairs if (project, bidder) not in admitted}


async def settle_deposits(session: AsyncSession, *, project_code: str, actor: str = "system") -> list[Registration]:
    """Mark every admitted registration of the project whose deposits now reach its requirement as paid."""
    rows = (await session.execute(
        select(Registration, Organisation.credit_code).join(Project, Project.id == Registration.project_id)
        .join(Organisation, Organisation.id == Registration.bidder_organisation_id)
        .where(Project.code == project_code, Registration.status == ADMITTED, Registration.deposit_required_fen > 0,
               Registration.deposit_paid_at.is_(None))
        .with_for_update(of=Registration))).all()
    if not rows:
        return []
    paid = await ledger.paid_totals(session, project_code=project_code)
    now = await transaction_now(session)
    settled, events = [], []
    for registration, credit_code in rows:
        if paid.get(credit_code, 0) < registration.deposit_required_fen:
            continue
        registration.deposit_paid_at = now
        settled.append(registration)
        events.append(AuditEvent(actor, "registration.deposit_paid", f"project:{project_code}", {
            "registration_id": registration.id, "bidder": credit_code, "paid_fen": paid[credit_code],
            "deposit_required_fen": registration.deposit_required_fen}))
    await session.flush()
    await record_events(session, events)
    return settled


async def confirm_deposit(
    session: AsyncSession, *, actor: str, project_code: str, bidder_credit_code: str, amount_fen: int,
    account: str, account_name: str, bank_reference: str, value_date: date, bank: str = "",
) -> ledger.LedgerDeposit:
    """Finance staff confirm a deposit by hand: matched to an admitted registration, recorded, settled."""
    code = validate_credit_code(bidder_credit_code)
    reason = (await registration_problems(session, [(project_code, code)])).get((project_code, code))
    if reason is not None:
        if reason.startswith("未找到项目"):
            raise NotFound(reason, project_code=project_code)
        raise RuleViolation(reason, code="not_admitted", project_code=project_code, bidder=code)
    if not isinstance(value_date, date):
        raise InvalidInput("到账日期格式有误", code="invalid_date", field="value_date")
    deposit = await ledger.record_deposit(
        session, actor=actor, project_code=project_code, bidder_credit_code=code, amount_fen=amount_fen,
        account=account, account_name=account_name, bank_reference=bank_reference, value_date=value_date,
        source=ledger.MANUAL, bank=bank)
    await settle_deposits(session, project_code=project_code, actor=actor)
    return deposit


async def import_statement(session: AsyncSession, *, actor: str, filename: str, data: bytes,
                           bank: str = "") -> bank_statements.StatementResult:
    """Import a bank statement into the ledger (incoming rows matched to admitted registrations,
    outgoing rows to refund instructions), then settle registrations and meet refund deadlines."""
    result = await bank_statements.import_statement(session, actor=actor, filename=filename, data=data, bank=bank,
                                                    matcher=registration_problems)
    for project_code in sorted({deposit.project_code for deposit in result.imported}):
        await settle_deposits(session, project_code=project_code, actor=actor)
    for refund in result.refunds_paid:  # outgoing rows: refunds paid meet their deadlines
        await meet_deadline(session, kind="refund", subject=f"deposit:{refund.deposit_id}", actor=actor)
    return result
