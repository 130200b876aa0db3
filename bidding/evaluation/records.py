"""The tables of an evaluation round: the session, its members, the bids it evaluates, and
the members' reviews and scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from bidding.evaluation.stages import STAGES
from trading.columns import timestamp_column

PASS, REJECT = "pass", "reject"
VALID, REJECTED = "valid", "rejected"
OUTCOME_CANDIDATES, OUTCOME_ALL_REJECTED = "candidates", "all_rejected"


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
