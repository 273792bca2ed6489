"""review queue and compliance dashboard at scale (found by bench/compliance.py: 1,000,000 events, 100,000 cases):
audit events get an index on (action, time, seq), so the queue and the dashboard count and list one action's
recent events (the referrals refused by the health-data screen) from an index range, whatever the size of the log;
contract disclosures one on (firm, state) and disclosure reviews one on (decision, disclosure, time), so the
dashboard's per-firm counts and approval delays read indexes alone, and one on (state, submission time), so the
queue counts and lists the oldest awaiting review from an index; consent withdrawals one on their time, which
the queue lists them by

Revision ID: c4e9a7b2d310
Revises: b7e2d4c91f08
Create Date: 2026-12-07 16:20:00
"""
from alembic import op

revision = "c4e9a7b2d310"
down_revision = "b7e2d4c91f08"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_events_action_occurred_at", "audit_events", ["action", "occurred_at", "seq"],
                    unique=False)
    op.create_index("ix_contract_disclosures_org_state", "contract_disclosures", ["organisation_id", "state"],
                    unique=False)
    op.create_index("ix_contract_disclosures_state_submitted", "contract_disclosures", ["state", "submitted_at"],
                    unique=False)
    op.create_index(op.f("ix_consent_withdrawals_created_at"), "consent_withdrawals", ["created_at"], unique=False)
    op.create_index("ix_disclosure_reviews_decision", "disclosure_reviews", ["decision", "disclosure_id", "decided_at"],
                    unique=False)


def downgrade():
    op.drop_index("ix_disclosure_reviews_decision", table_name="disclosure_reviews")
    op.drop_index(op.f("ix_consent_withdrawals_created_at"), table_name="consent_withdrawals")
    op.drop_index("ix_contract_disclosures_state_submitted", table_name="contract_disclosures")
    op.drop_index("ix_contract_disclosures_org_state", table_name="contract_disclosures")
    op.drop_index("ix_audit_events_action_occurred_at", table_name="audit_events")
