"""committees: expert draws for evaluation sessions, members and bookings

Revision ID: b3committees1
Revises: b2expertpool1
Create Date: 2026-11-22 14:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b3committees1"
down_revision: str | None = "b2expertpool1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "a1sealeddraw1"


def upgrade() -> None:
    # btree_gist lets one exclusion constraint mix "=" on an id with "&&" on a time range.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "committee_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=False),
        sa.Column("tendering_party_code", sa.String(length=18), nullable=False),
        sa.Column("agency_code", sa.String(length=18), nullable=True),
        sa.Column("bidder_codes", postgresql.ARRAY(sa.String(length=18)), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("representatives", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="committee_requests_window_ordered"),
        sa.CheckConstraint("status IN ('drawing', 'unsealed', 'cancelled')", name="committee_requests_status_known"),
        sa.ForeignKeyConstraint(["rule_set_id"], ["rule_sets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_committee_requests_project_code"), "committee_requests", ["project_code"], unique=False)
    op.create_index(op.f("ix_committee_requests_status"), "committee_requests", ["status"], unique=False)
    op.create_index(op.f("ix_committee_requests_tendering_party_code"), "committee_requests", ["tendering_party_code"],
                    unique=False)
    op.create_table(
        "committee_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("specialty_code", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("reserve_count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0 AND reserve_count >= 0", name="committee_groups_counts"),
        sa.ForeignKeyConstraint(["request_id"], ["committee_requests.id"]),
        sa.ForeignKeyConstraint(["specialty_code"], ["specialties.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_committee_groups_request_id"), "committee_groups", ["request_id"], unique=False)
    op.create_table(
        "committee_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.draw_id"]),
        sa.ForeignKeyConstraint(["group_id"], ["committee_groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draw_id"),
    )
    op.create_index(op.f("ix_committee_draws_group_id"), "committee_draws", ["group_id"], unique=False)
    op.create_table(
        "committee_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.String(length=40), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('reserve', 'invited', 'confirmed', 'declined', 'unavailable')",
                           name="committee_members_status_known"),
        sa.ForeignKeyConstraint(["draw_id"], ["draws.draw_id"]),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["committee_groups.id"]),
        sa.ForeignKeyConstraint(["request_id"], ["committee_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_committee_members_expert_id"), "committee_members", ["expert_id"], unique=False)
    op.create_index(op.f("ix_committee_members_group_id"), "committee_members", ["group_id"], unique=False)
    op.create_index(op.f("ix_committee_members_request_id"), "committee_members", ["request_id"], unique=False)
    op.create_table(
        "expert_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("during", postgresql.TSTZRANGE(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        postgresql.ExcludeConstraint((sa.column("expert_id"), "="), (sa.column("during"), "&&"),
                                     where=sa.text("released_at IS NULL"), using="gist",
                                     name="expert_bookings_no_overlap"),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["committee_members.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id"),
    )
    op.create_index(op.f("ix_expert_bookings_expert_id"), "expert_bookings", ["expert_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_expert_bookings_expert_id"), table_name="expert_bookings")
    op.drop_table("expert_bookings")
    op.drop_index(op.f("ix_committee_members_request_id"), table_name="committee_members")
    op.drop_index(op.f("ix_committee_members_group_id"), table_name="committee_members")
    op.drop_index(op.f("ix_committee_members_expert_id"), table_name="committee_members")
    op.drop_table("committee_members")
    op.drop_index(op.f("ix_committee_draws_group_id"), table_name="committee_draws")
    op.drop_table("committee_draws")
    op.drop_index(op.f("ix_committee_groups_request_id"), table_name="committee_groups")
    op.drop_table("committee_groups")
    op.drop_index(op.f("ix_committee_requests_tendering_party_code"), table_name="committee_requests")
    op.drop_index(op.f("ix_committee_requests_status"), table_name="committee_requests")
    op.drop_index(op.f("ix_committee_requests_project_code"), table_name="committee_requests")
    op.drop_table("committee_requests")
