"""cheque payments recorded by staff: the cheque's number, the day it was received and who recorded it
(a payment of kind `cheque` has no provider intent)

Revision ID: e3b8f2a6c417
Revises: d4a7c1e9b250
Create Date: 2026-12-07 12:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e3b8f2a6c417"
down_revision = "d4a7c1e9b250"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cheque_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("recorded_by_id", ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_payments_recorded_by_id_users"), "users",
                                    ["recorded_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_payments_recorded_by_id_users"), type_="foreignkey")
        batch_op.drop_column("recorded_by_id")
        batch_op.drop_column("received_on")
        batch_op.drop_column("cheque_number")
