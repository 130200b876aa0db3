"""draws: sealed-draw/1 records

Revision ID: a1sealeddraw1
Revises: 3ae8e8d8de4a
Create Date: 2026-11-22 13:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1sealeddraw1"
down_revision: str | None = "3ae8e8d8de4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("draw_numbers")))
    op.create_table(
        "draws",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("draw_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("pool", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("reserve_count", sa.Integer(), nullable=False),
        sa.Column("commit_record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("commit_signature", sa.String(length=128), nullable=False),
        sa.Column("sealed_seed", sa.LargeBinary(), nullable=False),
        sa.Column("witness_required", sa.Boolean(), nullable=False),
        sa.Column("witness_value", sa.String(length=200), nullable=True),
        sa.Column("witness_by", sa.String(length=200), nullable=True),
        sa.Column("witness_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed_result", sa.LargeBinary(), nullable=True),
        sa.Column("unseal_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reveal_record", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("reveal_signature", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("continues_draw_id", sa.String(length=40), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("voided_by", sa.String(length=200), nullable=True),
        sa.Column("void_approved_by", sa.String(length=200), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("purpose IN ('expert', 'agency')", name="draws_purpose_known"),
        sa.CheckConstraint("status IN ('committed', 'witnessed', 'revealed', 'voided')", name="draws_status_known"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draw_id"),
    )
    op.create_index(op.f("ix_draws_project_code"), "draws", ["project_code"], unique=False)
    op.create_index(op.f("ix_draws_status"), "draws", ["status"], unique=False)
    # A draw is never deleted: every attempt stays visible to supervisors.
    op.execute("CREATE TRIGGER draws_no_delete BEFORE DELETE ON draws FOR EACH ROW EXECUTE FUNCTION refuse_change()")
    op.execute("CREATE TRIGGER draws_no_truncate BEFORE TRUNCATE ON draws FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()")


def downgrade() -> None:
    op.drop_index(op.f("ix_draws_status"), table_name="draws")
    op.drop_index(op.f("ix_draws_project_code"), table_name="draws")
    op.drop_table("draws")
    op.execute(sa.schema.DropSequence(sa.Sequence("draw_numbers")))
