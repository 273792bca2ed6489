"""agreements, commission schedules, signatures and compliance reviews

Revision ID: e5f3a7b9c123
Revises: d4e2f6a8b012
Create Date: 2026-11-21 19:40:00

"""
from alembic import op
import sqlalchemy as sa

revision = "e5f3a7b9c123"
down_revision = "d4e2f6a8b012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agreements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('collaboration', 'introduction', name='agreementkind', native_enum=False, length=32), nullable=False),
    sa.Column('template_version', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Enum('draft', 'sent', 'partner_signed', 'countersigned', 'active', 'superseded', 'terminated', name='agreementstatus', native_enum=False, length=32), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('document_pdf', sa.LargeBinary(), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('sealed_pdf', sa.LargeBinary(), nullable=True),
    sa.Column('sealed_sha256', sa.String(length=64), nullable=True),
    sa.Column('sealed_with_timestamp', sa.Boolean(), nullable=False),
    sa.Column('seal_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Text(), nullable=True),
    sa.Column('recurring_approved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recurring_approval_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_agreements_created_by_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_agreements_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['recurring_approved_by_id'], ['users.id'], name=op.f('fk_agreements_recurring_approved_by_id_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['agreements.id'], name=op.f('fk_agreements_supersedes_id_agreements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('public_id', name=op.f('uq_agreements_public_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_agreements_reference')),
    sa.UniqueConstraint('sealed_sha256', name=op.f('uq_agreements_sealed_sha256'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agreements_status'), ['status'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('partner_status', 'recurring_introducer_commission', name='reviewkind', native_enum=False, length=40), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_ref', sa.String(length=64), nullable=True),
    sa.Column('decision', sa.Enum('approved', 'rejected', name='reviewdecision', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reviewer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_reviews_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_reviews_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('public_id', name=op.f('uq_reviews_public_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('commission_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_line', sa.Enum('individual', 'family', 'sme', 'corporate', name='productline', native_enum=False, length=32), nullable=False),
    sa.Column('first_year_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('renewal_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('one_off_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('clawback_days', sa.Integer(), nullable=False),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.CheckConstraint('clawback_days >= 0 AND payment_terms_days >= 0', name=op.f('ck_commission_rules_days_positive')),
    sa.CheckConstraint('first_year_rate >= 0 AND first_year_rate <= 1', name=op.f('ck_commission_rules_first_year_rate_range')),
    sa.CheckConstraint('one_off_fee_minor >= 0', name=op.f('ck_commission_rules_one_off_fee_positive')),
    sa.CheckConstraint('renewal_rate >= 0 AND renewal_rate <= 1', name=op.f('ck_commission_rules_renewal_rate_range')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_commission_rules_agreement_id_agreements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_rules')),
    sa.UniqueConstraint('agreement_id', 'product_line', name=op.f('uq_commission_rules_agreement_id_product_line'))
    )
    with op.batch_alter_table('commission_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_rules_agreement_id'), ['agreement_id'], unique=False)

    op.create_table('signatures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party', sa.Enum('partner', 'broker', name='signerparty', native_enum=False, length=16), nullable=False),
    sa.Column('typed_name', sa.String(length=255), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=512), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_signatures_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
    sa.UniqueConstraint('agreement_id', 'party', name=op.f('uq_signatures_agreement_id_party')),
    sa.UniqueConstraint('agreement_id', 'user_id', name=op.f('uq_signatures_agreement_id_user_id'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_agreement_id'), ['agreement_id'], unique=False)


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_agreement_id'))

    op.drop_table('signatures')
    with op.batch_alter_table('commission_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commission_rules_agreement_id'))

    op.drop_table('commission_rules')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_organisation_id'))

    op.drop_table('reviews')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_status'))
        batch_op.drop_index(batch_op.f('ix_agreements_organisation_id'))

    op.drop_table('agreements')
