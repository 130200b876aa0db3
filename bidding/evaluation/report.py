"""The evaluation report: drawn up after the detailed review (price scores, final scores,
the ranking); each member signs it (:func:`sign_report`: an Ed25519 signature of the
canonical report with the key they registered, or a recorded confirmation) or records
dissent (:func:`record_dissent`). When all have done one or the other, or when the chair or
the center closes it (:func:`complete_report`; a member who did neither is deemed to agree,
实施条例 第五十三条, and is named), the candidates are stored."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.candidates import RankedCandidate, record_candidates
from bidding.evaluation.expert_keys import active_expert_key
from bidding.evaluation.grounds import REJECTION_GROUNDS
from bidding.evaluation.records import OUTCOME_CANDIDATES, VALID, EvaluationMember, EvaluationScore, EvaluationSession
from bidding.evaluation.rounds import (
    acting_member,
    announce,
    bids_of,
    current_session,
    member_of,
    members_of,
    subject,
    text_field,
)
from bidding.evaluation.scoring import (
    COMPREHENSIVE,
    METHOD_NAMES,
    Offer,
    final_score,
    member_total,
    price_scores,
    rank_offers,
    render,
)
from bidding.evaluation.stages import advance, check_step
from bidding.tender.projects import Project, get_project
from trading.audit import record_event
from trading.canonical import canon, sha256_hex
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, PermissionDenied
from trading.keys import key_id, verify_signature

REPORT_PROTOCOL = "evaluation-report/1"


async def draw_up_report(session: AsyncSession, project: Project, evaluation: EvaluationSession,
                         members: list[EvaluationMember], scheme: Any, actor: str) -> None:
    bids = await bids_of(session, evaluation)
    valid = [b for b in bids if b.status == VALID]
    member_totals: dict[int, list[dict[str, str]]] = {}
    offers = []
    if scheme.method == COMPREHENSIVE:
        prices = price_scores(scheme, {b.id: b.price_fen for b in valid})
        scores = (await session.scalars(select(EvaluationScore).where(
            EvaluationScore.session_id == evaluation.id))).all()
        by_pair = {(s.member_id, s.evaluation_bid_id): s for s in scores}
        for bid in valid:
            totals = []
            for m in members:
                items = {row["item"]: Fraction(row["points"]) for row in by_pair[(m.id, bid.id)].scores}
                totals.append(member_total(prices[bid.id], items))
            member_totals[bid.id] = [{"expert": m.expert_code, "total": render(t)} for m, t in zip(members, totals)]
            exact = final_score(totals)
            bid.price_score, bid.final_score = render(prices[bid.id]), render(exact)
            offers.append(Offer(bid.id, bid.price_fen, bid.bid_order, exact))
    else:
        offers = [Offer(bid.id, bid.price_fen, bid.bid_order) for bid in valid]
    ranked = rank_offers(scheme, offers, evaluation.max_candidates)
    for place in ranked:
        next(b for b in bids if b.id == place.bid_id).rank = place.rank
    now = await database_now(session)
    chair = next(m for m in members if m.id == evaluation.chair_member_id)
    report = {
        "protocol": REPORT_PROTOCOL, "project": project.code, "title": project.title, "round": evaluation.round,
        "method": scheme.method, "method_name": METHOD_NAMES[scheme.method], "scheme": evaluation.scheme,
        "max_price_fen": evaluation.max_price_fen, "max_candidates": evaluation.max_candidates,
        "committee": [{"expert": m.expert_code, "name": m.expert_name, "chair": m.id == chair.id} for m in members],
        "bids": [{"bidder_credit_code": b.bidder_credit_code, "bidder_name": b.bidder_name, "price_fen": b.price_fen,
                  "duration_days": b.duration_days, "status": b.status, "rejected_stage": b.rejected_stage,
                  "ground": b.ground, "ground_text": REJECTION_GROUNDS.get(b.ground), "reason": b.reason,
                  "price_score": b.price_score, "member_totals": member_totals.get(b.id),
                  "final_score": b.final_score} for b in bids],
        "candidates": [{"rank": r.rank, "bidder_credit_code": b.bidder_credit_code, "bidder_name": b.bidder_name,
                        "price_fen": r.price_fen, "score": r.score}
                       for r in ranked for b in bids if b.id == r.bid_id],
        "drawn_up_at": now.isoformat(),
    }
    evaluation.report, evaluation.report_sha256 = report, sha256_hex(canon(report))
    evaluation.report_at, evaluation.stage = now, advance(evaluation.stage, "close_detailed")
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.report_drawn_up", subject=subject(project),
                       data={"round": evaluation.round, "report_sha256": evaluation.report_sha256,
                             "candidates": report["candidates"]})
    await announce(session, project, "evaluation.report_drawn_up", evaluation, stage=evaluation.stage,
                    report_sha256=evaluation.report_sha256)


async def sign_report(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                      signature: str | None = None) -> EvaluationMember:
    """A member signs the report: an Ed25519 signature of its canonical JSON, or (``signature``
    None) a confirmation recorded as the member's own logged-in act."""
    project, evaluation, members, member = await acting_member(session, project_code, expert_id, "sign_report")
    if member.signed_at is not None:
        raise Conflict("您已签署评标报告", code="already_signed")
    if signature is not None:
        key = await active_expert_key(session, expert_id)
        if key is None:
            raise Conflict("您尚未登记签名公钥，请先登记或改为确认签署", code="no_signing_key")
        if not isinstance(signature, str) or not verify_signature(evaluation.report, signature, key.verify_key):
            raise InvalidInput("签名无法用您登记的公钥验证（应为对评标报告规范化 JSON 的 Ed25519 签名）", code="report_signature_invalid",
                               field="signature")
        member.signature, member.signature_key_id = signature.lower(), key_id(key.verify_key)
    member.signed_at = await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.report_signed", subject=subject(project),
                       data={"round": evaluation.round, "member": member.expert_code,
                             "report_sha256": evaluation.report_sha256,
                             "by": "signature" if member.signature else "confirmation",
                             "key_id": member.signature_key_id})
    await announce(session, project, "evaluation.report_signed", evaluation, member=member.expert_code,
                    by="signature" if member.signature else "confirmation")
    await _complete_when_all_done(session, project, evaluation, members, actor)
    return member


