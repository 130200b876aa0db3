"""rooms: the center's opening and evaluation rooms and their bookings (统一设施配备)

Revision ID: h8rooms00001
Revises: 3ae8e8d8de4a
Create Date: 2026-11-22 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "h8rooms00001"
down_revision: str | None = "3ae8e8d8de4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # btree_gist lets one exclusion constraint mix "=" on an id with "&&" on a time range.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('opening', 'evaluation')", name="rooms_kind_known"),
        sa.CheckConstraint("capacity > 0", name="rooms_capacity_positive"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_rooms_kind"), "rooms", ["kind"], unique=False)
    op.create_table(
        "room_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("project_code", sa.String(length=40), nullable=False),
        sa.Column("during", postgresql.TSTZRANGE(), nullable=False),
        sa.Column("booked_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=200), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        postgresql.ExcludeConstraint((sa.column("room_id"), "="), (sa.column("during"), "&&"),
                                     where=sa.text("cancelled_at IS NULL"), using="gist",
                                     name="room_bookings_no_overlap"),
        sa.CheckConstraint("NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during) "
                           "AND NOT lower_inf(during) AND NOT upper_inf(during)", name="room_bookings_during_bounded"),
        sa.CheckConstraint("(cancelled_at IS NULL) = (cancel_reason IS NULL)", name="room_bookings_cancel_has_reason"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_room_bookings_room_id"), "room_bookings", ["room_id"], unique=False)
    op.create_index(op.f("ix_room_bookings_project_code"), "room_bookings", ["project_code"], unique=False)


def downgrade() -> None:
    # btree_gist stays: other revisions (committees) may use it.
    op.drop_index(op.f("ix_room_bookings_project_code"), table_name="room_bookings")
    op.drop_index(op.f("ix_room_bookings_room_id"), table_name="room_bookings")
    op.drop_table("room_bookings")
    op.drop_index(op.f("ix_rooms_kind"), table_name="rooms")
    op.drop_table("rooms")
