"""The service fee charged to the winner after the award (统一费用收取退付), from the published
fee schedule (:mod:`trading.fees`), and its payment."""

from __future__ import annotations

from datetime import date

from bidding.evaluation.candidates import ranked_candidates
from bidding.tender.projects import get_project
from bidding.tender.states import STATE_NAMES, TenderState
from trading import ledger
from trading.errors import Conflict, InvalidInput
from trading.fees import load_schedule, service_fee
from trading.organisations import Organisation

# The schedule's category for a trading category, where it is plain (procurement may be
# goods or services: the caller names it).
CATEGORY_OF = {"construction": "works"}
AWARDED_STATES = frozenset({TenderState.AWARDED, TenderState.CONTRACTED, TenderState.CLOSED})


async def charge_service_fee(session, *, project_code: str, actor: str, category: str | None = None) -> ledger.LedgerFee:
    """Charge the fee for the winning amount (the rank-1 candidate's price) to the winner, once."""
    project = await get_project(session, project_code, lock=True)
    if project.state not in AWARDED_STATES:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，定标后才能收取服务费", code="state_conflict",
                       project=project.code, state=project.state)
    category = category or CATEGORY_OF.get(project.category)
    schedule = load_schedule()
    if category not in schedule.categories:
        raise InvalidInput(f"请指明收费类别（{'、'.join(f'{k} {v}' for k, v in schedule.categories.items())}）",
                           code="fee_category_required", field="category")
    candidates = await ranked_candidates(session, project.id)
    if not candidates:
        raise Conflict(f"项目 {project.code} 没有中标候选人，无法确定中标人", code="no_winner", project=project.code)
    winner = candidates[0]
    payer = await session.get(Organisation, winner.organisation_id)
    return await ledger.charge_fee(session, actor=actor, project_code=project.code, payer_credit_code=payer.credit_code,
                                   category=category, basis_fen=winner.price_fen,
                                   amount_fen=service_fee(winner.price_fen, category, schedule), schedule=schedule.label)


async def confirm_fee_paid(session, *, fee_id: int, actor: str, account: str, account_name: str, bank_reference: str,
                           value_date: date, bank: str = "") -> ledger.LedgerFee:
    """Finance staff record the fee's payment (paying account and bank reference)."""
    return await ledger.record_fee_paid(session, fee_id=fee_id, actor=actor, account=account,
                                        account_name=account_name, bank_reference=bank_reference,
                                        value_date=value_date, bank=bank)
