"""merge the lifecycle branches built side by side on 2026-11-22 into one head

Revision ID: q9merge000001
Revises: p1evaluation1, p2award000001, p3ledger000002, p4documents01, p6retender001, p7biddocs0001
Create Date: 2026-11-22 17:30:00+00:00

Later migrations follow this one.
"""

from collections.abc import Sequence

revision: str = "q9merge000001"
down_revision: str | Sequence[str] | None = (
    "p1evaluation1", "p2award000001", "p3ledger000002", "p4documents01", "p6retender001", "p7biddocs0001",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
