"""re-tendering: a project may name the failed or terminated project it re-tenders

Revision ID: p6retender001
Revises: n5shared00001
Create Date: 2026-11-22 16:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p6retender001"
down_revision: str | None = "n5shared00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("retender_of_id", sa.Integer(), nullable=True))
    op.create_foreign_key("projects_retender_of_id_fkey", "projects", "projects", ["retender_of_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint("projects_retender_of_id_fkey", "projects", type_="foreignkey")
    op.drop_column("projects", "retender_of_id")
