"""The review stages (资格审查, 初步评审, 详细评审): each member records pass or reject
(:func:`record_review`) with a ground of 招标投标法实施条例 第五十一条 and reasons, in the
detailed review also item scores (:func:`record_scores`); the chair closes each stage
(:func:`close_stage`): a bid is rejected when a majority of members reject it (少数服从多数).
After the detailed review the report is drawn up; when every bid is rejected the tender
fails (招标投标法 第四十二条)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.grounds import REJECTION_GROUNDS, REJECTION_SOURCE
from bidding.evaluation.records import (
    OUTCOME_ALL_REJECTED,
    PASS,
    REJECT,
    REJECTED,
    VALID,
    EvaluationReview,
    EvaluationScore,
    EvaluationSession,
)
from bidding.evaluation.report import draw_up_report
from bidding.evaluation.rounds import acting_member, announce, bid_of, bids_of, scheme_of, scored_pairs, subject, text_field
from bidding.evaluation.scoring import COMPREHENSIVE, check_item_scores, render
from bidding.evaluation.stages import DETAILED, STAGE_NAMES, advance
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project
from trading.audit import record_event
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, PermissionDenied

async def record_review(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                        bidder_credit_code: str, verdict: str, ground: int | None = None,
                        reason: str | None = None) -> EvaluationReview:
    """A member's pass or reject of one bid in the current review stage (revisable until closed)."""
    project, evaluation, _, member = await acting_member(session, project_code, expert_id, "record_review")
    if verdict not in (PASS, REJECT):
        raise InvalidInput("评审结论应为 pass（通过）或 reject（否决）", code="unknown_review_verdict", field="verdict")
    if verdict == REJECT:
        if isinstance(ground, bool) or not isinstance(ground, int) or ground not in REJECTION_GROUNDS:
            raise InvalidInput(f"否决投标须选择{REJECTION_SOURCE}规定的否决情形（1–7）",
                               code="rejection_ground_required", field="ground")
        reason_text = text_field(reason, "reason", "否决理由")
    else:
        if ground is not None:
            raise InvalidInput("通过评审时不应选择否决情形", code="rejection_ground_on_pass", field="ground")
        reason_text = text_field(reason, "reason", "评审意见", required=False) or None
    bid = await bid_of(session, evaluation, bidder_credit_code)
    if bid.status != VALID:
        raise Conflict("该投标已被评标委员会否决，不再评审", code="bid_rejected", bidder=bid.bidder_credit_code)
    now = await database_now(session)
    review = await session.scalar(select(EvaluationReview).where(
        EvaluationReview.member_id == member.id, EvaluationReview.evaluation_bid_id == bid.id,
        EvaluationReview.stage == evaluation.stage))
    if review is None:
        review = EvaluationReview(session_id=evaluation.id, member_id=member.id, evaluation_bid_id=bid.id,
                                  stage=evaluation.stage, verdict=verdict, recorded_at=now)
        session.add(review)
    review.verdict, review.reason, review.recorded_at = verdict, reason_text, now
    review.ground = ground if verdict == REJECT else None
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.reviewed", subject=subject(project),
                       data={"round": evaluation.round, "stage": evaluation.stage, "member": member.expert_code,
                             "bidder": bid.bidder_credit_code, "verdict": verdict, "ground": review.ground,
                             "reason": review.reason})
    await announce(session, project, "evaluation.reviewed", evaluation, stage=evaluation.stage,
                    member=member.expert_code, bidder=bid.bidder_credit_code)
    return review


async def record_scores(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                        bidder_credit_code: str, scores: Any) -> EvaluationScore:
    """A member's technical/business item scores for one bid (detailed review, comprehensive method)."""
    project, evaluation, _, member = await acting_member(session, project_code, expert_id, "record_scores")
    scheme = scheme_of(evaluation)
    if scheme.method != COMPREHENSIVE:
        raise Conflict("经评审的最低投标价法不设技术/商务评分", code="no_item_scores")
    checked = check_item_scores(scheme, scores)
    bid = await bid_of(session, evaluation, bidder_credit_code)
    if bid.status != VALID:
        raise Conflict("该投标已被评标委员会否决，不再打分", code="bid_rejected", bidder=bid.bidder_credit_code)
    # A list, not an object: canonical JSON (the audit chain) takes ASCII keys only.
    stored = [{"item": name, "points": render(value)} for name, value in checked.items()]
    now = await database_now(session)
    score = await session.scalar(select(EvaluationScore).where(
        EvaluationScore.member_id == member.id, EvaluationScore.evaluation_bid_id == bid.id))
    if score is None:
        score = EvaluationScore(session_id=evaluation.id, member_id=member.id, evaluation_bid_id=bid.id,
                                scores=stored, recorded_at=now)
        session.add(score)
    score.scores, score.recorded_at = stored, now
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.scored", subject=subject(project),
                       data={"round": evaluation.round, "member": member.expert_code,
                             "bidder": bid.bidder_credit_code, "scores": stored})
    await announce(session, project, "evaluation.scored", evaluation, member=member.expert_code,
                    bidder=bid.bidder_credit_code)
    return score


