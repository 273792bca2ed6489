"""compliance's review queue: who each waiting item is assigned to, and the notices marked reviewed (append-only)

Revision ID: e7b2c4d9a615
Revises: 5db3e08e3c34
Create Date: 2026-12-07 14:10:00
"""
import sqlalchemy as sa
from alembic import op

from core.migration_ops import allow_truncate, drop_append_only, make_append_only, refuse_truncate

revision = "e7b2c4d9a615"
down_revision = "5db3e08e3c34"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "review_queue_assignments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("assignee_id", ID, nullable=False),
        sa.Column("assigned_by_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_review_queue_assignments_assignee_id_users")),
        sa.ForeignKeyConstraint(["assigned_by_id"], ["users.id"],
                                name=op.f("fk_review_queue_assignments_assigned_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queue_assignments")),
        sa.UniqueConstraint("kind", "ref", name=op.f("uq_review_queue_assignments_kind_ref")),
    )
    with op.batch_alter_table("review_queue_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_queue_assignments_assignee_id"), ["assignee_id"], unique=False)
    op.create_table(
        "review_queue_reviews",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("reviewer_id", ID, nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_review_queue_reviews_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_queue_reviews")),
        sa.UniqueConstraint("kind", "ref", name=op.f("uq_review_queue_reviews_kind_ref")),
        sa.UniqueConstraint("public_id", name=op.f("uq_review_queue_reviews_public_id")),
    )
    make_append_only("review_queue_reviews")
    refuse_truncate("review_queue_reviews")


def downgrade():
    allow_truncate("review_queue_reviews")
    drop_append_only("review_queue_reviews")
    op.drop_table("review_queue_reviews")
    with op.batch_alter_table("review_queue_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_queue_assignments_assignee_id"))
    op.drop_table("review_queue_assignments")
