"""The committee sits: a round starts (:func:`start_evaluation_session`: the committee is
unsealed if it is not yet, its confirmed experts become the members, the decrypted opening
entries become the bids, a bid above the maximum price is proposed for ground 5), and the
members elect their chair (:func:`vote_for_chair`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.bids.submission import Bid
from bidding.evaluation.grounds import ABOVE_MAX_PRICE_GROUND
from bidding.evaluation.records import EvaluationBid, EvaluationMember, EvaluationSession
from bidding.evaluation.rounds import acting_member, announce, pinned_rules, subject
from bidding.evaluation.scheme import EvaluationSchemeRecord
from bidding.evaluation.scoring import max_candidates
from bidding.evaluation.stages import CHAIR, advance
from bidding.opening.proceedings import DECRYPTED, OpeningEntry, OpeningSession
from bidding.tender.projects import Project, get_project
from bidding.tender.states import STATE_NAMES, TenderState
from expert_pool.committees import (
    DRAWING,
    CommitteeRequest,
    confirmed_members,
    current_committee_request,
    seats_of,
    unseal_committee,
)
from trading.audit import AuditEntry, record_event
from trading.database import database_now
from trading.errors import Conflict, InvalidInput
from trading.keys import CenterKeys
from trading.money import yuan
from trading.organisations import Organisation

async def _committee(session: AsyncSession, keys: CenterKeys, project: Project, actor: str) -> CommitteeRequest:
    request = await current_committee_request(session, project.code)
    if request is None:
        raise Conflict(f"项目 {project.code} 尚未抽取评标委员会", code="no_committee", project=project.code)
    if request.status == DRAWING:
        request = await unseal_committee(session, keys, request.id, actor=actor)
    return request


async def _reevaluation_since(session: AsyncSession, project: Project, moment: datetime) -> bool:
    return bool(await session.scalar(select(AuditEntry.seq).where(
        AuditEntry.subject == subject(project), AuditEntry.action == "tender.reevaluate", AuditEntry.at > moment)
        .limit(1)))


async def start_evaluation_session(session: AsyncSession, keys: CenterKeys, *, actor: str,
                                   project_code: str) -> EvaluationSession:
    """Open an evaluation round: committee unsealed, confirmed experts seated, opened bids listed."""
    project = await get_project(session, project_code, lock=True)
    if project.state != TenderState.EVALUATING:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不能开始评标", code="state_conflict",
                       project=project.code, state=project.state)
    last = await session.scalar(select(EvaluationSession).where(EvaluationSession.project_id == project.id)
                                .order_by(EvaluationSession.round.desc()).limit(1))
    if last is not None:
        if last.completed_at is None:
            raise Conflict(f"项目 {project.code} 第 {last.round} 轮评标尚未结束", code="evaluation_started",
                           round=last.round)
        if not await _reevaluation_since(session, project, last.completed_at):
            raise Conflict(f"项目 {project.code} 第 {last.round} 轮评标已结束；只有投诉成立、责令重新评审后才能再次评标",
                           code="evaluation_finished", round=last.round)
    record = await session.scalar(select(EvaluationSchemeRecord).where(EvaluationSchemeRecord.project_id == project.id))
    if record is None:
        raise Conflict(f"项目 {project.code} 的招标文件未规定评标办法，不能评标", code="no_scheme", project=project.code)
    opening = await session.scalar(select(OpeningSession).where(OpeningSession.project_id == project.id))
    if opening is None or opening.finished_at is None:
        raise Conflict(f"项目 {project.code} 开标尚未结束", code="opening_not_finished", project=project.code)

    request = await _committee(session, keys, project, actor)
    seats = await seats_of(session, request.id)
    confirmed = await confirmed_members(session, request.id)
    if len(confirmed) < (seats or 0) or not confirmed:
        raise Conflict(f"评标委员会应有专家 {seats} 名，已确认到场 {len(confirmed)} 名，不能开始评标",
                       code="committee_incomplete", seats=seats, confirmed=len(confirmed))
    rows = (await session.execute(
        select(OpeningEntry, Bid.sequence, Organisation).join(Bid, Bid.id == OpeningEntry.bid_id)
        .join(Organisation, Organisation.credit_code == OpeningEntry.bidder_credit_code)
        .where(OpeningEntry.session_id == opening.id, OpeningEntry.state == DECRYPTED)
        .order_by(Bid.sequence))).all()
    if not rows:
        raise Conflict(f"项目 {project.code} 没有已解密的有效投标", code="no_valid_bids", project=project.code)

    now = await database_now(session)
    evaluation = EvaluationSession(
        project_id=project.id, round=(last.round + 1) if last else 1, committee_request_id=request.id, stage=CHAIR,
        scheme=record.scheme, max_candidates=max_candidates(await pinned_rules(session, project)),
        max_price_fen=opening.max_price_fen, started_by=actor, started_at=now)
    session.add(evaluation)
    await session.flush()
    for position, (_, expert) in enumerate(confirmed, start=1):
        session.add(EvaluationMember(session_id=evaluation.id, expert_id=expert.id, expert_code=expert.code,
                                     expert_name=expert.name, position=position))
    proposals = []
    for entry, sequence, organisation in rows:
        bid = EvaluationBid(session_id=evaluation.id, bid_id=entry.bid_id, organisation_id=organisation.id,
                            bidder_credit_code=entry.bidder_credit_code, bidder_name=organisation.name,
                            price_fen=entry.price_fen, duration_days=entry.duration_days, bid_order=sequence)
        if opening.max_price_fen is not None and entry.price_fen is not None and entry.price_fen > opening.max_price_fen:
            bid.proposed_ground = ABOVE_MAX_PRICE_GROUND
            bid.proposed_reason = f"投标报价 {yuan(entry.price_fen)} 元高于最高投标限价 {yuan(opening.max_price_fen)} 元"
            proposals.append({"bidder": entry.bidder_credit_code, "ground": ABOVE_MAX_PRICE_GROUND,
                              "reason": bid.proposed_reason})
        session.add(bid)
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.started", subject=subject(project),
                       data={"round": evaluation.round, "committee": request.id,
                             "members": [expert.code for _, expert in confirmed],
                             "bids": [entry.bidder_credit_code for entry, _, _ in rows],
                             "method": record.scheme["method"], "max_candidates": evaluation.max_candidates,
                             "proposed_rejections": proposals})
    await announce(session, project, "evaluation.started", evaluation, stage=evaluation.stage,
                    members=len(confirmed), bids=len(rows))
    return evaluation


async def vote_for_chair(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                         candidate_code: str) -> EvaluationSession:
    """A member's vote for chair; more than half of the members' votes elects."""
    project, evaluation, members, member = await acting_member(session, project_code, expert_id, "vote_for_chair")
    candidate = next((m for m in members if m.expert_code == candidate_code), None)
    if candidate is None:
        raise InvalidInput("只能推选本评标委员会的成员为组长", code="chair_not_a_member", field="candidate")
    if member.chair_vote is not None:
        raise Conflict("您已投票，不能重复投票", code="already_voted")
    member.chair_vote = candidate.id
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.chair_vote", subject=subject(project),
                       data={"round": evaluation.round, "member": member.expert_code, "for": candidate.expert_code})
    await announce(session, project, "evaluation.chair_vote", evaluation, member=member.expert_code)
    tally = Counter(m.chair_vote for m in members if m.chair_vote is not None)
    leader, votes = tally.most_common(1)[0]
    if 2 * votes > len(members):
        chair = next(m for m in members if m.id == leader)
        evaluation.chair_member_id, evaluation.stage = chair.id, advance(evaluation.stage, "elect_chair")
        await session.flush()
        await record_event(session, actor=actor, action="evaluation.chair_elected", subject=subject(project),
                           data={"round": evaluation.round, "chair": chair.expert_code, "votes": votes,
                                 "members": len(members)})
        await announce(session, project, "evaluation.chair_elected", evaluation, chair=chair.expert_code,
                        stage=evaluation.stage)
    elif all(m.chair_vote is not None for m in members):
        for m in members:
            m.chair_vote = None
        await session.flush()
        await record_event(session, actor=actor, action="evaluation.chair_vote_repeated", subject=subject(project),
                           data={"round": evaluation.round, "reason": "无人获得过半数票，重新推选",
                                 "tally": {next(x.expert_code for x in members if x.id == k): v
                                           for k, v in tally.items()}})
        await announce(session, project, "evaluation.chair_vote_repeated", evaluation)
    return evaluation
