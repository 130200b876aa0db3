"""Evaluation (评标): the committee from the expert draw reviews and scores the opened bids
and its report ranks the candidates.

1. :func:`set_evaluation_scheme`: the tendering party or its agency fixes the method and
   scores (:mod:`bidding.evaluation.scoring`) while the tender is ``registered`` or ``announced``;
   from the start of bidding the scheme is frozen (招标投标法 第四十条: the committee
   evaluates by the standards and method the tender documents fix).
2. :func:`start_evaluation_session` (tender ``evaluating``): the project's committee is
   unsealed if it is not yet, its confirmed experts become the members, the decrypted
   opening entries become the bids; a bid above the announced maximum price is proposed
   for ground 5. Round 1, then a new round after an upheld complaint (``tender.reevaluate``).
3. :func:`vote_for_chair`: a member with more than half of the members' votes is chair
   (评标委员会推选组长); when all have voted without a majority the votes start over.
4. Qualification review (资格审查), preliminary review (初步评审), detailed review (详细评审):
   each member records pass or reject (:func:`record_review`) with a ground of
   招标投标法实施条例 第五十一条 and reasons; in the detailed review members also score each
   bid's items (:func:`record_scores`). The chair closes each stage (:func:`close_stage`):
   a bid is rejected when a majority of members reject it (少数服从多数). After the detailed
   review the system computes price scores, final scores and the ranking, and draws up
   the report. When every bid is rejected the tender fails (招标投标法 第四十二条).
5. The report: each member signs (:func:`sign_report`: an Ed25519 signature of the
   canonical report with the key they registered, :func:`register_expert_key`, or a
   recorded confirmation) or records dissent (:func:`record_dissent`). When all have done
   one or the other, or when the chair or the center closes it (:func:`complete_report`;
   a member who did neither is deemed to agree, 实施条例 第五十三条, and is named), the
   candidates are stored (:func:`bidding.evaluation.candidates.record_candidates`).

Every step is audited under ``project:<code>``. What experts see of a bid is what the
opening kept: bidder, price and duration (the opening does not keep the decrypted
documents).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.bids.bidder_keys import check_verify_key
from bidding.bids.submission import Bid
from bidding.evaluation.candidates import RankedCandidate, record_candidates
from bidding.tender.lifecycle import apply_transition
from bidding.opening.proceedings import DECRYPTED, OpeningEntry, OpeningSession
from bidding.tender.projects import Project, get_project
from bidding.evaluation.scoring import (
    COMPREHENSIVE,
    METHOD_NAMES,
    EvaluationScheme,
    Offer,
    check_item_scores,
    final_score,
    max_candidates,
    member_total,
    price_scores,
    rank_offers,
    render,
)
from bidding.tender.states import STATE_NAMES, TenderState
from expert_pool.committees import CONFIRMED, DRAWING, CommitteeGroup, CommitteeMember, CommitteeRequest, unseal_committee
from expert_pool.models import Expert
from trading.audit import AuditEntry, record_event
from trading.canonical import canon, sha256_hex
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trading.events import publish_event
from trading.keys import CenterKeys, key_id, verify_signature
from trading.money import yuan
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord

REPORT_PROTOCOL = "evaluation-report/1"

# Stages of a session, in order.
CHAIR, QUALIFICATION, PRELIMINARY, DETAILED, REPORT, COMPLETED = (
    "chair", "qualification", "preliminary", "detailed", "report", "completed")
STAGES = (CHAIR, QUALIFICATION, PRELIMINARY, DETAILED, REPORT, COMPLETED)
STAGE_NAMES = {CHAIR: "推选评标委员会组长", QUALIFICATION: "资格审查", PRELIMINARY: "初步评审", DETAILED: "详细评审",
               REPORT: "评标报告签署", COMPLETED: "评标结束"}
REVIEW_STAGES = (QUALIFICATION, PRELIMINARY, DETAILED)
PASS, REJECT = "pass", "reject"
VALID, REJECTED = "valid", "rejected"
OUTCOME_CANDIDATES, OUTCOME_ALL_REJECTED = "candidates", "all_rejected"

# 招标投标法实施条例 第五十一条: the committee shall reject a bid where ...
REJECTION_GROUNDS: Mapping[int, str] = {
    1: "投标文件未经投标单位盖章和单位负责人签字",
    2: "投标联合体没有提交共同投标协议",
    3: "投标人不符合国家或者招标文件规定的资格条件",
    4: "同一投标人提交两个以上不同的投标文件或者投标报价，但招标文件要求提交备选投标的除外",
    5: "投标报价低于成本或者高于招标文件设定的最高投标限价",
    6: "投标文件没有对招标文件的实质性要求和条件作出响应",
    7: "投标人有串通投标、弄虚作假、行贿等违法行为",
}
REJECTION_SOURCE = "招标投标法实施条例 第五十一条"
ABOVE_MAX_PRICE_GROUND = 5
# Tender states in which the scheme may still be set: the documents are not yet out for bids.
SCHEME_OPEN_STATES = frozenset({TenderState.REGISTERED, TenderState.ANNOUNCED})
# From these on the candidates are public and a bidder may see the outcome.
PUBLISHED_STATES = frozenset({TenderState.PUBLICITY, TenderState.AWARDED, TenderState.CONTRACTED, TenderState.CLOSED})


def rejection_grounds() -> list[dict[str, Any]]:
    """The mandatory rejection grounds as data, with their source."""
    return [{"ground": number, "text": text_, "source": REJECTION_SOURCE} for number, text_ in REJECTION_GROUNDS.items()]


# --------------------------------------------------------------------------- tables


class EvaluationSchemeRecord(SQLModel, table=True):
    """The scheme a tender's documents fix (JSON of :class:`bidding.evaluation.scoring.EvaluationScheme`)."""

    __tablename__ = "evaluation_schemes"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    scheme: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    set_by: str = Field(sa_column=Column(String(200), nullable=False))
    set_at: datetime = Field(sa_column=timestamp_column(nullable=False))


