"""partner onboarding: firm lifecycle, contacts, approaches; verified e-mail

Revision ID: d4e2f6a8b012
Revises: c3d1e5f7a901
Create Date: 2026-11-21 19:40:00

Firms that exist before this revision were created by an administrator before onboarding existed; they
stay 'applied' until approved and signed, like any new applicant.
"""
from alembic import op
import sqlalchemy as sa

revision = "d4e2f6a8b012"
down_revision = "c3d1e5f7a901"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lifecycle', sa.Enum('applied', 'under_review', 'approved', 'active', 'suspended', 'terminated', 'rejected', name='lifecycle', native_enum=False, length=32), server_default='applied', nullable=False))
        batch_op.add_column(sa.Column('company_number', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('cc_key_communications', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('data_sharing_approach', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('disclosure_approach', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_organisations_lifecycle'), ['lifecycle'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_lifecycle'))
        batch_op.drop_column('disclosure_approach')
        batch_op.drop_column('data_sharing_approach')
        batch_op.drop_column('cc_key_communications')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('company_number')
        batch_op.drop_column('lifecycle')
