"""batch opening: a hand-in keeps K_b sealed under the KEK with its time until the batch opener runs

Revision ID: r1batchopen01
Revises: q9merge000001
Create Date: 2026-11-22 17:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r1batchopen01"
down_revision: str | Sequence[str] | None = "q9merge000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("opening_entries", sa.Column("handed_in_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("opening_entries", sa.Column("sealed_bidder_half", sa.LargeBinary(), nullable=True))
    op.create_check_constraint("opening_entries_bidder_half_pending", "opening_entries",
                               "sealed_bidder_half IS NULL OR state = 'pending'")
    op.create_check_constraint("opening_entries_hand_in_signed_in", "opening_entries",
                               "handed_in_at IS NULL OR signed_in_at IS NOT NULL")


def downgrade() -> None:
    op.drop_constraint("opening_entries_hand_in_signed_in", "opening_entries", type_="check")
    op.drop_constraint("opening_entries_bidder_half_pending", "opening_entries", type_="check")
    op.drop_column("opening_entries", "sealed_bidder_half")
    op.drop_column("opening_entries", "handed_in_at")
