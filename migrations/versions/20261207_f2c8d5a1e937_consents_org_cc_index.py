"""consents: an index on (firm, consent to copies), so the compliance dashboard counts each firm's consents and
those allowing copies from the index alone; cases and leads: an index on their consent, which the review queue
reads from a consent withdrawn

Revision ID: f2c8d5a1e937
Revises: 5b0e7c3d9a21
Create Date: 2026-12-07 14:20:00
"""
from alembic import op

revision = "f2c8d5a1e937"
down_revision = "5b0e7c3d9a21"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_consents_org_cc", "consents", ["organisation_id", "cc_on_milestones"], unique=False)
    op.create_index(op.f("ix_cases_consent_id"), "cases", ["consent_id"], unique=False)
    op.create_index(op.f("ix_leads_consent_id"), "leads", ["consent_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_leads_consent_id"), table_name="leads")
    op.drop_index(op.f("ix_cases_consent_id"), table_name="cases")
    op.drop_index("ix_consents_org_cc", table_name="consents")
