"""Deposits settled by the tender's outcome (统一费用收取退付): kept where the rules allow,
otherwise refunded — with interest where the rules say — within the pinned rule set's period.

When refunds fall due (:func:`instruct_refunds`, ``event``):

- ``award_notice``: where the rule set has ``deposit_refund_after_award_notice_(working_)days``
  (government procurement, 政府采购法实施条例 第三十三条 / 87号令 第三十八条), every bidder but
  the winner; construction waits for the contract.
- ``contract``: everyone left, the winner included, within
  ``deposit_refund_after_contract_(working_)days`` (招标投标法实施条例 第五十七条; GP Reg. art. 33).
- ``failed`` (流标) and ``terminated``: everyone. The laws give no number here (实施条例
  第三十一条 says 及时 for a termination), so the rule set's after-contract period is the
  measure used, and the refund says so.
- ``withdrawn``: bidders whose bid was withdrawn before the deadline and who have no current
  bid, within ``withdrawal_deposit_refund_(working_)days`` of the withdrawal (Reg. art. 35).

A bid the bidder itself caused to fail at the opening counts as revoked (撤销投标): where the
rule ``revoked_bid_deposit_forfeitable`` is true its deposits are kept (the rule and its
source recorded, :func:`record_opening_outcomes`); otherwise they are refunded like the others.

Each refund goes to the account the deposit came from, for the deposit plus interest where
``deposit_refund_with_interest`` is true (:mod:`trading.deposit_interest`: the bank's
same-period demand rate, to the day the refund is instructed), and starts a ``refund``
deadline (``deposit:{id}``) that paying it meets. Never two refunds of one deposit.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.submission import SUBMITTED, WITHDRAWN, Bid
from bidding.evaluation.candidates import ranked_candidates
from bidding.tender.deadlines import meet_deadline, set_deadline
from bidding.opening.proceedings import CAUSE_BIDDER, NOT_DECRYPTED, OpeningEntry, OpeningSession
from bidding.tender.projects import Project, get_project
from bidding.tender.registrations import Registration
from bidding.tender.periods import RulePeriod, rule_flag, rule_period, rule_source
from bidding.tender.states import local_date
from trading import ledger
from trading.database import database_now
from trading.deposit_interest import demand_interest
from trading.errors import Conflict, InvalidInput
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord

EVENTS = tuple(ledger.REFUND_EVENTS)
FORFEIT_RULE = "revoked_bid_deposit_forfeitable"
INTEREST_RULE = "deposit_refund_with_interest"
AFTER_CONTRACT = ("deposit_refund_after_contract_days", "deposit_refund_after_contract_working_days")
AFTER_AWARD_NOTICE = ("deposit_refund_after_award_notice_days", "deposit_refund_after_award_notice_working_days")
AFTER_WITHDRAWAL = ("withdrawal_deposit_refund_days", "withdrawal_deposit_refund_working_days")
# No period in the rule set at all: 5 days, the period every refund rule of the laws uses.
DEFAULT_REFUND_DAYS = 5


async def winner_credit_code(session: AsyncSession, project: Project) -> str | None:
    """The winner: the current rank-1 candidate of the committee's report (None before one exists)."""
    candidates = await ranked_candidates(session, project.id)
    if not candidates:
        return None
    return await session.scalar(select(Organisation.credit_code).where(
        Organisation.id == candidates[0].organisation_id))


async def record_opening_outcomes(session: AsyncSession, project: Project, *, actor: str) -> list[ledger.LedgerDeposit]:
    """Write the opening's outcome back to deposits: a revoked bid's deposits are kept where the rule allows."""
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    if not rule_flag(rule_set, FORFEIT_RULE):
        return []
    revoked = (await session.scalars(
        select(OpeningEntry).join(OpeningSession, OpeningSession.id == OpeningEntry.session_id)
        .where(OpeningSession.project_id == project.id, OpeningEntry.state == NOT_DECRYPTED,
               OpeningEntry.cause == CAUSE_BIDDER))).all()
    kept = []
    source = rule_source(rule_set, FORFEIT_RULE)
    for entry in revoked:
        reason = (f"开标时投标文件因投标人原因未能解密（{entry.reason_text or entry.reason}），视为撤销投标，"
                  f"投标保证金不予退还")
        for deposit in await ledger.open_deposits(session, project_code=project.code):
            if deposit.bidder_credit_code == entry.bidder_credit_code:
                kept.append(await ledger.keep_deposit(session, deposit=deposit, actor=actor, rule=FORFEIT_RULE,
                                                      source=source, reason=reason))
    return kept


def _period(rule_set: RuleSetRecord, keys: tuple[str, ...]) -> RulePeriod:
    found = rule_period(rule_set, *keys)
    return found if found is not None else RulePeriod(key="", value=DEFAULT_REFUND_DAYS, unit="days", source=None)


