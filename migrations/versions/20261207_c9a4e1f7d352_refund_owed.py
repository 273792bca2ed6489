"""payments: a refund owed by hand (a cheque cannot be refunded through the provider), within the amount paid

Revision ID: c9a4e1f7d352
Revises: b6e2d9c4a810
Create Date: 2026-12-07 13:35:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c9a4e1f7d352"
down_revision = "b6e2d9c4a810"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_owed_minor", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_payments_refund_owed_within_amount"), "refund_owed_minor >= 0 AND refunded_minor + refund_owed_minor <= amount_minor")


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_payments_refund_owed_within_amount"), type_="check")
        batch_op.drop_column("refund_owed_minor")
