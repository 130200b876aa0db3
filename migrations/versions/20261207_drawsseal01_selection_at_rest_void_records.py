"""draws: the selection at rest, signed void records, who witnesses an agency draw

sealed-draw/1 revision 2, step 7 ("Seal"): before the reveal no table holds a draw's
selected codes, their order or the reserves in clear. Committee members are now only the
experts already called, without rank: the ``rank`` column goes, and so do the rows of
experts merely held in reserve (their order stays in the draw's encrypted result, and in
the reveal record once revealed).

A void is a signed ``sealed-draw-void/1`` record (``void_record``, ``void_signature``);
draws voided before this revision get theirs when first read (made from the stored facts).
``witness_asked_by``: the tendering party asked a supervisor to witness its agency draw.

Revision ID: drawsseal01
Revises: w1bidpending1
Create Date: 2026-12-07 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "drawsseal01"
down_revision: str | None = "w1bidpending1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("draws", sa.Column("void_record", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("draws", sa.Column("void_signature", sa.String(length=128), nullable=True))
    op.add_column("draws", sa.Column("witness_asked_by", sa.String(length=200), nullable=True))
    # Reserves never called: known from the sealed result (and the reveal record), not from a row.
    op.execute("DELETE FROM committee_members WHERE status = 'reserve'")
    op.drop_constraint("committee_members_status_known", "committee_members", type_="check")
    op.create_check_constraint("committee_members_status_known", "committee_members",
                               "status IN ('invited', 'confirmed', 'declined', 'unavailable')")
    op.drop_column("committee_members", "rank")


def downgrade() -> None:
    # The reserves deleted on upgrade are not restored (only the encrypted results hold them).
    op.add_column("committee_members", sa.Column("rank", sa.Integer(), nullable=True))
    op.execute("UPDATE committee_members m SET rank = n.rank FROM "
               "(SELECT id, row_number() OVER (PARTITION BY group_id ORDER BY id) - 1 AS rank "
               "FROM committee_members) n WHERE n.id = m.id")
    op.alter_column("committee_members", "rank", existing_type=sa.Integer(), nullable=False)
    op.drop_constraint("committee_members_status_known", "committee_members", type_="check")
    op.create_check_constraint("committee_members_status_known", "committee_members",
                               "status IN ('reserve', 'invited', 'confirmed', 'declined', 'unavailable')")
    op.drop_column("draws", "witness_asked_by")
    op.drop_column("draws", "void_signature")
    op.drop_column("draws", "void_record")
