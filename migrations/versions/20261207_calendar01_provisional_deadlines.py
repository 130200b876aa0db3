"""deadlines reckoned on a provisional calendar year, and how to reckon them again

A deadline reaching a year whose holiday notice is not loaded yet is reckoned on the
statutory holidays alone and marked provisional; loading the official year recomputes it
from its start and period (never earlier). Refunds and objection answers keep a copy of
their due time, so they carry the mark too.

Revision ID: calendar01
Revises: w1bidpending1
Create Date: 2026-12-07 20:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "calendar01"
down_revision: str | None = "w1bidpending1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deadlines", sa.Column("provisional", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("deadlines", sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("deadlines", sa.Column("period_value", sa.Integer(), nullable=True))
    op.add_column("deadlines", sa.Column("period_unit", sa.String(length=16), nullable=True))
    op.add_column("ledger_refunds",
                  sa.Column("due_provisional", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.add_column("doc_objections",
                  sa.Column("answer_due_provisional", sa.Boolean(), server_default=sa.text("false"), nullable=False))


def downgrade() -> None:
    op.drop_column("doc_objections", "answer_due_provisional")
    op.drop_column("ledger_refunds", "due_provisional")
    op.drop_column("deadlines", "period_unit")
    op.drop_column("deadlines", "period_value")
    op.drop_column("deadlines", "starts_at")
    op.drop_column("deadlines", "provisional")
