"""committee requests: the salt of the avoided bidders' digest (the bidders stay secret until the reveal)

Revision ID: t1avoidsalt01
Revises: r2suspended01
Create Date: 2026-11-22 19:50:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t1avoidsalt01"
down_revision: str | None = "r2suspended01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("committee_requests", sa.Column("bidders_salt", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("committee_requests", "bidders_salt")
