"""expert pool: specialty taxonomy, experts, specialties, leave, declared conflicts, ratings

Revision ID: b2expertpool1
Revises: 3ae8e8d8de4a
Create Date: 2026-11-22 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b2expertpool1"
down_revision: str | None = "3ae8e8d8de4a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('specialties',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_code', sa.String(length=16), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.CheckConstraint('level >= 1', name='specialties_level_positive'),
    sa.ForeignKeyConstraint(['parent_code'], ['specialties.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_index(op.f('ix_specialties_parent_code'), 'specialties', ['parent_code'], unique=False)
    op.create_table('experts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('employer_credit_code', sa.String(length=18), nullable=False),
    sa.Column('employer_name', sa.String(length=200), nullable=True),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=16), nullable=False),
    sa.Column('years_in_field', sa.Integer(), nullable=False),
    sa.Column('city_code', sa.String(length=6), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='active', nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('next_review_due', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended', 'retired', 'under_review')", name='experts_status_known'),
    sa.CheckConstraint("title IN ('正高级', '副高级', '中级', '初级')", name='experts_title_known'),
    sa.CheckConstraint('years_in_field >= 0', name='experts_years_not_negative'),
    sa.ForeignKeyConstraint(['employer_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('id_number')
    )
    op.create_index(op.f('ix_experts_city_code'), 'experts', ['city_code'], unique=False)
    op.create_index(op.f('ix_experts_employer_credit_code'), 'experts', ['employer_credit_code'], unique=False)
    op.create_index(op.f('ix_experts_next_review_due'), 'experts', ['next_review_due'], unique=False)
    op.create_table('expert_conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('expert_id', 'credit_code', name='expert_conflicts_once_per_organisation')
    )
    op.create_index(op.f('ix_expert_conflicts_credit_code'), 'expert_conflicts', ['credit_code'], unique=False)
    op.create_index(op.f('ix_expert_conflicts_expert_id'), 'expert_conflicts', ['expert_id'], unique=False)
    op.create_table('expert_leaves',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), server_default=sa.text("''"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name='expert_leaves_ends_after_start'),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_expert_leaves_expert_id'), 'expert_leaves', ['expert_id'], unique=False)
    op.create_table('expert_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('project_code', sa.String(length=40), nullable=False),
    sa.Column('rater_user_id', sa.Integer(), nullable=False),
    sa.Column('rater_role', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=1000), server_default=sa.text("''"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("rater_role IN ('tendering_party', 'supervisor')", name='expert_ratings_rater_role_known'),
    sa.CheckConstraint('score BETWEEN 0 AND 100', name='expert_ratings_score_range'),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rater_user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('expert_id', 'project_code', 'rater_user_id', name='expert_ratings_once_per_rater')
    )
    op.create_index(op.f('ix_expert_ratings_expert_id'), 'expert_ratings', ['expert_id'], unique=False)
    op.create_index(op.f('ix_expert_ratings_project_code'), 'expert_ratings', ['project_code'], unique=False)
    op.create_table('expert_specialties',
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('specialty_code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['specialty_code'], ['specialties.code'], ),
    sa.PrimaryKeyConstraint('expert_id', 'specialty_code')
    )
    op.create_index(op.f('ix_expert_specialties_specialty_code'), 'expert_specialties', ['specialty_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_expert_specialties_specialty_code'), table_name='expert_specialties')
    op.drop_table('expert_specialties')
    op.drop_index(op.f('ix_expert_ratings_project_code'), table_name='expert_ratings')
    op.drop_index(op.f('ix_expert_ratings_expert_id'), table_name='expert_ratings')
    op.drop_table('expert_ratings')
    op.drop_index(op.f('ix_expert_leaves_expert_id'), table_name='expert_leaves')
    op.drop_table('expert_leaves')
    op.drop_index(op.f('ix_expert_conflicts_expert_id'), table_name='expert_conflicts')
    op.drop_index(op.f('ix_expert_conflicts_credit_code'), table_name='expert_conflicts')
    op.drop_table('expert_conflicts')
    op.drop_index(op.f('ix_experts_next_review_due'), table_name='experts')
    op.drop_index(op.f('ix_experts_employer_credit_code'), table_name='experts')
    op.drop_index(op.f('ix_experts_city_code'), table_name='experts')
    op.drop_table('experts')
    op.drop_index(op.f('ix_specialties_parent_code'), table_name='specialties')
    op.drop_table('specialties')