class ExpertSigningKey(SQLModel, table=True):
    """An expert's Ed25519 verify key for signing reports; one active key per expert."""

    __tablename__ = "expert_signing_keys"
    __table_args__ = (
        Index("expert_signing_keys_one_active", "expert_id", unique=True, postgresql_where=text("revoked_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False, index=True))
    verify_key: str = Field(sa_column=Column(String(64), nullable=False))
    registered_by: str = Field(sa_column=Column(String(200), nullable=False))
    registered_at: datetime = Field(sa_column=created_at_column())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class EvaluationSession(SQLModel, table=True):
    __tablename__ = "evaluation_sessions"
    __table_args__ = (
        UniqueConstraint("project_id", "round", name="evaluation_sessions_round_once"),
        CheckConstraint(f"stage IN ({', '.join(repr(s) for s in STAGES)})", name="evaluation_sessions_stage_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    round: int = Field(sa_column=Column(Integer, nullable=False))
    committee_request_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_requests.id"), nullable=False))
    stage: str = Field(sa_column=Column(String(16), nullable=False))
    # The scheme as fixed when the session started (the tender's documents).
    scheme: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    max_candidates: int = Field(sa_column=Column(Integer, nullable=False))
    max_price_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    started_by: str = Field(sa_column=Column(String(200), nullable=False))
    started_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    chair_member_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    report_sha256: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    report_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    completed_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    outcome: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))


class EvaluationMember(SQLModel, table=True):
    __tablename__ = "evaluation_members"
    __table_args__ = (UniqueConstraint("session_id", "expert_id", name="evaluation_members_once"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_sessions.id"), nullable=False, index=True))
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False))
    expert_code: str = Field(sa_column=Column(String(12), nullable=False))
    expert_name: str = Field(sa_column=Column(String(30), nullable=False))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    chair_vote: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))  # member id voted for
    signed_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # An Ed25519 signature of the canonical report, or None for a recorded confirmation.
    signature: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    signature_key_id: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    dissent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    dissent_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    deemed_agreed: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))


