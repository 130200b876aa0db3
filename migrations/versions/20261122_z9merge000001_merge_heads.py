"""merge the branches built side by side on 2026-11-22 into one head

Revision ID: z9merge000001
Revises: a2outbox00001, b3committees1, c4agencydraw1, h8rooms00001, j1bids0000001, k2clarify0001
Create Date: 2026-11-22 15:00:00+00:00

Later migrations follow this one, so `alembic upgrade head` works again.
"""

from collections.abc import Sequence

revision: str = "z9merge000001"
down_revision: str | Sequence[str] | None = (
    "a2outbox00001", "b3committees1", "c4agencydraw1", "h8rooms00001", "j1bids0000001", "k2clarify0001",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
