"""data subjects' erasures: each request (who, when, the pseudonym, counts) and the records kept under a legal
duty instead (restricted, with the reason and the day the duty ends)

Revision ID: c5f1a2b7d9e3
Revises: b3e8d61f0a27
Create Date: 2026-12-07 14:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = "c5f1a2b7d9e3"
down_revision = "b3e8d61f0a27"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "erasure_requests",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", BIGINT, nullable=True),
        sa.Column("pseudonym", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_erasure_requests_requested_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
        sa.UniqueConstraint("public_id", name=op.f("uq_erasure_requests_public_id")),
        sa.UniqueConstraint("pseudonym", name=op.f("uq_erasure_requests_pseudonym")),
    )
    op.create_table(
        "erasure_restrictions",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erasure_id", BIGINT, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("keep_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["erasure_id"], ["erasure_requests.id"],
                                name=op.f("fk_erasure_restrictions_erasure_id_erasure_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_restrictions")),
    )
    op.create_index(op.f("ix_erasure_restrictions_erasure_id"), "erasure_restrictions", ["erasure_id"])
    op.create_index(op.f("ix_erasure_restrictions_ref"), "erasure_restrictions", ["ref"])


def downgrade():
    op.drop_index(op.f("ix_erasure_restrictions_ref"), table_name="erasure_restrictions")
    op.drop_index(op.f("ix_erasure_restrictions_erasure_id"), table_name="erasure_restrictions")
    op.drop_table("erasure_restrictions")
    op.drop_table("erasure_requests")
