"""cases: the adviser of record (the broker, or the partner firm within its licence), which the collaboration
agreement names; existing cases of specialist brokers were advised by the partner, all others by the broker

Revision ID: a9c3e5f7b214
Revises: c4e9a7b2d310
Create Date: 2026-12-07 16:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a9c3e5f7b214"
down_revision = "c4e9a7b2d310"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("cases", sa.Column("adviser", sa.Enum("broker", "partner", name="adviser", native_enum=False,
                                                        length=16), server_default="broker", nullable=False))
    op.execute("UPDATE cases SET adviser = 'partner' WHERE organisation_id IN "
               "(SELECT id FROM organisations WHERE status = 'specialist_broker')")


def downgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("adviser")
