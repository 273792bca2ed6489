"""the broker's own disclosure: its effective-dated settings (append-only), each case's demands and needs
statement (versioned, append-only), the disclosure documents produced (append-only) and their deliveries

Revision ID: b7e2d4c91f08
Revises: c7b2e4a9d015
Create Date: 2026-12-07 13:42:05
"""
import sqlalchemy as sa
from alembic import op

from core.migration_ops import allow_truncate, drop_append_only, make_append_only, refuse_truncate

APPEND_ONLY = ("broker_disclosure_settings", "needs_statements", "broker_disclosure_documents")


# revision identifiers, used by Alembic.
revision = 'b7e2d4c91f08'
down_revision = 'c7b2e4a9d015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('broker_disclosure_settings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('legal_name', sa.String(length=255), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('register', sa.String(length=100), nullable=False),
    sa.Column('registration_number', sa.String(length=64), nullable=False),
    sa.Column('advice_basis', sa.Enum('fair_analysis', 'tied', 'neither', name='advicebasis', native_enum=False, length=16), nullable=False),
    sa.Column('insurers', sa.JSON(), nullable=False),
    sa.Column('holdings', sa.JSON(), nullable=False),
    sa.Column('complaints_procedure', sa.Text(), nullable=False),
    sa.Column('mediation_procedure', sa.Text(), nullable=False),
    sa.Column('published_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_broker_disclosure_settings_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_disclosure_settings')),
    sa.UniqueConstraint('public_id', name=op.f('uq_broker_disclosure_settings_public_id'))
    )
    with op.batch_alter_table('broker_disclosure_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broker_disclosure_settings_effective_from'), ['effective_from'], unique=False)

    op.create_table('needs_statements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('budget_minor', sa.Integer(), nullable=False),
    sa.Column('budget_currency', sa.String(length=3), nullable=False),
    sa.Column('countries', sa.JSON(), nullable=False),
    sa.Column('chosen_cover', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_needs_statements_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_needs_statements_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_needs_statements')),
    sa.UniqueConstraint('case_id', 'version', name=op.f('uq_needs_statements_case_id_version')),
    sa.UniqueConstraint('public_id', name=op.f('uq_needs_statements_public_id'))
    )
    with op.batch_alter_table('needs_statements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_needs_statements_case_id'), ['case_id'], unique=False)

    op.create_table('broker_disclosure_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('template_version', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('settings_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('statement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('remuneration_nature', sa.Enum('fee', 'commission', 'other', 'mix', name='remunerationnature', native_enum=False, length=16), nullable=False),
    sa.Column('remuneration_payer', sa.Enum('insurer', 'client', 'insurer_and_client', name='remunerationpayer', native_enum=False, length=24), nullable=False),
    sa.Column('remuneration_details', sa.Text(), nullable=True),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('produced_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_broker_disclosure_documents_case_id_cases')),
    sa.ForeignKeyConstraint(['produced_by_id'], ['users.id'], name=op.f('fk_broker_disclosure_documents_produced_by_id_users')),
    sa.ForeignKeyConstraint(['settings_id'], ['broker_disclosure_settings.id'], name=op.f('fk_broker_disclosure_documents_settings_id_broker_disclosure_settings')),
    sa.ForeignKeyConstraint(['statement_id'], ['needs_statements.id'], name=op.f('fk_broker_disclosure_documents_statement_id_needs_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_disclosure_documents')),
    sa.UniqueConstraint('public_id', name=op.f('uq_broker_disclosure_documents_public_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_broker_disclosure_documents_reference'))
    )
    with op.batch_alter_table('broker_disclosure_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broker_disclosure_documents_case_id'), ['case_id'], unique=False)

    op.create_table('broker_disclosure_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('method', sa.Enum('email', 'handed_over', 'posted', name='deliverymethod', native_enum=False, length=16), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outbox_message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_ip', sa.String(length=64), nullable=True),
    sa.Column('acknowledged_user_agent', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_broker_disclosure_deliveries_case_id_cases')),
    sa.ForeignKeyConstraint(['document_id'], ['broker_disclosure_documents.id'], name=op.f('fk_broker_disclosure_deliveries_document_id_broker_disclosure_documents')),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_broker_disclosure_deliveries_outbox_message_id_outbox_messages')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_broker_disclosure_deliveries_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_disclosure_deliveries')),
    sa.UniqueConstraint('public_id', name=op.f('uq_broker_disclosure_deliveries_public_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_broker_disclosure_deliveries_token_hash'))
    )
    with op.batch_alter_table('broker_disclosure_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broker_disclosure_deliveries_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_broker_disclosure_deliveries_document_id'), ['document_id'], unique=False)
    for table in APPEND_ONLY:
        make_append_only(table)
        refuse_truncate(table)


def downgrade():
    for table in APPEND_ONLY:
        allow_truncate(table)
        drop_append_only(table)
    with op.batch_alter_table('broker_disclosure_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broker_disclosure_deliveries_document_id'))
        batch_op.drop_index(batch_op.f('ix_broker_disclosure_deliveries_case_id'))

    op.drop_table('broker_disclosure_deliveries')
    with op.batch_alter_table('broker_disclosure_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broker_disclosure_documents_case_id'))

    op.drop_table('broker_disclosure_documents')
    with op.batch_alter_table('needs_statements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_statements_case_id'))

    op.drop_table('needs_statements')
    with op.batch_alter_table('broker_disclosure_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broker_disclosure_settings_effective_from'))

    op.drop_table('broker_disclosure_settings')
