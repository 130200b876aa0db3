"""merge the branches built side by side on 2026-12-07 into one head

Revision ID: z9merge000003
Revises: bidkeys00001, bidseal01key, calendar01, drawsseal01
Create Date: 2026-12-07 21:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "z9merge000003"
down_revision: str | Sequence[str] | None = ("bidkeys00001", "bidseal01key", "calendar01", "drawsseal01")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
