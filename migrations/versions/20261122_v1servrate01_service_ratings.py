"""service ratings (好差评) of the center's own service steps

Revision ID: v1servrate01
Revises: u0merge000002
Create Date: 2026-11-22 20:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "v1servrate01"
down_revision: str | None = "u0merge000002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.String(length=500), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("grade IN ('good', 'fair', 'poor')", name="service_ratings_grade_known"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "step", "user_id", name="service_ratings_once"),
    )
    op.create_index(op.f("ix_service_ratings_project_id"), "service_ratings", ["project_id"], unique=False)
    op.create_index(op.f("ix_service_ratings_step"), "service_ratings", ["step"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_service_ratings_step"), table_name="service_ratings")
    op.drop_index(op.f("ix_service_ratings_project_id"), table_name="service_ratings")
    op.drop_table("service_ratings")
