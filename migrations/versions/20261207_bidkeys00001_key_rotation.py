"""bidder keys: rotation signed by the old key, staff-approved resets, the keys' history

sealed-bid.md revision 2: an organisation's identity key is replaced only by a
sealed-bid-key-rotation/1 request signed by the current key, or by a reset that center staff
approve. Each key records how it came (registered, rotated, reset) and which key it
replaced; a rotated key keeps the signed request (its digest once only: no replay).
``bidder_key_resets`` holds the organisations' reset requests and the staff's decisions.

Existing keys were all registered by an account: ``how`` = 'registered'; where a later key
silently replaced an earlier one, ``replaces_key_id`` names it. Bids already name the key
they were submitted under (``bids.bidder_key_id``, NOT NULL since j1bids0000001): nothing
to backfill there.

Revision ID: bidkeys00001
Revises: w1bidpending1
Create Date: 2026-12-07 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "bidkeys00001"
down_revision: str | None = "w1bidpending1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bidder_keys", sa.Column("how", sa.String(length=16), server_default="registered", nullable=False))
    op.add_column("bidder_keys", sa.Column("replaces_key_id", sa.Integer(), nullable=True))
    op.add_column("bidder_keys", sa.Column("rotation", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("bidder_keys", sa.Column("rotation_sha256", sa.String(length=64), nullable=True))
    op.create_foreign_key(None, "bidder_keys", "bidder_keys", ["replaces_key_id"], ["id"])
    op.create_unique_constraint("bidder_keys_rotation_sha256_key", "bidder_keys", ["rotation_sha256"])
    # The history as it was: each later key of an organisation replaced the one before it.
    op.execute("""
        UPDATE bidder_keys k SET replaces_key_id = later.previous_id
        FROM (SELECT id, lag(id) OVER (PARTITION BY organisation_id ORDER BY id) AS previous_id FROM bidder_keys) AS later
        WHERE k.id = later.id AND later.previous_id IS NOT NULL""")
    op.create_check_constraint("bidder_keys_how_known", "bidder_keys", "how IN ('registered', 'rotated', 'reset')")
    op.create_check_constraint("bidder_keys_rotation_proved", "bidder_keys",
                               "(how = 'rotated') = (rotation IS NOT NULL AND rotation_sha256 IS NOT NULL)")
    op.create_check_constraint("bidder_keys_replacement_named", "bidder_keys",
                               "how = 'registered' OR replaces_key_id IS NOT NULL")

    op.create_table(
        "bidder_key_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("replaced_key_id", sa.Integer(), nullable=False),
        sa.Column("new_verify_key", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("new_key_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused', 'cancelled')",
                           name="bidder_key_resets_status_known"),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="bidder_key_resets_decided_has_time"),
        sa.CheckConstraint("(status = 'approved') = (new_key_id IS NOT NULL)",
                           name="bidder_key_resets_approved_has_key"),
        sa.ForeignKeyConstraint(["new_key_id"], ["bidder_keys.id"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["replaced_key_id"], ["bidder_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_bidder_key_resets_organisation_id"), "bidder_key_resets", ["organisation_id"],
                    unique=False)
    op.create_index("bidder_key_resets_one_pending", "bidder_key_resets", ["organisation_id"], unique=True,
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index("bidder_key_resets_one_pending", table_name="bidder_key_resets",
                  postgresql_where=sa.text("status = 'pending'"))
    op.drop_index(op.f("ix_bidder_key_resets_organisation_id"), table_name="bidder_key_resets")
    op.drop_table("bidder_key_resets")
    for name in ("bidder_keys_replacement_named", "bidder_keys_rotation_proved", "bidder_keys_how_known",
                 "bidder_keys_rotation_sha256_key"):
        op.drop_constraint(name, "bidder_keys")
    op.drop_constraint("bidder_keys_replaces_key_id_fkey", "bidder_keys", type_="foreignkey")
    for column in ("rotation_sha256", "rotation", "replaces_key_id", "how"):
        op.drop_column("bidder_keys", column)
