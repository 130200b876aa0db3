"""evaluation: schemes, experts' signing keys, sessions per round, members, bids, reviews, scores

Revision ID: p1evaluation1
Revises: n5shared00001
Create Date: 2026-11-22 17:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "p1evaluation1"
down_revision: str | None = "n5shared00001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("evaluation_scores", "evaluation_reviews", "evaluation_bids", "evaluation_members", "evaluation_sessions",
          "expert_signing_keys", "evaluation_schemes")


def upgrade() -> None:
    op.create_table('evaluation_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('scheme', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('set_by', sa.String(length=200), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id')
    )
    op.create_table('expert_signing_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('verify_key', sa.String(length=64), nullable=False),
    sa.Column('registered_by', sa.String(length=200), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('expert_signing_keys_one_active', 'expert_signing_keys', ['expert_id'], unique=True, postgresql_where=sa.text('revoked_at IS NULL'))
    op.create_index(op.f('ix_expert_signing_keys_expert_id'), 'expert_signing_keys', ['expert_id'], unique=False)
    op.create_table('evaluation_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('committee_request_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('scheme', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('max_candidates', sa.Integer(), nullable=False),
    sa.Column('max_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('chair_member_id', sa.Integer(), nullable=True),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('report_sha256', sa.String(length=64), nullable=True),
    sa.Column('report_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.CheckConstraint("stage IN ('chair', 'qualification', 'preliminary', 'detailed', 'report', 'completed')", name='evaluation_sessions_stage_known'),
    sa.ForeignKeyConstraint(['committee_request_id'], ['committee_requests.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'round', name='evaluation_sessions_round_once')
    )
    op.create_index(op.f('ix_evaluation_sessions_project_id'), 'evaluation_sessions', ['project_id'], unique=False)
    op.create_table('evaluation_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('expert_code', sa.String(length=12), nullable=False),
    sa.Column('expert_name', sa.String(length=30), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('chair_vote', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signature', sa.String(length=128), nullable=True),
    sa.Column('signature_key_id', sa.String(length=16), nullable=True),
    sa.Column('dissent', sa.Text(), nullable=True),
    sa.Column('dissent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deemed_agreed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['evaluation_sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'expert_id', name='evaluation_members_once')
    )
    op.create_index(op.f('ix_evaluation_members_session_id'), 'evaluation_members', ['session_id'], unique=False)
    op.create_table('evaluation_bids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('bidder_credit_code', sa.String(length=18), nullable=False),
    sa.Column('bidder_name', sa.String(length=200), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=True),
    sa.Column('bid_order', sa.Integer(), nullable=False),
    sa.Column('proposed_ground', sa.Integer(), nullable=True),
    sa.Column('proposed_reason', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rejected_stage', sa.String(length=16), nullable=True),
    sa.Column('ground', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('price_score', sa.String(length=16), nullable=True),
    sa.Column('final_score', sa.String(length=16), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('valid', 'rejected')", name='evaluation_bids_status_known'),
    sa.CheckConstraint('ground IS NULL OR ground BETWEEN 1 AND 7', name='evaluation_bids_ground_known'),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['evaluation_sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'bid_id', name='evaluation_bids_once')
    )
    op.create_index(op.f('ix_evaluation_bids_session_id'), 'evaluation_bids', ['session_id'], unique=False)
    op.create_table('evaluation_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_bid_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('verdict', sa.String(length=8), nullable=False),
    sa.Column('ground', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(verdict = 'reject') = (ground IS NOT NULL)", name='evaluation_reviews_reject_has_ground'),
    sa.CheckConstraint("verdict IN ('pass', 'reject')", name='evaluation_reviews_verdict_known'),
    sa.ForeignKeyConstraint(['evaluation_bid_id'], ['evaluation_bids.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['evaluation_members.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['evaluation_sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'evaluation_bid_id', 'stage', name='evaluation_reviews_once')
    )
    op.create_index(op.f('ix_evaluation_reviews_session_id'), 'evaluation_reviews', ['session_id'], unique=False)
    op.create_table('evaluation_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('evaluation_bid_id', sa.Integer(), nullable=False),
    sa.Column('scores', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_bid_id'], ['evaluation_bids.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['evaluation_members.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['evaluation_sessions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'evaluation_bid_id', name='evaluation_scores_once')
    )
    op.create_index(op.f('ix_evaluation_scores_session_id'), 'evaluation_scores', ['session_id'], unique=False)

def downgrade() -> None:
    for table in TABLES:  # indexes go with their tables
        op.drop_table(table)
