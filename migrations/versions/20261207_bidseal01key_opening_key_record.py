"""tender_opening_keys: the signed opening key record (sealed-bid-opening-key/1, revision 2)

``published_at`` is the record's time, backfilled for keys made before from the row's
``created_at``; ``record_signature`` is the center's signature made with the key (NULL for
those earlier keys, which are signed when read).

Revision ID: bidseal01key
Revises: w1bidpending1
Create Date: 2026-12-07 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bidseal01key"
down_revision: str | None = "w1bidpending1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tender_opening_keys", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE tender_opening_keys SET published_at = created_at")
    op.alter_column("tender_opening_keys", "published_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.add_column("tender_opening_keys", sa.Column("record_signature", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("tender_opening_keys", "record_signature")
    op.drop_column("tender_opening_keys", "published_at")
