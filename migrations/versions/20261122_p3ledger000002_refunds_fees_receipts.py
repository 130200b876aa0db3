"""ledger: kept deposits, refunds, service fees, electronic receipts, collusion flag dismissal

Revision ID: p3ledger000002
Revises: n5shared00001
Create Date: 2026-11-22 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "p3ledger000002"
down_revision: str | None = "n5shared00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ledger_deposits", sa.Column("kept_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ledger_deposits", sa.Column("kept_rule", sa.String(length=80), nullable=True))
    op.add_column("ledger_deposits", sa.Column("kept_source", sa.Text(), nullable=True))
    op.add_column("ledger_deposits", sa.Column("kept_reason", sa.Text(), nullable=True))
    op.add_column("collusion_flags", sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("collusion_flags", sa.Column("dismissed_by", sa.String(length=200), nullable=True))
    op.add_column("collusion_flags", sa.Column("dismissal_reason", sa.Text(), nullable=True))
    op.create_table(
        "ledger_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deposit_id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("bidder_credit_code", sa.String(length=18), nullable=False),
        sa.Column("principal_fen", sa.BigInteger(), nullable=False),
        sa.Column("interest_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("interest", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("payee_account", sa.String(length=64), nullable=False),
        sa.Column("payee_account_name", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("rule_source", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instructed_by", sa.String(length=200), nullable=False),
        sa.Column("instructed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=200), nullable=True),
        sa.Column("paid_bank", sa.String(length=100), nullable=True),
        sa.Column("paid_reference", sa.String(length=100), nullable=True),
        sa.Column("paid_value_date", sa.Date(), nullable=True),
        sa.Column("paid_source", sa.String(length=16), nullable=True),
        sa.CheckConstraint("principal_fen > 0 AND interest_fen >= 0", name="ledger_refunds_amounts"),
        sa.CheckConstraint("amount_fen = principal_fen + interest_fen", name="ledger_refunds_amount_is_sum"),
        sa.CheckConstraint("event IN ('award_notice', 'contract', 'failed', 'terminated', 'withdrawn')",
                           name="ledger_refunds_event_known"),
        sa.CheckConstraint("(paid_at IS NULL) = (paid_reference IS NULL)", name="ledger_refunds_paid_has_reference"),
        sa.ForeignKeyConstraint(["deposit_id"], ["ledger_deposits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deposit_id", name="ledger_refunds_one_per_deposit"),
        sa.UniqueConstraint("paid_bank", "paid_reference", name="ledger_refunds_paid_reference_unique"),
    )
    op.create_index("ledger_refunds_project", "ledger_refunds", ["project_code"], unique=False)
    op.create_table(
        "ledger_fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("payer_credit_code", sa.String(length=18), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("basis_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("schedule", sa.String(length=60), nullable=False),
        sa.Column("charged_by", sa.String(length=200), nullable=False),
        sa.Column("charged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=200), nullable=True),
        sa.Column("paid_account", sa.String(length=64), nullable=True),
        sa.Column("paid_account_name", sa.String(length=200), nullable=True),
        sa.Column("paid_bank", sa.String(length=100), nullable=True),
        sa.Column("paid_reference", sa.String(length=100), nullable=True),
        sa.Column("paid_value_date", sa.Date(), nullable=True),
        sa.CheckConstraint("amount_fen >= 0 AND basis_fen >= 0", name="ledger_fees_amounts"),
        sa.CheckConstraint("(paid_at IS NULL) = (paid_reference IS NULL)", name="ledger_fees_paid_has_reference"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_code", name="ledger_fees_one_per_project"),
        sa.UniqueConstraint("paid_bank", "paid_reference", name="ledger_fees_paid_reference_unique"),
    )
    op.create_table(
        "ledger_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("party_credit_code", sa.String(length=18), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('deposit', 'fee', 'refund')", name="ledger_receipts_kind_known"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "source_id", name="ledger_receipts_one_per_payment"),
        sa.UniqueConstraint("number", name="ledger_receipts_number_unique"),
    )
    op.create_index(op.f("ix_ledger_receipts_project_code"), "ledger_receipts", ["project_code"], unique=False)
    op.create_index(op.f("ix_ledger_receipts_party_credit_code"), "ledger_receipts", ["party_credit_code"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ledger_receipts_party_credit_code"), table_name="ledger_receipts")
    op.drop_index(op.f("ix_ledger_receipts_project_code"), table_name="ledger_receipts")
    op.drop_table("ledger_receipts")
    op.drop_table("ledger_fees")
    op.drop_index("ledger_refunds_project", table_name="ledger_refunds")
    op.drop_table("ledger_refunds")
    for column in ("dismissal_reason", "dismissed_by", "dismissed_at"):
        op.drop_column("collusion_flags", column)
    for column in ("kept_reason", "kept_source", "kept_rule", "kept_at"):
        op.drop_column("ledger_deposits", column)