class EvaluationBid(SQLModel, table=True):
    __tablename__ = "evaluation_bids"
    __table_args__ = (
        UniqueConstraint("session_id", "bid_id", name="evaluation_bids_once"),
        CheckConstraint("status IN ('valid', 'rejected')", name="evaluation_bids_status_known"),
        CheckConstraint("ground IS NULL OR ground BETWEEN 1 AND 7", name="evaluation_bids_ground_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_sessions.id"), nullable=False, index=True))
    bid_id: int = Field(sa_column=Column(Integer, ForeignKey("bids.id"), nullable=False))
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False))
    bidder_credit_code: str = Field(sa_column=Column(String(18), nullable=False))
    bidder_name: str = Field(sa_column=Column(String(200), nullable=False))
    price_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    duration_days: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    bid_order: int = Field(sa_column=Column(Integer, nullable=False))  # the tender's bid sequence
    proposed_ground: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    proposed_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default=VALID, sa_column=Column(String(16), nullable=False))
    rejected_stage: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    ground: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    price_score: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    final_score: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    rank: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


class EvaluationReview(SQLModel, table=True):
    """One member's verdict on one bid in one review stage (revisable until the stage closes)."""

    __tablename__ = "evaluation_reviews"
    __table_args__ = (
        UniqueConstraint("member_id", "evaluation_bid_id", "stage", name="evaluation_reviews_once"),
        CheckConstraint("verdict IN ('pass', 'reject')", name="evaluation_reviews_verdict_known"),
        CheckConstraint("(verdict = 'reject') = (ground IS NOT NULL)", name="evaluation_reviews_reject_has_ground"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_sessions.id"), nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_members.id"), nullable=False))
    evaluation_bid_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_bids.id"), nullable=False))
    stage: str = Field(sa_column=Column(String(16), nullable=False))
    verdict: str = Field(sa_column=Column(String(8), nullable=False))
    ground: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_at: datetime = Field(sa_column=timestamp_column(nullable=False))


class EvaluationScore(SQLModel, table=True):
    """One member's technical/business item scores for one bid: ``[{"item", "points"}]``, decimal strings."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (UniqueConstraint("member_id", "evaluation_bid_id", name="evaluation_scores_once"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_sessions.id"), nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_members.id"), nullable=False))
    evaluation_bid_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluation_bids.id"), nullable=False))
    scores: list[dict[str, str]] = Field(sa_column=Column(JSONB, nullable=False))  # [{item, points}]
    recorded_at: datetime = Field(sa_column=timestamp_column(nullable=False))


# --------------------------------------------------------------------------- helpers


def _subject(project: Project) -> str:
    return f"project:{project.code}"


# Live events of the evaluation, on the project's topic (``trading.events``): they name the
# step and the member who acted, never a verdict, a score or a reason, which only the
# report makes known; watchers re-read the progress (:func:`evaluation_progress`).
LIVE_KINDS = ("evaluation.started", "evaluation.chair_vote", "evaluation.chair_elected",
              "evaluation.chair_vote_repeated", "evaluation.reviewed", "evaluation.scored",
              "evaluation.stage_closed", "evaluation.all_rejected", "evaluation.report_drawn_up",
              "evaluation.report_signed", "evaluation.dissent_recorded", "evaluation.report_completed")


async def _announce(session: AsyncSession, project: Project, kind: str, evaluation: EvaluationSession,
                    **data: Any) -> None:
    await publish_event(session, _subject(project), kind, {"round": evaluation.round, **data})


def _text(value: Any, field: str, what: str, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"须填写{what}", code="text_required", field=field)
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what}应为文本", code="text_required", field=field)
    return value.strip()


async def _rules(session: AsyncSession, project: Project) -> dict[str, Any]:
    return (await session.get(RuleSetRecord, project.rule_set_id)).values()


async def current_session(session: AsyncSession, project: Project, *, lock: bool = False) -> EvaluationSession:
    """The project's latest evaluation round."""
    query = (select(EvaluationSession).where(EvaluationSession.project_id == project.id)
             .order_by(EvaluationSession.round.desc()).limit(1))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound(f"项目 {project.code} 尚未开始评标", code="evaluation_not_started", project=project.code)
    return found


