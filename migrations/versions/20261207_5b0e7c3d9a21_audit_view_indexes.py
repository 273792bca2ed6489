"""audit view indexes: each filter of the audit log (action, actor, kind of record, record, dates) in seq order

The audit view pages newest first by seq under a filter; an index on (filter, seq) makes a page a short range
scan with a million events. The single-column indexes on action, actor_id and subject_id they replace are
prefixes of the new ones (the actor index still serves the foreign key). Plain CREATE/DROP INDEX: SQLite's batch
mode would rebuild the table and drop its append-only triggers.

Revision ID: 5b0e7c3d9a21
Revises: e7b2c4d9a615
Create Date: 2026-12-07 13:20:00
"""
from alembic import op

revision = "5b0e7c3d9a21"
down_revision = 'e7b2c4d9a615'
branch_labels = None
depends_on = None

NEW = {
    "ix_audit_events_action_seq": ["action", "seq"],
    "ix_audit_events_actor_id_seq": ["actor_id", "seq"],
    "ix_audit_events_subject_type_seq": ["subject_type", "seq"],
    "ix_audit_events_subject_seq": ["subject_type", "subject_id", "seq"],
    "ix_audit_events_occurred_at": ["occurred_at"],
}
OLD = {
    "ix_audit_events_action": ["action"],
    "ix_audit_events_actor_id": ["actor_id"],
    "ix_audit_events_subject_id": ["subject_id"],
}


def upgrade():
    for name, columns in NEW.items():
        op.create_index(name, "audit_events", columns)
    for name in OLD:
        op.drop_index(name, table_name="audit_events")


def downgrade():
    for name, columns in OLD.items():
        op.create_index(name, "audit_events", columns)
    for name in NEW:
        op.drop_index(name, table_name="audit_events")
