"""ledger: failed postings of business events are recorded (append-only); agreements: the commission
schedule's payment terms say what their days count from (back-filled: the end of the statement's month);
payout runs list the shares not yet due with their contract, terms and due date

Revision ID: a5d3e8f1c2b7
Revises: 9b4e1d7c2a68
Create Date: 2026-12-07 16:00:00
"""
import sqlalchemy as sa
from alembic import op

from core.migration_ops import allow_truncate, drop_append_only, make_append_only, refuse_truncate

revision = "a5d3e8f1c2b7"
down_revision = "9b4e1d7c2a68"
branch_labels = None
depends_on = None

BASIS = sa.Enum("statement_month_end", "premium_received", name="paymenttermsbasis", native_enum=False, length=32)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "ledger_posting_failures",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_ref", sa.String(length=64), nullable=False),
        sa.Column("event_kind", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_posting_failures")),
    )
    op.create_index(op.f("ix_ledger_posting_failures_event_ref"), "ledger_posting_failures", ["event_ref"])
    make_append_only("ledger_posting_failures")
    refuse_truncate("ledger_posting_failures")

    with op.batch_alter_table("commission_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_terms_basis", BASIS, nullable=True))
    # the only basis agreements knew so far: a monthly statement, paid within the days after its month's end
    op.execute("UPDATE commission_rules SET payment_terms_basis = 'statement_month_end'")
    with op.batch_alter_table("commission_rules", schema=None) as batch_op:
        batch_op.alter_column("payment_terms_basis", existing_type=BASIS, nullable=False)

    with op.batch_alter_table("ledger_payout_exclusions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_number", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("term", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("payment_terms_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("payment_terms_basis", BASIS, nullable=True))
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))


def downgrade():
    # a run prepared with shares not yet due keeps its lines; the list of those shares goes with the columns
    op.execute("DELETE FROM ledger_payout_exclusions WHERE reason = 'not_yet_due'")
    with op.batch_alter_table("ledger_payout_exclusions", schema=None) as batch_op:
        for column in ("due_on", "payment_terms_basis", "payment_terms_days", "term", "policy_number"):
            batch_op.drop_column(column)
    with op.batch_alter_table("commission_rules", schema=None) as batch_op:
        batch_op.drop_column("payment_terms_basis")
    allow_truncate("ledger_posting_failures")
    drop_append_only("ledger_posting_failures")
    op.drop_index(op.f("ix_ledger_posting_failures_event_ref"), table_name="ledger_posting_failures")
    op.drop_table("ledger_posting_failures")
