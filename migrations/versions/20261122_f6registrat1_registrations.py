"""registrations: bidder registrations with their credit answers

Revision ID: f6registrat1
Revises: e5credit00001
Create Date: 2026-11-22 20:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f6registrat1"
down_revision: str | None = "e5credit00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "3ae8e8d8de4a"


def upgrade() -> None:
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("bidder_organisation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("deposit_required_fen", sa.BigInteger(), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('admitted', 'refused')", name="registrations_status_known"),
        sa.CheckConstraint("deposit_required_fen >= 0", name="registrations_deposit_not_negative"),
        sa.ForeignKeyConstraint(["bidder_organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_registrations_project_id"), "registrations", ["project_id"], unique=False)
    op.create_index(op.f("ix_registrations_bidder_organisation_id"), "registrations", ["bidder_organisation_id"],
                    unique=False)
    op.create_index("registrations_one_admitted", "registrations", ["project_id", "bidder_organisation_id"],
                    unique=True, postgresql_where=sa.text("status = 'admitted'"))


def downgrade() -> None:
    op.drop_index("registrations_one_admitted", table_name="registrations")
    op.drop_index(op.f("ix_registrations_bidder_organisation_id"), table_name="registrations")
    op.drop_index(op.f("ix_registrations_project_id"), table_name="registrations")
    op.drop_table("registrations")