def _decision(reviews: list[EvaluationReview], members: int) -> tuple[int, str] | None:
    """(ground, reasons) when a majority rejects (少数服从多数), else None."""
    rejects = [r for r in reviews if r.verdict == REJECT]
    if 2 * len(rejects) <= members:
        return None
    counts = Counter(r.ground for r in rejects)
    ground = min(counts, key=lambda g: (-counts[g], g))
    return ground, "；".join(dict.fromkeys(r.reason for r in rejects if r.reason))


async def close_stage(session: AsyncSession, *, actor: str, project_code: str, expert_id: int) -> EvaluationSession:
    """The chair closes the current review stage once every member has reviewed every bid."""
    project, evaluation, members, member = await acting_member(session, project_code, expert_id, "close_stage")
    if evaluation.chair_member_id != member.id:
        raise PermissionDenied("只有评标委员会组长可以结束评审阶段", code="chair_only")
    stage = evaluation.stage
    bids = [b for b in await bids_of(session, evaluation) if b.status == VALID]
    reviews = (await session.scalars(select(EvaluationReview).where(
        EvaluationReview.session_id == evaluation.id, EvaluationReview.stage == stage))).all()
    by_bid: dict[int, list[EvaluationReview]] = {}
    for review in reviews:
        by_bid.setdefault(review.evaluation_bid_id, []).append(review)
    reviewed = {(r.member_id, r.evaluation_bid_id) for r in reviews}
    if stage == DETAILED:  # in the detailed review a member's scores for a bid count as a pass
        reviewed |= await scored_pairs(session, evaluation)
    missing = [(m.expert_name, b.bidder_name) for b in bids for m in members if (m.id, b.id) not in reviewed]
    if missing:
        name, bidder = missing[0]
        raise Conflict(f"{STAGE_NAMES[stage]}尚未完成：{name} 未评审「{bidder}」等 {len(missing)} 项",
                       code="reviews_missing", missing=len(missing))
    decisions = {bid.id: _decision(by_bid.get(bid.id, []), len(members)) for bid in bids}
    remaining = [b for b in bids if decisions[b.id] is None]
    scheme = scheme_of(evaluation)
    if stage == DETAILED and remaining and scheme.method == COMPREHENSIVE:
        await _check_scores_complete(session, evaluation, members, remaining)  # before anything changes
    rejected = []
    for bid in bids:
        if decisions[bid.id] is not None:
            bid.status, bid.rejected_stage, (bid.ground, bid.reason) = REJECTED, stage, decisions[bid.id]
            rejected.append({"bidder": bid.bidder_credit_code, "ground": bid.ground, "reason": bid.reason,
                             "votes": sum(1 for r in by_bid.get(bid.id, []) if r.verdict == REJECT)})
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.stage_closed", subject=subject(project),
                       data={"round": evaluation.round, "stage": stage, "rejected": rejected,
                             "remaining": [b.bidder_credit_code for b in remaining],
                             "rule": REJECTION_SOURCE})
    await announce(session, project, "evaluation.stage_closed", evaluation, stage=stage, rejected=len(rejected),
                    remaining=len(remaining))
    if not remaining:
        return await _all_rejected(session, project, evaluation, actor)
    if stage == DETAILED:
        await draw_up_report(session, project, evaluation, members, scheme, actor)
    else:
        evaluation.stage = advance(stage, f"close_{stage}")
        await session.flush()
    return evaluation


async def _check_scores_complete(session, evaluation, members, remaining) -> None:
    have = await scored_pairs(session, evaluation)
    missing = [(m.expert_name, b.bidder_name) for b in remaining for m in members if (m.id, b.id) not in have]
    if missing:
        name, bidder = missing[0]
        raise Conflict(f"详细评审打分尚未完成：{name} 未对「{bidder}」打分等 {len(missing)} 项",
                       code="scores_missing", missing=len(missing))


async def _all_rejected(session: AsyncSession, project: Project, evaluation: EvaluationSession,
                        actor: str) -> EvaluationSession:
    """Every bid rejected: no candidates; the tender fails and must be re-tendered (招标投标法 第四十二条)."""
    now = await database_now(session)
    evaluation.stage = advance(evaluation.stage, "reject_all")
    evaluation.completed_at, evaluation.outcome = now, OUTCOME_ALL_REJECTED
    await session.flush()
    reason = "评标委员会否决全部投标，应当依法重新招标（招标投标法 第四十二条）"
    await record_event(session, actor=actor, action="evaluation.all_rejected", subject=subject(project),
                       data={"round": evaluation.round, "reason": reason})
    await announce(session, project, "evaluation.all_rejected", evaluation, stage=evaluation.stage)
    await apply_transition(session, actor=actor, project_code=project.code, action="fail",
                           facts={"valid_bids": 0, "reason": reason})
    return evaluation
