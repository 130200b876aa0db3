"""What each role sees of an evaluation: the round (:func:`evaluation_view`), every round on
record, an expert's rounds, and the supervisors' live progress (counts only)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.grounds import REJECTION_GROUNDS, rejection_grounds
from bidding.evaluation.records import VALID, EvaluationMember, EvaluationReview, EvaluationScore, EvaluationSession
from bidding.evaluation.rounds import bids_of, current_session, member_of, members_of, scored_pairs
from bidding.evaluation.stages import REVIEW_STAGES, STAGE_NAMES, STAGES
from bidding.tender.projects import Project, get_project
from bidding.tender.states import TenderState
from trading.errors import PermissionDenied

# From these on the candidates are public and a bidder may see the outcome.
PUBLISHED_STATES = frozenset({TenderState.PUBLICITY, TenderState.AWARDED, TenderState.CONTRACTED, TenderState.CLOSED})


async def evaluation_view(session: AsyncSession, project_code: str, *, role: str, expert_id: int | None = None,
                          organisation_id: int | None = None, party: bool = False) -> dict[str, Any]:
    """The evaluation as ``role`` may see it.

    Staff (admin, supervisor) and the committee's members see everything (members their own
    reviews and scores, and the committee's totals once the report is drawn up); the
    tendering party and its agency (``party``) see progress and, once drawn up, the report;
    a bidder sees nothing before the candidates are published, then the candidates and its
    own bid's outcome.
    """
    if role not in ("bidder", "expert", "admin", "supervisor") and not party:
        raise PermissionDenied("您无权查看本项目的评标情况", code="may_not_view_evaluation")
    project = await get_project(session, project_code)
    evaluation = await current_session(session, project)
    members = await members_of(session, evaluation)
    bids = await bids_of(session, evaluation)
    base = {"project": project.code, "round": evaluation.round, "stage": evaluation.stage,
            "stage_name": STAGE_NAMES[evaluation.stage], "method": evaluation.scheme["method"],
            "started_at": evaluation.started_at.isoformat(),
            "completed_at": evaluation.completed_at.isoformat() if evaluation.completed_at else None,
            "outcome": evaluation.outcome}
    if role == "bidder":
        if project.state not in PUBLISHED_STATES:
            raise PermissionDenied("中标候选人公示前，投标人不能查看评标情况", code="evaluation_before_publicity")
        own = next((b for b in bids if b.organisation_id == organisation_id), None)
        report = evaluation.report or {}
        return base | {"candidates": report.get("candidates", []),
                       "own_bid": None if own is None else {
                           "status": own.status, "ground": own.ground, "ground_text": REJECTION_GROUNDS.get(own.ground),
                           "reason": own.reason, "final_score": own.final_score, "rank": own.rank}}
    member = None
    if role == "expert":
        member = member_of(members, expert_id)
    staff = role in ("admin", "supervisor")
    chair = next((m for m in members if m.id == evaluation.chair_member_id), None)
    view = base | {
        "scheme": evaluation.scheme, "max_price_fen": evaluation.max_price_fen,
        "max_candidates": evaluation.max_candidates, "chair": chair.expert_code if chair else None,
        "grounds": rejection_grounds(),
        "members": [{"expert": m.expert_code, "name": m.expert_name, "voted": m.chair_vote is not None,
                     "signed": m.signed_at is not None, "by": ("signature" if m.signature else "confirmation")
                     if m.signed_at else None, "dissent": m.dissent, "deemed_agreed": m.deemed_agreed}
                    for m in members],
        "report": evaluation.report, "report_sha256": evaluation.report_sha256,
    }
    if party and not staff and member is None:
        # The tendering party and agency see progress, and the report once it is drawn up.
        view["bids"] = [{"bidder_credit_code": b.bidder_credit_code, "bidder_name": b.bidder_name} for b in bids]
        return view
    reviews = (await session.scalars(select(EvaluationReview).where(EvaluationReview.session_id == evaluation.id)
                                     .order_by(EvaluationReview.id))).all()
    scores = (await session.scalars(select(EvaluationScore).where(EvaluationScore.session_id == evaluation.id)
                                    .order_by(EvaluationScore.id))).all()
    code_of = {m.id: m.expert_code for m in members}
    mine = (lambda row: True) if staff else (lambda row: row.member_id == member.id)
    view["bids"] = [{
        "bidder_credit_code": b.bidder_credit_code, "bidder_name": b.bidder_name, "price_fen": b.price_fen,
        "duration_days": b.duration_days, "status": b.status, "rejected_stage": b.rejected_stage,
        "ground": b.ground, "reason": b.reason, "proposed_ground": b.proposed_ground,
        "proposed_reason": b.proposed_reason, "price_score": b.price_score, "final_score": b.final_score,
        "rank": b.rank,
        "reviews": [{"member": code_of[r.member_id], "stage": r.stage, "verdict": r.verdict, "ground": r.ground,
                     "reason": r.reason} for r in reviews if r.evaluation_bid_id == b.id and mine(r)],
        "scores": [{"member": code_of[s.member_id], "scores": s.scores}
                   for s in scores if s.evaluation_bid_id == b.id and mine(s)],
    } for b in bids]
    return view


async def evaluation_rounds(session: AsyncSession, project_code: str) -> list[dict[str, Any]]:
    """Every round on record (earlier rounds stay after a re-evaluation)."""
    project = await get_project(session, project_code)
    rounds = (await session.scalars(select(EvaluationSession).where(EvaluationSession.project_id == project.id)
                                    .order_by(EvaluationSession.round))).all()
    return [{"round": r.round, "stage": r.stage, "outcome": r.outcome, "report_sha256": r.report_sha256,
             "started_at": r.started_at.isoformat(),
             "completed_at": r.completed_at.isoformat() if r.completed_at else None} for r in rounds]


async def evaluations_of_expert(session: AsyncSession, expert_id: int) -> list[dict[str, Any]]:
    """The evaluation rounds an expert sits on, latest first (only those: a committee's
    members are named only once their session has started)."""
    rows = (await session.execute(
        select(EvaluationSession, Project).join(EvaluationMember, EvaluationMember.session_id == EvaluationSession.id)
        .join(Project, Project.id == EvaluationSession.project_id)
        .where(EvaluationMember.expert_id == expert_id)
        .order_by(EvaluationSession.started_at.desc(), EvaluationSession.id.desc()))).all()
    return [{"project": p.code, "title": p.title, "round": e.round, "stage": e.stage,
             "stage_name": STAGE_NAMES[e.stage], "started_at": e.started_at, "completed_at": e.completed_at}
            for e, p in rows]


async def evaluation_progress(session: AsyncSession, project_code: str) -> dict[str, Any]:
    """Progress per member and per step, for supervisors' live view: who has voted, how many
    bids each member has reviewed or scored in the current stage, who has signed. Counts
    only: no verdict, score or reason."""
    project = await get_project(session, project_code)
    evaluation = await current_session(session, project)
    members = await members_of(session, evaluation)
    bids = await bids_of(session, evaluation)
    valid = [b for b in bids if b.status == VALID]
    reviews = (await session.execute(
        select(EvaluationReview.member_id, EvaluationReview.stage, func.count())
        .where(EvaluationReview.session_id == evaluation.id)
        .group_by(EvaluationReview.member_id, EvaluationReview.stage))).all()
    reviewed = {(member_id, stage): count for member_id, stage, count in reviews}
    scored = Counter(member_id for member_id, _ in await scored_pairs(session, evaluation))
    chair = next((m for m in members if m.id == evaluation.chair_member_id), None)
    return {
        "project": project.code, "title": project.title, "round": evaluation.round, "stage": evaluation.stage,
        "stage_name": STAGE_NAMES[evaluation.stage], "stages": [(s, STAGE_NAMES[s]) for s in STAGES],
        "method": evaluation.scheme["method"], "started_at": evaluation.started_at,
        "completed_at": evaluation.completed_at, "outcome": evaluation.outcome,
        "chair": chair.expert_name if chair else None, "bids": len(bids), "valid_bids": len(valid),
        "rejected_bids": len(bids) - len(valid), "report_sha256": evaluation.report_sha256,
        "members": [{"code": m.expert_code, "name": m.expert_name, "chair": chair is not None and m.id == chair.id,
                     "voted": m.chair_vote is not None,
                     "reviewed": {s: reviewed.get((m.id, s), 0) for s in REVIEW_STAGES},
                     "scored": scored.get(m.id, 0),
                     "signed": m.signed_at is not None, "dissent": m.dissent is not None,
                     "deemed_agreed": m.deemed_agreed} for m in members],
    }
