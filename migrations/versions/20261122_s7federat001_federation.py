"""federation: partner cities, request nonces, experts lent to partners and borrowed from them

Revision ID: s7federat001
Revises: r2suspended01
Create Date: 2026-11-22 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "s7federat001"
down_revision: str | None = "r2suspended01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("verify_key", sa.String(length=64), nullable=False),
        sa.Column("exchange_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="partners_status_known"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("city_code"),
    )
    op.create_table(
        "federation_nonces",
        sa.Column("city_code", sa.String(length=6), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("city_code", "nonce"),
    )
    op.create_index(op.f("ix_federation_nonces_expires_at"), "federation_nonces", ["expires_at"], unique=False)
    op.create_table(
        "lent_committees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_city", sa.String(length=6), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("committee_request_id", sa.Integer(), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("answer", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["committee_request_id"], ["committee_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("committee_request_id"),
        sa.UniqueConstraint("partner_city", "request_id", name="lent_committees_request_once"),
    )
    op.create_index(op.f("ix_lent_committees_partner_city"), "lent_committees", ["partner_city"], unique=False)
    op.create_table(
        "lent_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lent_committee_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.ForeignKeyConstraint(["lent_committee_id"], ["lent_committees.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lent_committee_id", "expert_id", name="lent_attendance_once"),
    )
    op.create_index(op.f("ix_lent_attendance_expert_id"), "lent_attendance", ["expert_id"], unique=False)
    op.create_index(op.f("ix_lent_attendance_lent_committee_id"), "lent_attendance", ["lent_committee_id"], unique=False)
    op.create_table(
        "partner_expert_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lent_committee_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(length=200), nullable=False),
        sa.Column("rater_role", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="partner_expert_ratings_score_range"),
        sa.CheckConstraint("rater_role IN ('tendering_party', 'supervisor')", name="partner_expert_ratings_role_known"),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.ForeignKeyConstraint(["lent_committee_id"], ["lent_committees.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lent_committee_id", "expert_id", "rater", name="partner_expert_ratings_once_per_rater"),
    )
    op.create_index(op.f("ix_partner_expert_ratings_expert_id"), "partner_expert_ratings", ["expert_id"], unique=False)
    op.create_index(op.f("ix_partner_expert_ratings_lent_committee_id"), "partner_expert_ratings",
                    ["lent_committee_id"], unique=False)
    op.create_table(
        "partner_draw_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("committee_request_id", sa.Integer(), nullable=False),
        sa.Column("partner_city", sa.String(length=6), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("draws", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("sealed_result", sa.LargeBinary(), nullable=True),
        sa.Column("opened", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["committee_request_id"], ["committee_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_partner_draw_requests_committee_request_id"), "partner_draw_requests",
                    ["committee_request_id"], unique=False)
    op.create_index(op.f("ix_partner_draw_requests_partner_city"), "partner_draw_requests", ["partner_city"],
                    unique=False)


def downgrade() -> None:
    op.drop_table("partner_draw_requests")
    op.drop_table("partner_expert_ratings")
    op.drop_table("lent_attendance")
    op.drop_table("lent_committees")
    op.drop_table("federation_nonces")
    op.drop_table("partners")
