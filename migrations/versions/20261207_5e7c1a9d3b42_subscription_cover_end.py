"""subscriptions follow the mission's end: the end the volunteer chose, closed when the mission ended first

Revision ID: 5e7c1a9d3b42
Revises: 82ece20acdf3
Create Date: 2026-12-07 11:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5e7c1a9d3b42'
down_revision = '82ece20acdf3'
branch_labels = None
depends_on = None

STATES = ('quoted', 'adhesion_started', 'signed', 'payment_pending', 'active', 'withdrawn', 'closed')


def upgrade():
    with op.batch_alter_table('subscriptions') as batch_op:
        batch_op.add_column(sa.Column('chosen_end_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_from', sa.Enum(*STATES, name='subscriptionstate', native_enum=False,
                                                             length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('subscriptions') as batch_op:
        batch_op.drop_column('closed_from')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('chosen_end_on')
