"""bids: tender opening keys, bidder verify keys, sealed bids, registrations.deposit_paid_at

Revision ID: j1bids0000001
Revises: g7tenderstate
Create Date: 2026-11-23 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "j1bids0000001"
down_revision: str | None = "g7tenderstate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("registrations", sa.Column("deposit_paid_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "tender_opening_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("sealed_private", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id"),
    )
    op.create_table(
        "bidder_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("verify_key", sa.String(length=64), nullable=False),
        sa.Column("registered_by", sa.String(length=200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_bidder_keys_organisation_id"), "bidder_keys", ["organisation_id"], unique=False)
    op.create_index("bidder_keys_one_active", "bidder_keys", ["organisation_id"], unique=True,
                    postgresql_where=sa.text("revoked_at IS NULL"))
    op.create_table(
        "bids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("bidder_credit_code", sa.String(length=18), nullable=False),
        sa.Column("bidder_key_id", sa.Integer(), nullable=False),
        sa.Column("envelope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("receipt_signature", sa.String(length=128), nullable=False),
        sa.Column("receipt_key_id", sa.String(length=16), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawal", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint("status IN ('submitted', 'superseded', 'withdrawn')", name="bids_status_known"),
        sa.CheckConstraint("size = octet_length(ciphertext)", name="bids_size_is_ciphertext_length"),
        sa.CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="bids_withdrawn_has_time"),
        sa.ForeignKeyConstraint(["bidder_key_id"], ["bidder_keys.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("envelope_sha256", name="bids_envelope_once"),
        sa.UniqueConstraint("project_id", "sequence", name="bids_sequence_per_tender"),
    )
    op.create_index(op.f("ix_bids_project_id"), "bids", ["project_id"], unique=False)
    op.create_index(op.f("ix_bids_registration_id"), "bids", ["registration_id"], unique=False)
    op.create_index("bids_one_current", "bids", ["project_id", "registration_id"], unique=True,
                    postgresql_where=sa.text("status = 'submitted'"))
    # Large ciphertexts are written once and never compressed (they do not compress).
    op.execute("ALTER TABLE bids ALTER COLUMN ciphertext SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_index("bids_one_current", table_name="bids", postgresql_where=sa.text("status = 'submitted'"))
    op.drop_index(op.f("ix_bids_registration_id"), table_name="bids")
    op.drop_index(op.f("ix_bids_project_id"), table_name="bids")
    op.drop_table("bids")
    op.drop_index("bidder_keys_one_active", table_name="bidder_keys", postgresql_where=sa.text("revoked_at IS NULL"))
    op.drop_index(op.f("ix_bidder_keys_organisation_id"), table_name="bidder_keys")
    op.drop_table("bidder_keys")
    op.drop_table("tender_opening_keys")
    op.drop_column("registrations", "deposit_paid_at")
