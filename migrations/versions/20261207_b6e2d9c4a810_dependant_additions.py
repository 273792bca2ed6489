"""dependants added to a cover in force: the amendment (covered from, monthly premium added, charged pro rata,
the certificate it replaced)

Revision ID: b6e2d9c4a810
Revises: e3b8f2a6c417
Create Date: 2026-12-07 13:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b6e2d9c4a810"
down_revision = "e3b8f2a6c417"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "dependant_additions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("dependant_id", ID, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("covered_from", sa.Date(), nullable=False),
        sa.Column("billed_from", sa.String(length=7), nullable=False),
        sa.Column("monthly_minor", sa.Integer(), nullable=False),
        sa.Column("charged_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("payment_id", ID, nullable=True),
        sa.Column("replaced_certificate_sha256", sa.String(length=64), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", ID, nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name=op.f("fk_dependant_additions_subscription_id_subscriptions")),
        sa.ForeignKeyConstraint(["dependant_id"], ["volunteer_dependants.id"],
                                name=op.f("fk_dependant_additions_dependant_id_volunteer_dependants")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_dependant_additions_payment_id_payments")),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_messages.id"],
                                name=op.f("fk_dependant_additions_message_id_outbox_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dependant_additions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_dependant_additions_public_id")),
        sa.UniqueConstraint("dependant_id", name=op.f("uq_dependant_additions_dependant_id")),
        sa.UniqueConstraint("subscription_id", "fingerprint",
                            name=op.f("uq_dependant_additions_subscription_id_fingerprint")),
    )
    with op.batch_alter_table("dependant_additions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dependant_additions_subscription_id"), ["subscription_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dependant_additions_replaced_certificate_sha256"),
                              ["replaced_certificate_sha256"], unique=False)


def downgrade():
    with op.batch_alter_table("dependant_additions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dependant_additions_replaced_certificate_sha256"))
        batch_op.drop_index(batch_op.f("ix_dependant_additions_subscription_id"))
    op.drop_table("dependant_additions")