async def _withdrawn_at(session: AsyncSession, project: Project) -> dict[str, datetime]:
    """Bidders whose bid was withdrawn and who have no current bid → when they withdrew."""
    rows = (await session.execute(select(Bid.bidder_credit_code, Bid.status, Bid.withdrawn_at)
                                  .where(Bid.project_id == project.id))).all()
    current = {code for code, status, _ in rows if status == SUBMITTED}
    withdrawn: dict[str, datetime] = {}
    for code, status, at in rows:
        if status == WITHDRAWN and code not in current:
            withdrawn[code] = max(at, withdrawn.get(code, at))
    return withdrawn


async def _unsettle_registrations(session: AsyncSession, project: Project, credit_codes: set[str]) -> None:
    """A refunded deposit no longer secures a bid: bidding again needs a new deposit."""
    if credit_codes:
        await session.execute(update(Registration).where(
            Registration.project_id == project.id, Registration.bidder_organisation_id.in_(
                select(Organisation.id).where(Organisation.credit_code.in_(credit_codes)))).values(deposit_paid_at=None))


async def instruct_refunds(session: AsyncSession, project: Project, *, event: str, actor: str,
                           winner: str | None = None) -> list[ledger.LedgerRefund]:
    """Instruct the refunds ``event`` makes due (see the module docstring); idempotent.

    ``winner`` (credit code) is the award notice's winner; without it, the rank-1 candidate."""
    if event not in EVENTS:
        raise InvalidInput(f"未知的退还事由「{event}」，应为 {'、'.join(EVENTS)}", code="unknown_refund_event", field="event")
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    await record_opening_outcomes(session, project, actor=actor)
    deposits = await ledger.open_deposits(session, project_code=project.code)
    now = await database_now(session)
    starts: dict[int, datetime] = {deposit.id: now for deposit in deposits}
    note = None
    if event == "award_notice":
        period = rule_period(rule_set, *AFTER_AWARD_NOTICE)
        if period is None:
            return []  # this rule set refunds everyone after the contract
        winner = winner or await winner_credit_code(session, project)
        if winner is None:
            raise Conflict(f"项目 {project.code} 尚未确定中标人，不能按中标通知书退还保证金", code="no_winner",
                           project=project.code)
        deposits = [deposit for deposit in deposits if deposit.bidder_credit_code != winner]
    elif event == "withdrawn":
        period = _period(rule_set, AFTER_WITHDRAWAL)
        withdrawn = await _withdrawn_at(session, project)
        deposits = [deposit for deposit in deposits if deposit.bidder_credit_code in withdrawn]
        starts = {deposit.id: withdrawn[deposit.bidder_credit_code] for deposit in deposits}
        await _unsettle_registrations(session, project, {deposit.bidder_credit_code for deposit in deposits})
    else:
        period = _period(rule_set, AFTER_CONTRACT)
        if event in ("failed", "terminated"):
            note = ("流标、终止招标后法律未规定退还期限（招标投标法实施条例第三十一条：及时退还），"
                    "参照合同签订后的退还期限")
    with_interest = rule_flag(rule_set, INTEREST_RULE)
    refunds = []
    for deposit in deposits:
        interest_fen, interest = 0, None
        if with_interest:
            result = demand_interest(deposit.amount_fen, deposit.value_date, local_date(now))
            interest_fen = result.interest_fen
            interest = result.as_dict() | {"rule": INTEREST_RULE, "source": rule_source(rule_set, INTEREST_RULE)}
        source = period.source if note is None else f"{period.source or ''}；{note}".lstrip("；")
        end = period.end(starts[deposit.id])
        refund = await ledger.instruct_refund(
            session, deposit=deposit, actor=actor, event=event, interest_fen=interest_fen, interest=interest,
            due_at=end.at, rule=period.key or None, rule_source=source, due_provisional=end.provisional)
        await set_deadline(session, project=project, kind="refund", subject=f"deposit:{deposit.id}", due_at=end.at,
                           rule=period.key or None, actor=actor, provisional=end.provisional,
                           starts_at=starts[deposit.id], period=(period.value, period.unit))
        refunds.append(refund)
    return refunds


async def instruct_refunds_for(session: AsyncSession, *, project_code: str, event: str,
                               actor: str) -> list[ledger.LedgerRefund]:
    """:func:`instruct_refunds` by project code, with the project row locked (for the API and CLI)."""
    project = await get_project(session, project_code, lock=True)
    return await instruct_refunds(session, project, event=event, actor=actor)


async def confirm_refund_paid(session: AsyncSession, *, refund_id: int, actor: str, bank_reference: str,
                              value_date: date, bank: str = "") -> ledger.LedgerRefund:
    """Finance staff confirm a refund was paid (with the bank's reference): the refund deadline is met."""
    refund = await ledger.record_refund_paid(session, refund_id=refund_id, actor=actor, bank_reference=bank_reference,
                                             value_date=value_date, bank=bank)
    await meet_deadline(session, kind="refund", subject=f"deposit:{refund.deposit_id}", actor=actor)
    return refund


class RefundView(ledger.RefundRecord, total=False):
    """A refund as listed: ``overdue`` while unpaid, given the moment."""

    overdue: bool


def refund_view(refund: ledger.LedgerRefund, now: datetime | None = None) -> RefundView:
    view: RefundView = {**refund.as_dict()}
    if now is not None and refund.paid_at is None:
        view["overdue"] = now >= refund.due_at
    return view