async def _members(session: AsyncSession, evaluation: EvaluationSession) -> list[EvaluationMember]:
    return list((await session.scalars(select(EvaluationMember).where(EvaluationMember.session_id == evaluation.id)
                                       .order_by(EvaluationMember.position)
                                       .execution_options(populate_existing=True))).all())


async def _bids(session: AsyncSession, evaluation: EvaluationSession) -> list[EvaluationBid]:
    return list((await session.scalars(select(EvaluationBid).where(EvaluationBid.session_id == evaluation.id)
                                       .order_by(EvaluationBid.bid_order)
                                       .execution_options(populate_existing=True))).all())


def _member_of(members: list[EvaluationMember], expert_id: int) -> EvaluationMember:
    member = next((m for m in members if m.expert_id == expert_id), None)
    if member is None:
        raise PermissionDenied("您不是本项目本轮评标委员会的成员", code="not_a_committee_member")
    return member


def _stage_is(evaluation: EvaluationSession, *stages: str) -> None:
    if evaluation.stage not in stages:
        wanted = "、".join(STAGE_NAMES[s] for s in stages)
        raise Conflict(f"评标当前处于「{STAGE_NAMES[evaluation.stage]}」阶段，不能进行{wanted}",
                       code="evaluation_stage", stage=evaluation.stage)


async def _acting_member(session: AsyncSession, project_code: str, expert_id: int, *stages: str
                         ) -> tuple[Project, EvaluationSession, list[EvaluationMember], EvaluationMember]:
    project = await get_project(session, project_code)
    evaluation = await current_session(session, project, lock=True)
    members = await _members(session, evaluation)
    member = _member_of(members, expert_id)
    if stages:
        _stage_is(evaluation, *stages)
    return project, evaluation, members, member


async def _bid_of(session: AsyncSession, evaluation: EvaluationSession, bidder_credit_code: Any) -> EvaluationBid:
    if not isinstance(bidder_credit_code, str):
        raise InvalidInput("请填写投标人的统一社会信用代码", code="bidder_code_required", field="bidder_credit_code")
    bid = await session.scalar(select(EvaluationBid).where(
        EvaluationBid.session_id == evaluation.id, EvaluationBid.bidder_credit_code == bidder_credit_code)
        .execution_options(populate_existing=True))
    if bid is None:
        raise NotFound("本轮评标中没有该投标人的有效投标", bidder=bidder_credit_code)
    return bid


def scheme_of(evaluation: EvaluationSession) -> EvaluationScheme:
    return EvaluationScheme.from_json(evaluation.scheme)


# --------------------------------------------------------------------------- the scheme


async def set_evaluation_scheme(session: AsyncSession, *, actor: str, project_code: str,
                                scheme: Mapping[str, Any]) -> EvaluationSchemeRecord:
    """Fix the tender's evaluation method and scores; only before bidding starts."""
    parsed = EvaluationScheme.from_json(scheme)
    project = await get_project(session, project_code, lock=True)
    if project.state not in SCHEME_OPEN_STATES:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，招标文件已发出投标，评标办法已固定，不得更改"
                       f"（招标投标法 第四十条：评标委员会应当按照招标文件确定的评标标准和方法评标）",
                       code="scheme_frozen", project=project.code, state=project.state)
    now = await database_now(session)
    record = await session.scalar(select(EvaluationSchemeRecord).where(EvaluationSchemeRecord.project_id == project.id))
    if record is None:
        record = EvaluationSchemeRecord(project_id=project.id, scheme=parsed.to_json(), set_by=actor, set_at=now)
        session.add(record)
    else:
        record.scheme, record.set_by, record.set_at = parsed.to_json(), actor, now
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.scheme_set", subject=_subject(project),
                       data={"scheme": record.scheme})
    return record


async def evaluation_scheme(session: AsyncSession, project_code: str) -> EvaluationScheme | None:
    project = await get_project(session, project_code)
    record = await session.scalar(select(EvaluationSchemeRecord).where(EvaluationSchemeRecord.project_id == project.id))
    return EvaluationScheme.from_json(record.scheme) if record else None


