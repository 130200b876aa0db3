"""tender document versions and objections to the tender documents

Revision ID: p4documents01
Revises: n5shared00001
Create Date: 2026-11-22 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p4documents01"
down_revision: str | None = "n5shared00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tender_document_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announcement_id", sa.Integer(), nullable=False),
        sa.Column("clarification_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("number >= 1", name="tender_document_versions_number_positive"),
        sa.CheckConstraint("size = octet_length(content)", name="tender_document_versions_size_is_length"),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcements.id"]),
        sa.ForeignKeyConstraint(["clarification_id"], ["clarifications.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="tender_document_versions_number_unique"),
    )
    op.create_index(op.f("ix_tender_document_versions_project_id"), "tender_document_versions", ["project_id"],
                    unique=False)
    op.create_table(
        "doc_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("public_number", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("bidder_organisation_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.String(length=200), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clarification_id", sa.Integer(), nullable=True),
        sa.Column("suspension_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["bidder_organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["clarification_id"], ["clarifications.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["registration_id"], ["registrations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "public_number", name="doc_objections_number_unique"),
    )
    op.create_index(op.f("ix_doc_objections_project_id"), "doc_objections", ["project_id"], unique=False)
    op.create_index(op.f("ix_doc_objections_bidder_organisation_id"), "doc_objections", ["bidder_organisation_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_doc_objections_bidder_organisation_id"), table_name="doc_objections")
    op.drop_index(op.f("ix_doc_objections_project_id"), table_name="doc_objections")
    op.drop_table("doc_objections")
    op.drop_index(op.f("ix_tender_document_versions_project_id"), table_name="tender_document_versions")
    op.drop_table("tender_document_versions")
