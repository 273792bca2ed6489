"""ledger: journal entries keep one index on (kind, posting date) instead of three (kind; posting date; business
event reference). Every entry written updates every index of the table, and on PostgreSQL these three were a
sizeable part of what a single posting cost the server (issue 17). No reader selects entries by their business
event reference (it is read as a column, and the integrity check joins from it to the events' own index); the
readers that select by posting date select by kind as well (the commission report, the insurer's bordereau), which
the new index serves with one range; those selecting by kind alone use its leading column.

Revision ID: f3a9c1d7e5b2
Revises: c5d2e8f1a3b7
Create Date: 2026-12-07 22:40:00
"""
from alembic import op

revision = "f3a9c1d7e5b2"
down_revision = "c5d2e8f1a3b7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.create_index("ix_ledger_entries_kind_date", ["event_kind", "effective_date"], unique=False)
        batch_op.drop_index("ix_ledger_entries_event_kind")
        batch_op.drop_index("ix_ledger_entries_effective_date")
        batch_op.drop_index("ix_ledger_entries_event_ref")


def downgrade():
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.create_index("ix_ledger_entries_event_ref", ["event_ref"], unique=False)
        batch_op.create_index("ix_ledger_entries_effective_date", ["effective_date"], unique=False)
        batch_op.create_index("ix_ledger_entries_event_kind", ["event_kind"], unique=False)
        batch_op.drop_index("ix_ledger_entries_kind_date")
