"""opening: opening sessions, the opening record's entries and objections at the opening

Revision ID: m4opening0001
Revises: l3ledger00001
Create Date: 2026-11-22 23:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "m4opening0001"
down_revision: str | None = "l3ledger00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opening_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_price_fen", sa.BigInteger(), nullable=True),
        sa.Column("max_price_announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id"),
    )
    op.create_table(
        "opening_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("bidder_credit_code", sa.String(length=18), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("center_half_opened", sa.Boolean(), nullable=False),
        sa.Column("sealed_center_half", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("reason_text", sa.Text(), nullable=True),
        sa.Column("cause", sa.String(length=8), nullable=True),
        sa.Column("price_fen", sa.BigInteger(), nullable=True),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("decrypted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'decrypted', 'not_decrypted')", name="opening_entries_state_known"),
        sa.CheckConstraint("cause IS NULL OR cause IN ('bidder', 'other')", name="opening_entries_cause_known"),
        sa.CheckConstraint("(state = 'not_decrypted') = (cause IS NOT NULL)", name="opening_entries_failure_has_cause"),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["opening_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "bid_id", name="opening_entries_bid_once"),
    )
    op.create_index(op.f("ix_opening_entries_session_id"), "opening_entries", ["session_id"], unique=False)
    op.create_table(
        "opening_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("raised_by", sa.String(length=200), nullable=False),
        sa.Column("bidder_credit_code", sa.String(length=18), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["opening_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_opening_objections_session_id"), "opening_objections", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_opening_objections_session_id"), table_name="opening_objections")
    op.drop_table("opening_objections")
    op.drop_index(op.f("ix_opening_entries_session_id"), table_name="opening_entries")
    op.drop_table("opening_entries")
    op.drop_table("opening_sessions")
