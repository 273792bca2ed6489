"""the monthly collection of premiums after the first month (one row per subscription and month: charged once)
and the recovery of unpaid premiums (one open case per subscription, each step done once); the subscription's
new states (past_due, litigation, suspended, ended_non_payment) are values of its VARCHAR enum: no type change

Revision ID: 658ee66eada0
Revises: b16c4e7a2d90
Create Date: 2026-12-07 19:10:01.616993

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '658ee66eada0'
down_revision = "b16c4e7a2d90"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dunning_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subscription_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('state', sa.Enum('open', 'recovered', 'ended', name='dunningstate', native_enum=False, length=16), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_dunning_cases_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_cases')),
    sa.UniqueConstraint('public_id', name=op.f('uq_dunning_cases_public_id'))
    )
    with op.batch_alter_table('dunning_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_cases_subscription_id'), ['subscription_id'], unique=False)
        batch_op.create_index('uq_dunning_cases_open_subscription', ['subscription_id'], unique=True, sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))

    op.create_table('premium_collections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('subscription_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_premium_collections_payment_id_payments')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_premium_collections_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_premium_collections')),
    sa.UniqueConstraint('public_id', name=op.f('uq_premium_collections_public_id')),
    sa.UniqueConstraint('subscription_id', 'month', name='uq_premium_collections_subscription_id_month')
    )
    with op.batch_alter_table('premium_collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premium_collections_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('dunning_actions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.Enum('reminder', 'retry', 'litigation', 'suspension', 'termination', name='dunningkind', native_enum=False, length=16), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('amount_due_minor', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['dunning_cases.id'], name=op.f('fk_dunning_actions_case_id_dunning_cases')),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id'], name=op.f('fk_dunning_actions_message_id_outbox_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_actions')),
    sa.UniqueConstraint('case_id', 'step', name='uq_dunning_actions_case_id_step')
    )


def downgrade():
    op.drop_table('dunning_actions')
    with op.batch_alter_table('premium_collections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premium_collections_subscription_id'))

    op.drop_table('premium_collections')
    with op.batch_alter_table('dunning_cases', schema=None) as batch_op:
        batch_op.drop_index('uq_dunning_cases_open_subscription', sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
        batch_op.drop_index(batch_op.f('ix_dunning_cases_subscription_id'))

    op.drop_table('dunning_cases')
