"""Evaluation as the committee goes through it: a tender opened with a committee drawn,
confirmed and seated, the chair elected, every member's review; experts with accounts."""

from __future__ import annotations

from bidding.draws.project_draws import request_project_committee
from bidding.evaluation.review import record_review
from bidding.evaluation.sitting import start_evaluation_session, vote_for_chair
from bidding.opening.proceedings import announce_max_price, finish_opening, hand_in_bidder_half, sign_in, start_opening
from bidding.tender.projects import Project
from cli.demo import DEMO_PASSWORD
from expert_pool.committees import INVITED, GroupSpec, answer_invitation
from expert_pool.models import Expert
from tests.common import committees, factories, opening
from tests.common.tenders import tender_in_state
from trading.accounts import create_user

# A specialty no other test draws from, so committed experts never enter their pools.
SPECIALTY = "A0701"
SCHEME = {"method": "comprehensive", "price_points": "30", "price_formula": {"kind": "lowest_ratio"},
          "items": [{"name": "施工组织设计", "max_points": "40"}, {"name": "项目管理机构", "max_points": "30"}]}
LOWEST_PRICE = {"method": "lowest_price"}


async def opened_tender(session, keys, prices: list[int], *, scheme=SCHEME, members: int = 5,
                        max_price_fen: int | None = None) -> tuple[Project, list[str], list[Expert]]:
    """A tender in evaluation: scheme fixed at the announcement, a committee drawn, confirmed and
    due, the bids opened (one per price, in order), the opening finished."""
    built = await tender_in_state(session, keys, "bidding", prices=prices, scheme=scheme, deadline_passed=True)
    tender, bidders = built.project, built.bidders

    for _ in range(members + 2):
        await factories.expert(session, specialties=[SPECIALTY])
    starts_at, ends_at = await committees.session_window(session)
    request = await request_project_committee(
        session, keys, actor="admin", project_code=tender.code, starts_at=starts_at, ends_at=ends_at,
        place="第3评标室", groups=[GroupSpec(SPECIALTY, members, 2)])
    await committees.witness_all(session, keys, request.id)
    seated = [m for m in await committees.members(session, request.id) if m.status == INVITED]
    for member in seated:
        await answer_invitation(session, keys, member_id=member.id, expert_id=member.expert_id, accept=True,
                                actor="expert")
    await committees.start_session_now(session, request.id)

    await start_opening(session, keys, actor="admin", project_code=tender.code)
    for code, signing_key in bidders:
        await sign_in(session, actor=code, project_code=tender.code, bidder_credit_code=code)
        await hand_in_bidder_half(session, keys, actor=code, project_code=tender.code, bidder_credit_code=code,
                                  k_b_hex=await opening.k_b_of(session, tender, code, signing_key))
    if max_price_fen is not None:
        await announce_max_price(session, actor="agency", project_code=tender.code, max_price_fen=max_price_fen)
    await opening.window_passes(session, tender)
    result = await finish_opening(session, actor="admin", project_code=tender.code, keys=keys)  # opens the hand-ins
    assert result["state"] == "evaluating", result
    experts = [await session.get(Expert, m.expert_id) for m in seated]
    return tender, [code for code, _ in bidders], experts


async def elect(session, code: str, experts: list[Expert], chair: Expert) -> None:
    for expert in experts:  # until more than half have voted for ``chair``
        evaluation = await vote_for_chair(session, actor=f"expert:{expert.code}", project_code=code,
                                          expert_id=expert.id, candidate_code=chair.code)
        if evaluation.chair_member_id is not None:
            return


async def all_review(session, code, experts, bidders, verdicts=None) -> None:
    """Every member reviews every bidder: pass, unless ``verdicts[(i, bidder)]`` = (ground, reason)."""
    verdicts = verdicts or {}
    for i, expert in enumerate(experts):
        for bidder in bidders:
            ground, reason = verdicts.get((i, bidder), (None, None))
            await record_review(session, actor=f"expert:{expert.code}", project_code=code, expert_id=expert.id,
                                bidder_credit_code=bidder, verdict="reject" if ground else "pass", ground=ground,
                                reason=reason)


# --------------------------------------------------------------------------- a whole evaluation


# The supervision pages' tender: comprehensive, one item.
ONE_ITEM_SCHEME = {"method": "comprehensive", "price_points": "40", "price_formula": {"kind": "lowest_ratio"},
          "items": [{"name": "技术方案", "max_points": "60"}]}


async def seat_accounts(session, code: str, experts: list[Expert]) -> list[str]:
    """An account of its own for each expert (matched to the pool by ID number)."""
    employer = await factories.organisation(session, "expert_employer")
    names = []
    for i, expert in enumerate(experts):
        name = f"ex-{code.lower()}-{i}"
        await create_user(session, actor="test", username=name, display_name=expert.name, role="expert",
                          password=DEMO_PASSWORD, organisation_id=employer.id, id_number=expert.id_number)
        names.append(name)
    return names


async def evaluation_with_accounts(session, keys, prices: list[int], *, started: bool = True):
    """A tender in evaluation (comprehensive, one item) whose five experts have accounts."""
    tender, bidders, experts = await opened_tender(session, keys, prices, scheme=ONE_ITEM_SCHEME)
    names = await seat_accounts(session, tender.code, experts)
    if started:
        await start_evaluation_session(session, keys, actor="admin", project_code=tender.code)
    return tender, bidders, experts, names
