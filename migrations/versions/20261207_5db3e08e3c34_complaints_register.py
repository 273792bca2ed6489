"""complaints register: complaints (deadlines fixed at receipt, owner, answer, mediation information) and the
reminders sent about them (one of each kind per complaint)

Revision ID: 5db3e08e3c34
Revises: f1a7c3e9b2d4
Create Date: 2026-12-07 13:08:48.083611

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5db3e08e3c34'
down_revision = 'f1a7c3e9b2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.Enum('web_form', 'email', 'phone', 'letter', name='complaintchannel', native_enum=False, length=16), nullable=False),
    sa.Column('complainant_kind', sa.Enum('client', 'partner', 'volunteer', name='complainantkind', native_enum=False, length=16), nullable=False),
    sa.Column('complainant_name', sa.String(length=200), nullable=False),
    sa.Column('complainant_email', sa.String(length=254), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('category', sa.Enum('advice', 'information', 'service', 'claims', 'premium', 'cancellation', 'data_protection', 'other', name='complaintcategory', native_enum=False, length=24), nullable=False),
    sa.Column('product_line', sa.Enum('individual', 'family', 'sme', 'corporate', 'volunteer_health_topup', 'volunteer_prevoyance_topup', name='productline', native_enum=False, length=32), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('concerns_kind', sa.String(length=32), nullable=True),
    sa.Column('concerns_ref', sa.String(length=64), nullable=True),
    sa.Column('concerns_label', sa.String(length=200), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('acknowledge_due', sa.Date(), nullable=False),
    sa.Column('answer_due', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('received', 'acknowledged', 'answered', 'closed', name='complaintstate', native_enum=False, length=16), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lodged_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('mediation_info', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_complaints_contract_id_contracts')),
    sa.ForeignKeyConstraint(['lodged_by_id'], ['users.id'], name=op.f('fk_complaints_lodged_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_complaints_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_complaints_owner_id_users')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_complaints_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('public_id', name=op.f('uq_complaints_public_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_complaints_reference'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_complaints_state_received_on', ['state', 'received_on'], unique=False)

    op.create_table('complaint_reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('complaint_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('acknowledge_soon', 'acknowledge_overdue', 'answer_soon', 'answer_overdue', name='reminderkind', native_enum=False, length=24), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_reminders_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_reminders')),
    sa.UniqueConstraint('complaint_id', 'kind', name=op.f('uq_complaint_reminders_complaint_id_kind'))
    )


def downgrade():
    op.drop_table('complaint_reminders')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_state_received_on')
        batch_op.drop_index(batch_op.f('ix_complaints_owner_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_contract_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_category'))

    op.drop_table('complaints')