# --------------------------------------------------------------------------- experts' keys


async def register_expert_key(session: AsyncSession, *, actor: str, expert_id: int, verify_key: str) -> ExpertSigningKey:
    """Register the expert's own Ed25519 verify key (the previous one is revoked)."""
    key_hex = check_verify_key(verify_key)
    await session.execute(select(Expert.id).where(Expert.id == expert_id).with_for_update())
    current = await active_expert_key(session, expert_id)
    if current is not None and current.verify_key == key_hex:
        return current
    if current is not None:
        current.revoked_at = await database_now(session)
        await session.flush()
    record = ExpertSigningKey(expert_id=expert_id, verify_key=key_hex, registered_by=actor)
    session.add(record)
    await session.flush()
    await record_event(session, actor=actor, action="expert.signing_key_registered", subject=f"expert:{expert_id}",
                       data={"key_id": key_id(key_hex)})
    return record


async def active_expert_key(session: AsyncSession, expert_id: int) -> ExpertSigningKey | None:
    return await session.scalar(select(ExpertSigningKey).where(ExpertSigningKey.expert_id == expert_id,
                                                               ExpertSigningKey.revoked_at.is_(None)))


# --------------------------------------------------------------------------- the session


async def _committee(session: AsyncSession, keys: CenterKeys, project: Project, actor: str) -> CommitteeRequest:
    request = await session.scalar(select(CommitteeRequest).where(
        CommitteeRequest.project_code == project.code, CommitteeRequest.status != "cancelled")
        .order_by(CommitteeRequest.id.desc()).limit(1))
    if request is None:
        raise Conflict(f"项目 {project.code} 尚未抽取评标委员会", code="no_committee", project=project.code)
    if request.status == DRAWING:
        request = await unseal_committee(session, keys, request.id, actor=actor)
    return request


