"""a cheque's bank, recorded with its number (cheques for later months of an active subscription)

Revision ID: b16c4e7a2d90
Revises: d507aca933dd
Create Date: 2026-12-07 19:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b16c4e7a2d90'
down_revision = 'd507aca933dd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cheque_bank', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('cheque_bank')
