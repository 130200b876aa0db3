"""suspensions: when the current one began, so that a resume gives bidders the paused time back

Revision ID: r2suspended01
Revises: r1batchopen01
Create Date: 2026-11-22 17:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r2suspended01"
down_revision: str | None = "r1batchopen01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "suspended_at")
