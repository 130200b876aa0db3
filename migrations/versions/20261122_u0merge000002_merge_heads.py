"""merge the portal, federation and committee-salt branches built side by side into one head

Revision ID: u0merge000002
Revises: s1public0001, s7federat001, t1avoidsalt01
Create Date: 2026-11-22 19:50:00+00:00
"""

from collections.abc import Sequence

revision: str = "u0merge000002"
down_revision: str | Sequence[str] | None = ("s1public0001", "s7federat001", "t1avoidsalt01")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
