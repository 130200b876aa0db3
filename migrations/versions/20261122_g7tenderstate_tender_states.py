"""tender states: suspension memory, documents and deadline, publicity start, next due time

Revision ID: g7tenderstate
Revises: f6registrat1
Create Date: 2026-11-22 22:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "g7tenderstate"
down_revision: str | None = "f6registrat1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("suspended_from", sa.String(length=32), nullable=True))
    op.add_column("projects", sa.Column("documents_issued_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("projects", sa.Column("bid_deadline", sa.DateTime(timezone=True), nullable=True))
    op.add_column("projects", sa.Column("publicity_started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("projects", sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_projects_next_due_at"), "projects", ["next_due_at"], unique=False)
    op.create_check_constraint("projects_suspended_remembers_state", "projects",
                               "(state = 'suspended') = (suspended_from IS NOT NULL)")


def downgrade() -> None:
    op.drop_constraint("projects_suspended_remembers_state", "projects", type_="check")
    op.drop_index(op.f("ix_projects_next_due_at"), table_name="projects")
    op.drop_column("projects", "next_due_at")
    op.drop_column("projects", "publicity_started_at")
    op.drop_column("projects", "bid_deadline")
    op.drop_column("projects", "documents_issued_at")
    op.drop_column("projects", "suspended_from")
