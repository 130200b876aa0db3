"""agency pool: agencies, declared ties to tendering parties, ratings

Revision ID: c3agencypool1
Revises: 3ae8e8d8de4a
Create Date: 2026-11-22 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c3agencypool1"
down_revision: str | None = "3ae8e8d8de4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("qualification_level", sa.String(length=20), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("city", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="agencies_status_known"),
        sa.CheckConstraint("status = 'active' OR status_reason IS NOT NULL", name="agencies_status_reason_present"),
        sa.CheckConstraint("categories <@ ARRAY['construction', 'government_procurement', 'land_mining', "
                           "'state_property']::varchar[]", name="agencies_categories_known"),
        sa.CheckConstraint("cardinality(categories) > 0", name="agencies_categories_present"),
        sa.ForeignKeyConstraint(["city"], ["regions.code"]),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("organisation_id"),
    )
    op.create_index(op.f("ix_agencies_city"), "agencies", ["city"], unique=False)
    op.create_table(
        "agency_ties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("party_credit_code", sa.String(length=18), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("declared_by", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "party_credit_code", name="agency_ties_agency_party"),
    )
    op.create_index(op.f("ix_agency_ties_party_credit_code"), "agency_ties", ["party_credit_code"], unique=False)
    op.create_table(
        "agency_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(length=1000), nullable=False),
        sa.Column("rater", sa.String(length=200), nullable=False),
        sa.Column("rater_role", sa.String(length=32), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name="agency_ratings_score_range"),
        sa.CheckConstraint("rater_role IN ('tendering_party', 'supervisor')", name="agency_ratings_rater_role_known"),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "project_code", "rater", name="agency_ratings_once_per_rater"),
    )
    op.create_index(op.f("ix_agency_ratings_agency_id"), "agency_ratings", ["agency_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_agency_ratings_agency_id"), table_name="agency_ratings")
    op.drop_table("agency_ratings")
    op.drop_index(op.f("ix_agency_ties_party_credit_code"), table_name="agency_ties")
    op.drop_table("agency_ties")
    op.drop_index(op.f("ix_agencies_city"), table_name="agencies")
    op.drop_table("agencies")
