"""cross-border: the firms' host-state notifications (basis, day notified, day ended) and each case's cross-border
check (outcome on submission, who resolved it, when, with which note)

Revision ID: c7b2e4a9d015
Revises: d8a4c3e6b1f5
Create Date: 2026-12-07 13:48:43
"""
import sqlalchemy as sa
from alembic import op

revision = 'c7b2e4a9d015'
down_revision = 'd8a4c3e6b1f5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('host_state_notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('basis', sa.Enum('freedom_of_services', 'establishment', name='notificationbasis', native_enum=False, length=32), nullable=False),
    sa.Column('notified_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ended_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_host_state_notifications_ended_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_host_state_notifications_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_host_state_notifications_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_state_notifications')),
    sa.UniqueConstraint('public_id', name=op.f('uq_host_state_notifications_public_id'))
    )
    with op.batch_alter_table('host_state_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_state_notifications_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('case_cross_border_checks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outcome', sa.Enum('domestic', 'host_state_check', 'held', 'outside_eea', name='crossborderoutcome', native_enum=False, length=32), nullable=False),
    sa.Column('home_country', sa.String(length=2), nullable=False),
    sa.Column('client_country', sa.String(length=2), nullable=False),
    sa.Column('basis', sa.Enum('freedom_of_services', 'establishment', name='notificationbasis', native_enum=False, length=32), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_cross_border_checks_case_id_cases')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_case_cross_border_checks_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_cross_border_checks')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_cross_border_checks_case_id'))
    )
    with op.batch_alter_table('case_cross_border_checks', schema=None) as batch_op:
        batch_op.create_index('ix_case_cross_border_checks_open', ['outcome', 'resolved_at'], unique=False)



def downgrade():
    with op.batch_alter_table('case_cross_border_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_cross_border_checks_open')

    op.drop_table('case_cross_border_checks')
    with op.batch_alter_table('host_state_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_state_notifications_organisation_id'))

    op.drop_table('host_state_notifications')
