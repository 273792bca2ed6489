"""tamper evidence: TRUNCATE refused on append-only tables (PostgreSQL); audit events record their chain key

TRUNCATE fires no row trigger, so on PostgreSQL it emptied audit_events or the ledger past the append-only
triggers. A statement-level trigger now refuses it on every append-only table, on the audit head and on the
ledger's accounts. SQLite has no TRUNCATE (its DELETE triggers already refuse).

Audit events are now chained with an HMAC under a key kept outside the database (`AUDIT_HMAC_KEYS`); each event
records the id of the key it was chained with. The events already in the database were chained with plain
SHA-256: they get the key id `sha256-legacy`, and the first keyed event anchors their last hash (see
core/audit.py for how `audit verify` treats them).

Revision ID: 7604ef52b87a
Revises: c1d79a0acfdf
Create Date: 2026-12-07 10:00:00
"""
from alembic import op
import sqlalchemy as sa

from core.migration_ops import (TRUNCATE_FUNCTION, allow_truncate, create_truncate_refusal_function,
                                refuse_truncate)

revision = "7604ef52b87a"
down_revision = "c1d79a0acfdf"
branch_labels = None
depends_on = None

NO_TRUNCATE = ("audit_events", "audit_head", "ledger_accounts", "ledger_entries", "ledger_postings",
               "ledger_event_outcomes", "ledger_insurer_rates", "business_events", "milestones", "cc_logs",
               "consents", "consent_withdrawals")
LEGACY = "sha256-legacy"


def upgrade():
    create_truncate_refusal_function()
    for table in NO_TRUNCATE:
        refuse_truncate(table)
    # a plain ADD COLUMN: SQLite's batch mode would rebuild the table and drop its append-only triggers
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=32), nullable=False,
                                            server_default=LEGACY))
    if op.get_bind().dialect.name == "postgresql":
        # new events always name their key; only the rows already there are legacy
        op.alter_column("audit_events", "key_id", server_default=None)


def downgrade():
    # events chained with a key cannot be re-chained with plain SHA-256 here: downgrading leaves them
    # unverifiable by the older code (fine for a development database, not for production)
    op.drop_column("audit_events", "key_id")
    for table in NO_TRUNCATE:
        allow_truncate(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION {TRUNCATE_FUNCTION}()")
