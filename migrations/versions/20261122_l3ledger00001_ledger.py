"""ledger: deposits paid into the center's ledger and collusion flags for shared paying accounts

Revision ID: l3ledger00001
Revises: z9merge000001
Create Date: 2026-11-22 23:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "l3ledger00001"
down_revision: str | None = "z9merge000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_deposits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("bidder_credit_code", sa.String(length=18), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("account_name", sa.String(length=200), nullable=False),
        sa.Column("bank", sa.String(length=100), server_default="", nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("confirmed_by", sa.String(length=200), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="ledger_deposits_amount_positive"),
        sa.CheckConstraint("source IN ('statement', 'manual')", name="ledger_deposits_source_known"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank", "bank_reference", name="ledger_deposits_bank_reference_unique"),
    )
    op.create_index("ledger_deposits_project_account", "ledger_deposits", ["project_code", "account"], unique=False)
    op.create_index("ledger_deposits_project_bidder", "ledger_deposits", ["project_code", "bidder_credit_code"],
                    unique=False)
    op.create_table(
        "collusion_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("bidder_codes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_code", "account", name="collusion_flags_project_account_unique"),
    )
    op.create_index(op.f("ix_collusion_flags_project_code"), "collusion_flags", ["project_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_collusion_flags_project_code"), table_name="collusion_flags")
    op.drop_table("collusion_flags")
    op.drop_index("ledger_deposits_project_bidder", table_name="ledger_deposits")
    op.drop_index("ledger_deposits_project_account", table_name="ledger_deposits")
    op.drop_table("ledger_deposits")
