"""credit: records, their history and evidence, bribery checks, department accounts; credit roles

Revision ID: e5credit00001
Revises: 3ae8e8d8de4a
Create Date: 2026-11-22 20:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e5credit00001"
down_revision: str | None = "3ae8e8d8de4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = "'admin', 'tendering_party', 'agency', 'bidder', 'expert', 'supervisor', 'finance'"
NEW_ROLES = OLD_ROLES + ", 'credit_officer', 'department'"


def upgrade() -> None:
    op.drop_constraint("users_role_known", "users", type_="check")
    op.create_check_constraint("users_role_known", "users", f"role IN ({NEW_ROLES})")

    op.create_table(
        "credit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=18), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("department_record_id", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("act", sa.Text(), nullable=False),
        sa.Column("decision_number", sa.String(length=100), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("categories", postgresql.ARRAY(sa.String(length=32)), server_default=sa.text("'{}'::varchar[]"),
                  nullable=False),
        sa.Column("region_codes", postgresql.ARRAY(sa.String(length=6)), server_default=sa.text("'{}'::varchar[]"),
                  nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("status_document", sa.String(length=100), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("subject_type IN ('organisation', 'person')", name="credit_records_subject_type_known"),
        sa.CheckConstraint("severity IN ('serious', 'minor')", name="credit_records_severity_known"),
        sa.CheckConstraint("status IN ('active', 'repaired', 'revoked')", name="credit_records_status_known"),
        sa.CheckConstraint("status = 'active' OR status_reason IS NOT NULL", name="credit_records_status_reason_present"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="credit_records_period_ordered"),
        sa.CheckConstraint("categories <@ ARRAY['construction', 'government_procurement', 'land_mining', "
                           "'state_property']::varchar[]", name="credit_records_categories_known"),
        sa.CheckConstraint("channel IN ('portal', 'api', 'import', 'push', 'bribery_check', 'demo')",
                           name="credit_records_channel_known"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department_code", "department_record_id", name="credit_records_department_record_once"),
    )
    op.create_index("ix_credit_records_subject", "credit_records", ["subject_type", "subject_key"], unique=False)
    op.create_index(op.f("ix_credit_records_subject_name"), "credit_records", ["subject_name"], unique=False)
    op.create_index(op.f("ix_credit_records_kind"), "credit_records", ["kind"], unique=False)

    op.create_table(
        "credit_record_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("document_number", sa.String(length=100), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("action IN ('entered', 'updated', 'repaired', 'revoked')",
                           name="credit_record_changes_action_known"),
        sa.ForeignKeyConstraint(["record_id"], ["credit_records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_credit_record_changes_record_id"), "credit_record_changes", ["record_id"], unique=False)

    op.create_table(
        "credit_bribery_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=18), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("document_number", sa.String(length=100), nullable=True),
        sa.Column("lookback_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("found_record_ids", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{}'::integer[]"),
                  nullable=False),
        sa.Column("checked_by", sa.String(length=200), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("outcome IN ('clear', 'found')", name="credit_bribery_checks_outcome_known"),
        sa.CheckConstraint("subject_type IN ('organisation', 'person')", name="credit_bribery_checks_subject_type_known"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_bribery_checks_registration", "credit_bribery_checks",
                    ["project_code", "subject_type", "subject_key"], unique=False)

    op.create_table(
        "credit_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("bribery_check_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("size_bytes > 0 AND size_bytes <= 10485760", name="credit_evidence_size_capped"),
        sa.CheckConstraint("num_nonnulls(record_id, bribery_check_id) = 1", name="credit_evidence_one_owner"),
        sa.ForeignKeyConstraint(["bribery_check_id"], ["credit_bribery_checks.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["credit_records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_credit_evidence_record_id"), "credit_evidence", ["record_id"], unique=False)
    op.create_index(op.f("ix_credit_evidence_bribery_check_id"), "credit_evidence", ["bribery_check_id"], unique=False)

    op.create_table(
        "credit_department_accounts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_code", sa.String(length=32), nullable=False),
        sa.Column("bound_by", sa.String(length=200), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index(op.f("ix_credit_department_accounts_department_code"), "credit_department_accounts",
                    ["department_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_department_accounts_department_code"), table_name="credit_department_accounts")
    op.drop_table("credit_department_accounts")
    op.drop_index(op.f("ix_credit_evidence_bribery_check_id"), table_name="credit_evidence")
    op.drop_index(op.f("ix_credit_evidence_record_id"), table_name="credit_evidence")
    op.drop_table("credit_evidence")
    op.drop_index("ix_credit_bribery_checks_registration", table_name="credit_bribery_checks")
    op.drop_table("credit_bribery_checks")
    op.drop_index(op.f("ix_credit_record_changes_record_id"), table_name="credit_record_changes")
    op.drop_table("credit_record_changes")
    op.drop_index(op.f("ix_credit_records_kind"), table_name="credit_records")
    op.drop_index(op.f("ix_credit_records_subject_name"), table_name="credit_records")
    op.drop_index("ix_credit_records_subject", table_name="credit_records")
    op.drop_table("credit_records")
    # Fails while users of the credit roles exist: their accounts are not deleted silently.
    op.drop_constraint("users_role_known", "users", type_="check")
    op.create_check_constraint("users_role_known", "users", f"role IN ({OLD_ROLES})")
