"""candidates and deadlines: the report's ranked candidates and the clocks the law sets on people

Revision ID: n5shared00001
Revises: m4opening0001
Create Date: 2026-11-22 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "n5shared00001"
down_revision: str | None = "m4opening0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tender_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("bid_id", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "round", "rank", name="tender_candidates_rank_once"),
    )
    op.create_index(op.f("ix_tender_candidates_project_id"), "tender_candidates", ["project_id"])
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("card", sa.String(length=8), server_default="none", nullable=False),
        sa.Column("carded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_deadlines_project_id"), "deadlines", ["project_id"])
    op.create_index("deadlines_open_once", "deadlines", ["kind", "subject"], unique=True,
                    postgresql_where=sa.text("met_at IS NULL"))


def downgrade() -> None:
    op.drop_index("deadlines_open_once", table_name="deadlines")
    op.drop_index(op.f("ix_deadlines_project_id"), table_name="deadlines")
    op.drop_table("deadlines")
    op.drop_index(op.f("ix_tender_candidates_project_id"), table_name="tender_candidates")
    op.drop_table("tender_candidates")
