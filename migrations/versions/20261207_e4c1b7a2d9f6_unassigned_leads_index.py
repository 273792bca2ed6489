"""leads: a partial index on the unassigned ones (status, assignee, creation time, and the two columns that tell a conflict),
so the account manager's home counts and lists the unassigned queue from the index alone (found by bench/cases.py
on PostgreSQL at 50,000 leads: a bitmap heap scan of every received lead); and one on (firm, status, creation time),
so an introducer's home counts its referrals in progress by status, and finds the oldest, from the index alone

Revision ID: e4c1b7a2d9f6
Revises: b16c4e8a2f30
Create Date: 2026-12-07 19:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4c1b7a2d9f6'
down_revision = "b16c4e8a2f30"
branch_labels = None
depends_on = None

WHERE = sa.text("assigned_to_id IS NULL")


def upgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index('ix_leads_unassigned',
                              ['status', 'assigned_to_id', 'created_at', 'possible_duplicate_of_id',
                               'attribution_decided'],
                              unique=False, sqlite_where=WHERE, postgresql_where=WHERE)
        batch_op.create_index('ix_leads_org_status', ['organisation_id', 'status', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index('ix_leads_org_status')
        batch_op.drop_index('ix_leads_unassigned', sqlite_where=WHERE, postgresql_where=WHERE)