async def _reevaluation_since(session: AsyncSession, project: Project, moment: datetime) -> bool:
    return bool(await session.scalar(select(AuditEntry.seq).where(
        AuditEntry.subject == _subject(project), AuditEntry.action == "tender.reevaluate", AuditEntry.at > moment)
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
    seats = await session.scalar(select(func.sum(CommitteeGroup.count)).where(CommitteeGroup.request_id == request.id))
    confirmed = (await session.execute(
        select(CommitteeMember, Expert).join(Expert, Expert.id == CommitteeMember.expert_id)
        .where(CommitteeMember.request_id == request.id, CommitteeMember.status == CONFIRMED)
        .order_by(CommitteeMember.group_id, CommitteeMember.id))).all()
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
        scheme=record.scheme, max_candidates=max_candidates(await _rules(session, project)),
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
    await record_event(session, actor=actor, action="evaluation.started", subject=_subject(project),
                       data={"round": evaluation.round, "committee": request.id,
                             "members": [expert.code for _, expert in confirmed],
                             "bids": [entry.bidder_credit_code for entry, _, _ in rows],
                             "method": record.scheme["method"], "max_candidates": evaluation.max_candidates,
                             "proposed_rejections": proposals})
    await _announce(session, project, "evaluation.started", evaluation, stage=evaluation.stage,
                    members=len(confirmed), bids=len(rows))
    return evaluation


# --------------------------------------------------------------------------- the chair


async def vote_for_chair(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                         candidate_code: str) -> EvaluationSession:
    """A member's vote for chair; more than half of the members' votes elects."""
    project, evaluation, members, member = await _acting_member(session, project_code, expert_id, CHAIR)
    candidate = next((m for m in members if m.expert_code == candidate_code), None)
    if candidate is None:
        raise InvalidInput("只能推选本评标委员会的成员为组长", code="chair_not_a_member", field="candidate")
    if member.chair_vote is not None:
        raise Conflict("您已投票，不能重复投票", code="already_voted")
    member.chair_vote = candidate.id
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.chair_vote", subject=_subject(project),
                       data={"round": evaluation.round, "member": member.expert_code, "for": candidate.expert_code})
    await _announce(session, project, "evaluation.chair_vote", evaluation, member=member.expert_code)
    tally = Counter(m.chair_vote for m in members if m.chair_vote is not None)
    leader, votes = tally.most_common(1)[0]
    if 2 * votes > len(members):
        chair = next(m for m in members if m.id == leader)
        evaluation.chair_member_id, evaluation.stage = chair.id, QUALIFICATION
        await session.flush()
        await record_event(session, actor=actor, action="evaluation.chair_elected", subject=_subject(project),
                           data={"round": evaluation.round, "chair": chair.expert_code, "votes": votes,
                                 "members": len(members)})
        await _announce(session, project, "evaluation.chair_elected", evaluation, chair=chair.expert_code,
                        stage=evaluation.stage)
    elif all(m.chair_vote is not None for m in members):
        for m in members:
            m.chair_vote = None
        await session.flush()
        await record_event(session, actor=actor, action="evaluation.chair_vote_repeated", subject=_subject(project),
                           data={"round": evaluation.round, "reason": "无人获得过半数票，重新推选",
                                 "tally": {next(x.expert_code for x in members if x.id == k): v
                                           for k, v in tally.items()}})
        await _announce(session, project, "evaluation.chair_vote_repeated", evaluation)
    return evaluation


# --------------------------------------------------------------------------- reviews and scores


async def record_review(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                        bidder_credit_code: str, verdict: str, ground: int | None = None,
                        reason: str | None = None) -> EvaluationReview:
    """A member's pass or reject of one bid in the current review stage (revisable until closed)."""
    project, evaluation, _, member = await _acting_member(session, project_code, expert_id, *REVIEW_STAGES)
    if verdict not in (PASS, REJECT):
        raise InvalidInput("评审结论应为 pass（通过）或 reject（否决）", code="unknown_review_verdict", field="verdict")
    if verdict == REJECT:
        if isinstance(ground, bool) or not isinstance(ground, int) or ground not in REJECTION_GROUNDS:
            raise InvalidInput(f"否决投标须选择{REJECTION_SOURCE}规定的否决情形（1–7）",
                               code="rejection_ground_required", field="ground")
        reason_text = _text(reason, "reason", "否决理由")
    else:
        if ground is not None:
            raise InvalidInput("通过评审时不应选择否决情形", code="rejection_ground_on_pass", field="ground")
        reason_text = _text(reason, "reason", "评审意见", required=False) or None
    bid = await _bid_of(session, evaluation, bidder_credit_code)
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
    await record_event(session, actor=actor, action="evaluation.reviewed", subject=_subject(project),
                       data={"round": evaluation.round, "stage": evaluation.stage, "member": member.expert_code,
                             "bidder": bid.bidder_credit_code, "verdict": verdict, "ground": review.ground,
                             "reason": review.reason})
    await _announce(session, project, "evaluation.reviewed", evaluation, stage=evaluation.stage,
                    member=member.expert_code, bidder=bid.bidder_credit_code)
    return review


async def record_scores(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                        bidder_credit_code: str, scores: Any) -> EvaluationScore:
    """A member's technical/business item scores for one bid (detailed review, comprehensive method)."""
    project, evaluation, _, member = await _acting_member(session, project_code, expert_id, DETAILED)
    scheme = scheme_of(evaluation)
    if scheme.method != COMPREHENSIVE:
        raise Conflict("经评审的最低投标价法不设技术/商务评分", code="no_item_scores")
    checked = check_item_scores(scheme, scores)
    bid = await _bid_of(session, evaluation, bidder_credit_code)
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
    await record_event(session, actor=actor, action="evaluation.scored", subject=_subject(project),
                       data={"round": evaluation.round, "member": member.expert_code,
                             "bidder": bid.bidder_credit_code, "scores": stored})
    await _announce(session, project, "evaluation.scored", evaluation, member=member.expert_code,
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
    project, evaluation, members, member = await _acting_member(session, project_code, expert_id, *REVIEW_STAGES)
    if evaluation.chair_member_id != member.id:
        raise PermissionDenied("只有评标委员会组长可以结束评审阶段", code="chair_only")
    stage = evaluation.stage
    bids = [b for b in await _bids(session, evaluation) if b.status == VALID]
    reviews = (await session.scalars(select(EvaluationReview).where(
        EvaluationReview.session_id == evaluation.id, EvaluationReview.stage == stage))).all()
    by_bid: dict[int, list[EvaluationReview]] = {}
    for review in reviews:
        by_bid.setdefault(review.evaluation_bid_id, []).append(review)
    reviewed = {(r.member_id, r.evaluation_bid_id) for r in reviews}
    if stage == DETAILED:  # in the detailed review a member's scores for a bid count as a pass
        reviewed |= await _scored_pairs(session, evaluation)
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
    await record_event(session, actor=actor, action="evaluation.stage_closed", subject=_subject(project),
                       data={"round": evaluation.round, "stage": stage, "rejected": rejected,
                             "remaining": [b.bidder_credit_code for b in remaining],
                             "rule": REJECTION_SOURCE})
    await _announce(session, project, "evaluation.stage_closed", evaluation, stage=stage, rejected=len(rejected),
                    remaining=len(remaining))
    if not remaining:
        return await _all_rejected(session, project, evaluation, actor)
    if stage == DETAILED:
        await _draw_up_report(session, project, evaluation, members, scheme, actor)
    else:
        evaluation.stage = REVIEW_STAGES[REVIEW_STAGES.index(stage) + 1]
        await session.flush()
    return evaluation


async def _scored_pairs(session: AsyncSession, evaluation: EvaluationSession) -> set[tuple[int, int]]:
    rows = await session.execute(select(EvaluationScore.member_id, EvaluationScore.evaluation_bid_id)
                                 .where(EvaluationScore.session_id == evaluation.id))
    return {(member_id, bid_id) for member_id, bid_id in rows}


async def _check_scores_complete(session, evaluation, members, remaining) -> None:
    have = await _scored_pairs(session, evaluation)
    missing = [(m.expert_name, b.bidder_name) for b in remaining for m in members if (m.id, b.id) not in have]
    if missing:
        name, bidder = missing[0]
        raise Conflict(f"详细评审打分尚未完成：{name} 未对「{bidder}」打分等 {len(missing)} 项",
                       code="scores_missing", missing=len(missing))


async def _all_rejected(session: AsyncSession, project: Project, evaluation: EvaluationSession,
                        actor: str) -> EvaluationSession:
    """Every bid rejected: no candidates; the tender fails and must be re-tendered (招标投标法 第四十二条)."""
    now = await database_now(session)
    evaluation.stage, evaluation.completed_at, evaluation.outcome = COMPLETED, now, OUTCOME_ALL_REJECTED
    await session.flush()
    reason = "评标委员会否决全部投标，应当依法重新招标（招标投标法 第四十二条）"
    await record_event(session, actor=actor, action="evaluation.all_rejected", subject=_subject(project),
                       data={"round": evaluation.round, "reason": reason})
    await _announce(session, project, "evaluation.all_rejected", evaluation, stage=COMPLETED)
    await apply_transition(session, actor=actor, project_code=project.code, action="fail",
                           facts={"valid_bids": 0, "reason": reason})
    return evaluation


# --------------------------------------------------------------------------- the report


async def _draw_up_report(session: AsyncSession, project: Project, evaluation: EvaluationSession,
                          members: list[EvaluationMember], scheme: Any, actor: str) -> None:
    bids = await _bids(session, evaluation)
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
    evaluation.report_at, evaluation.stage = now, REPORT
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.report_drawn_up", subject=_subject(project),
                       data={"round": evaluation.round, "report_sha256": evaluation.report_sha256,
                             "candidates": report["candidates"]})
    await _announce(session, project, "evaluation.report_drawn_up", evaluation, stage=REPORT,
                    report_sha256=evaluation.report_sha256)


async def sign_report(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                      signature: str | None = None) -> EvaluationMember:
    """A member signs the report: an Ed25519 signature of its canonical JSON, or (``signature``
    None) a confirmation recorded as the member's own logged-in act."""
    project, evaluation, members, member = await _acting_member(session, project_code, expert_id, REPORT)
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
    await record_event(session, actor=actor, action="evaluation.report_signed", subject=_subject(project),
                       data={"round": evaluation.round, "member": member.expert_code,
                             "report_sha256": evaluation.report_sha256,
                             "by": "signature" if member.signature else "confirmation",
                             "key_id": member.signature_key_id})
    await _announce(session, project, "evaluation.report_signed", evaluation, member=member.expert_code,
                    by="signature" if member.signature else "confirmation")
    await _complete_when_all_done(session, project, evaluation, members, actor)
    return member


async def record_dissent(session: AsyncSession, *, actor: str, project_code: str, expert_id: int,
                         reasons: str) -> EvaluationMember:
    """A member's written dissent with reasons (实施条例 第五十三条), noted in the report."""
    project, evaluation, members, member = await _acting_member(session, project_code, expert_id, REPORT)
    text_ = _text(reasons, "reasons", "不同意见的理由")
    if member.dissent is not None:
        raise Conflict("您已提出不同意见", code="already_dissented")
    member.dissent, member.dissent_at = text_, await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.dissent_recorded", subject=_subject(project),
                       data={"round": evaluation.round, "member": member.expert_code, "reasons": text_})
    await _announce(session, project, "evaluation.dissent_recorded", evaluation, member=member.expert_code)
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
    _stage_is(evaluation, REPORT)
    members = await _members(session, evaluation)
    if expert_id is not None and evaluation.chair_member_id != _member_of(members, expert_id).id:
        raise PermissionDenied("只有评标委员会组长可以结束评标报告签署", code="chair_only")
    await _complete(session, project, evaluation, members, actor)
    return evaluation


