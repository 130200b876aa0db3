"""bids: a 'pending' status inside the storing transaction only (group commit)

A batch of bids is INSERTed as 'pending' before the tender's sequence lock (the ciphertexts,
the heavy part, go in side by side with other batches), then numbered, timed and receipted
under the lock. A deferred constraint trigger refuses any commit that leaves a bid pending,
so no other transaction ever sees one.

Revision ID: w1bidpending1
Revises: v1servrate01
Create Date: 2026-11-22 21:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "w1bidpending1"
down_revision: str | None = "v1servrate01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECEIPT_COLUMNS = {
    "sequence": sa.Integer(),
    "received_at": sa.DateTime(timezone=True),
    "receipt": postgresql.JSONB(astext_type=sa.Text()),
    "receipt_signature": sa.String(length=128),
    "receipt_key_id": sa.String(length=16),
}


def upgrade() -> None:
    op.drop_constraint("bids_status_known", "bids", type_="check")
    op.create_check_constraint("bids_status_known", "bids",
                               "status IN ('pending', 'submitted', 'superseded', 'withdrawn')")
    for column, type_ in RECEIPT_COLUMNS.items():
        op.alter_column("bids", column, existing_type=type_, nullable=True)
    op.create_check_constraint("bids_receipted_unless_pending", "bids",
                               "status = 'pending' OR (sequence IS NOT NULL AND received_at IS NOT NULL AND "
                               "receipt IS NOT NULL AND receipt_signature IS NOT NULL AND receipt_key_id IS NOT NULL)")
    op.execute("""
        CREATE FUNCTION bids_refuse_pending_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM bids WHERE id = NEW.id AND status = 'pending') THEN
                RAISE EXCEPTION 'bid % would be committed still pending', NEW.id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE CONSTRAINT TRIGGER bids_never_committed_pending AFTER INSERT OR UPDATE ON bids "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'pending') "
               "EXECUTE FUNCTION bids_refuse_pending_at_commit()")


def downgrade() -> None:
    op.execute("DROP TRIGGER bids_never_committed_pending ON bids")
    op.execute("DROP FUNCTION bids_refuse_pending_at_commit()")
    op.drop_constraint("bids_receipted_unless_pending", "bids", type_="check")
    for column, type_ in RECEIPT_COLUMNS.items():
        op.alter_column("bids", column, existing_type=type_, nullable=False)
    op.drop_constraint("bids_status_known", "bids", type_="check")
    op.create_check_constraint("bids_status_known", "bids", "status IN ('submitted', 'superseded', 'withdrawn')")
