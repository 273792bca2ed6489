"""outbox carries jobs (e.g. sealing) and attachments

Revision ID: c3d1e5f7a901
Revises: a1f3c9e2b7d4
Create Date: 2026-11-21 19:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = "c3d1e5f7a901"
down_revision = "a1f3c9e2b7d4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.Enum('email', 'job', name='outboxkind', native_enum=False, length=16), server_default='email', nullable=False))
        batch_op.add_column(sa.Column('job_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('attachment_ref', sa.String(length=128), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('attachment_ref')
        batch_op.drop_column('payload')
        batch_op.drop_column('job_name')
        batch_op.drop_column('kind')
