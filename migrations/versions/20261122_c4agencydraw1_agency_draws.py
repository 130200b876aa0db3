"""agency draws: declines of drawn agencies

Revision ID: c4agencydraw1
Revises: c3agencypool1
Create Date: 2026-11-22 14:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4agencydraw1"
down_revision: str | None = "c3agencypool1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "a1sealeddraw1"


def upgrade() -> None:
    op.create_table(
        "agency_declines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.String(length=40), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declined_by", sa.String(length=200), nullable=False),
        sa.Column("declined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.draw_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draw_id", "agency_code", name="agency_declines_once"),
    )
    op.create_index(op.f("ix_agency_declines_draw_id"), "agency_declines", ["draw_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_agency_declines_draw_id"), table_name="agency_declines")
    op.drop_table("agency_declines")
