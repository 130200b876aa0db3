"""bid documents: an opened bid keeps its content key sealed under the KEK for the committee

Revision ID: p7biddocs0001
Revises: n5shared00001
Create Date: 2026-11-22 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p7biddocs0001"
down_revision: str | None = "n5shared00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("opening_entries", sa.Column("sealed_content_key", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("opening_entries", "sealed_content_key")
