"""activation: a subscription's first payment and accepted payment method (foreign keys), its certificate, and
the funnel's contracts placed by the system (no user)

Revision ID: d4a7c1e9b250
Revises: 5e7c1a9d3b42
Create Date: 2026-12-07 11:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d4a7c1e9b250"
down_revision = "5e7c1a9d3b42"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_payment_id", ID, nullable=True))
        batch_op.add_column(sa.Column("payment_method_id", ID, nullable=True))
        batch_op.add_column(sa.Column("method_accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("certificate_pdf", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("certificate_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("certificate_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("certificate_message_id", ID, nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_subscriptions_certificate_sha256"), ["certificate_sha256"])
        batch_op.create_foreign_key(batch_op.f("fk_subscriptions_first_payment_id_payments"), "payments",
                                    ["first_payment_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_subscriptions_payment_method_id_saved_payment_methods"),
                                    "saved_payment_methods", ["payment_method_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_subscriptions_certificate_message_id_outbox_messages"),
                                    "outbox_messages", ["certificate_message_id"], ["id"])
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.alter_column("placed_by_id", existing_type=ID, nullable=True)


def downgrade():
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.alter_column("placed_by_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_subscriptions_certificate_message_id_outbox_messages"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_subscriptions_payment_method_id_saved_payment_methods"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_subscriptions_first_payment_id_payments"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_subscriptions_certificate_sha256"), type_="unique")
        for column in ("certificate_message_id", "certificate_issued_at", "certificate_sha256", "certificate_pdf",
                       "activated_at", "paid_at", "method_accepted_at", "payment_method_id", "first_payment_id"):
            batch_op.drop_column(column)
