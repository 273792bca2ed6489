"""audit events are append-only in the database (trigger)

Revision ID: a1f3c9e2b7d4
Revises: e6c35d12c685
Create Date: 2026-11-21 19:10:00

The ORM refuses updates and deletes already; this refuses them for any SQL client too.
"""
from alembic import op

revision = "a1f3c9e2b7d4"
down_revision = "e6c35d12c685"
branch_labels = None
depends_on = None


SQLITE_TRIGGERS = {
    "audit_events_no_update": "BEFORE UPDATE",
    "audit_events_no_delete": "BEFORE DELETE",
}


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} ON audit_events "
                       "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
        return
    op.execute("""
        CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
    """)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
        return
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION refuse_audit_change()")