async def record_dissent(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                         reasons: str) -> EvaluationMember:
    """A member's written dissent with reasons (实施条例 第五十三条), noted in the report."""
    project, evaluation, members, member = await acting_member(session, project_code, expert_id, "record_dissent")
    text_ = text_field(reasons, "reasons", "不同意见的理由")
    if member.dissent is not None:
        raise Conflict("您已提出不同意见", code="already_dissented")
    member.dissent, member.dissent_at = text_, await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.dissent_recorded", subject=subject(project),
                       data={"round": evaluation.round, "member": member.expert_code, "reasons": text_})
    await announce(session, project, "evaluation.dissent_recorded", evaluation, member=member.expert_code)
    await _complete_when_all_done(session, project, evaluation, members, actor)
    return member


async def _complete_when_all_done(session, project, evaluation, members, actor) -> None:
    if all(m.signed_at is not None or m.dissent is not None for m in members):
        await _complete(session, project, evaluation, members, actor)


async def complete_report(session: AsyncSession, *, actor: str, project_code: str,
                          expert_id: int | None = None) -> EvaluationSession:
    """Close the report (the chair, or the center's staff when ``expert_id`` is None): members
    who neither signed nor stated reasons are deemed to agree and are named."""
    project = await get_project(session, project_code)
    evaluation = await current_session(session, project, lock=True)
    check_step(evaluation.stage, "complete_report")
    members = await members_of(session, evaluation)
    if expert_id is not None and evaluation.chair_member_id != member_of(members, expert_id).id:
        raise PermissionDenied("只有评标委员会组长可以结束评标报告签署", code="chair_only")
    await _complete(session, project, evaluation, members, actor)
    return evaluation


async def _complete(session: AsyncSession, project: Project, evaluation: EvaluationSession,
                    members: list[EvaluationMember], actor: str) -> None:
    deemed = [m for m in members if m.signed_at is None and m.dissent is None]
    for m in deemed:
        m.deemed_agreed = True
    now = await database_now(session)
    evaluation.stage = advance(evaluation.stage, "complete")
    evaluation.completed_at, evaluation.outcome = now, OUTCOME_CANDIDATES
    bids = {b.id: b for b in await bids_of(session, evaluation)}
    ranked = sorted((b for b in bids.values() if b.rank is not None), key=lambda b: b.rank)
    await record_candidates(session, project, [
        RankedCandidate(organisation_id=b.organisation_id, bid_id=b.bid_id, price_fen=b.price_fen,
                        score=b.final_score) for b in ranked])
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.report_completed", subject=subject(project),
                       data={"round": evaluation.round, "report_sha256": evaluation.report_sha256,
                             "candidates": [b.bidder_credit_code for b in ranked],
                             "signed": [m.expert_code for m in members if m.signed_at is not None],
                             "dissent": [{"member": m.expert_code, "reasons": m.dissent}
                                         for m in members if m.dissent is not None],
                             "deemed_agreed": [m.expert_code for m in deemed],
                             "deemed_rule": "招标投标法实施条例 第五十三条"})
    await announce(session, project, "evaluation.report_completed", evaluation, stage=evaluation.stage,
                    outcome=OUTCOME_CANDIDATES, deemed_agreed=len(deemed))
