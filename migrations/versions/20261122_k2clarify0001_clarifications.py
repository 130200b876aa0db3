"""clarifications: bidders' questions on the tender documents and the clarifications answering them

Revision ID: k2clarify0001
Revises: g7tenderstate
Create Date: 2026-11-22 22:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k2clarify0001"
down_revision: str | None = "g7tenderstate"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clarifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_after", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcements.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_clarifications_project_id"), "clarifications", ["project_id"], unique=False)
    op.create_table(
        "clarification_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("public_number", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("bidder_organisation_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_by", sa.String(length=200), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["answered_by"], ["clarifications.id"]),
        sa.ForeignKeyConstraint(["bidder_organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "public_number", name="clarification_questions_number_unique"),
    )
    op.create_index(op.f("ix_clarification_questions_project_id"), "clarification_questions", ["project_id"],
                    unique=False)
    op.create_index(op.f("ix_clarification_questions_bidder_organisation_id"), "clarification_questions",
                    ["bidder_organisation_id"], unique=False)
    op.create_index(op.f("ix_clarification_questions_answered_by"), "clarification_questions", ["answered_by"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_clarification_questions_answered_by"), table_name="clarification_questions")
    op.drop_index(op.f("ix_clarification_questions_bidder_organisation_id"), table_name="clarification_questions")
    op.drop_index(op.f("ix_clarification_questions_project_id"), table_name="clarification_questions")
    op.drop_table("clarification_questions")
    op.drop_index(op.f("ix_clarifications_project_id"), table_name="clarifications")
    op.drop_table("clarifications")
