"""leads: a required need category (back-filled "unspecified" for the leads referred before it); the free-text
need description becomes an optional short note

Revision ID: c1d79a0acfdf
Revises: 7c2d9e4b1a30
Create Date: 2026-12-07 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c1d79a0acfdf"
down_revision = "7c2d9e4b1a30"
branch_labels = None
depends_on = None

NEED_CATEGORY = sa.Enum("individual_expatriate", "family_relocation", "student", "retiree_abroad",
                        "small_business_team", "other", "unspecified", name="needcategory", native_enum=False,
                        length=32)


def upgrade():
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("need_category", NEED_CATEGORY, nullable=True))
    op.execute("UPDATE leads SET need_category = 'unspecified'")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("need_category", existing_type=NEED_CATEGORY, nullable=False)
        batch_op.alter_column("need_summary", existing_type=sa.String(length=500), nullable=True)


def downgrade():
    # the note was required before: a lead sent without one gets an empty note back
    op.execute("UPDATE leads SET need_summary = '' WHERE need_summary IS NULL")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.alter_column("need_summary", existing_type=sa.String(length=500), nullable=False)
        batch_op.drop_column("need_category")