async def _complete(session: AsyncSession, project: Project, evaluation: EvaluationSession,
                    members: list[EvaluationMember], actor: str) -> None:
    deemed = [m for m in members if m.signed_at is None and m.dissent is None]
    for m in deemed:
        m.deemed_agreed = True
    now = await database_now(session)
    evaluation.stage, evaluation.completed_at, evaluation.outcome = COMPLETED, now, OUTCOME_CANDIDATES
    bids = {b.id: b for b in await _bids(session, evaluation)}
    ranked = sorted((b for b in bids.values() if b.rank is not None), key=lambda b: b.rank)
    await record_candidates(session, project, [
        RankedCandidate(organisation_id=b.organisation_id, bid_id=b.bid_id, price_fen=b.price_fen,
                        score=b.final_score) for b in ranked])
    await session.flush()
    await record_event(session, actor=actor, action="evaluation.report_completed", subject=_subject(project),
                       data={"round": evaluation.round, "report_sha256": evaluation.report_sha256,
                             "candidates": [b.bidder_credit_code for b in ranked],
                             "signed": [m.expert_code for m in members if m.signed_at is not None],
                             "dissent": [{"member": m.expert_code, "reasons": m.dissent}
                                         for m in members if m.dissent is not None],
                             "deemed_agreed": [m.expert_code for m in deemed],
                             "deemed_rule": "招标投标法实施条例 第五十三条"})
    await _announce(session, project, "evaluation.report_completed", evaluation, stage=COMPLETED,
                    outcome=OUTCOME_CANDIDATES, deemed_agreed=len(deemed))


# --------------------------------------------------------------------------- views


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
    members = await _members(session, evaluation)
    bids = await _bids(session, evaluation)
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
        member = _member_of(members, expert_id)
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
    members = await _members(session, evaluation)
    bids = await _bids(session, evaluation)
    valid = [b for b in bids if b.status == VALID]
    reviews = (await session.execute(
        select(EvaluationReview.member_id, EvaluationReview.stage, func.count())
        .where(EvaluationReview.session_id == evaluation.id)
        .group_by(EvaluationReview.member_id, EvaluationReview.stage))).all()
    reviewed = {(member_id, stage): count for member_id, stage, count in reviews}
    scored = Counter(member_id for member_id, _ in await _scored_pairs(session, evaluation))
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
