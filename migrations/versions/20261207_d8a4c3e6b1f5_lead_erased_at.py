"""leads: when the client's personal data was erased (an erasure request or the retention purge)

Revision ID: d8a4c3e6b1f5
Revises: c5f1a2b7d9e3
Create Date: 2026-12-07 14:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = "d8a4c3e6b1f5"
down_revision = "c5f1a2b7d9e3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("leads", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("erased_at")
