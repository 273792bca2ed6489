"""the IDD training register: each person's trainings (provider, day, minutes, format, themes, evidence file) and
the alerts raised once per person and alert point

Revision ID: f1a7c3e9b2d4
Revises: d1f5a3c8b926
Create Date: 2026-12-07 13:08:40
"""
import sqlalchemy as sa
from alembic import op

revision = 'f1a7c3e9b2d4'
down_revision = 'd1f5a3c8b926'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('alert_point', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('target_minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_training_alerts_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_alerts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_alerts')),
    sa.UniqueConstraint('user_id', 'alert_point', name=op.f('uq_training_alerts_user_id_alert_point'))
    )
    with op.batch_alter_table('training_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_alerts_alert_point'), ['alert_point'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_alerts_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_alerts_user_id'), ['user_id'], unique=False)

    op.create_table('training_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('provider', sa.String(length=255), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('classroom', 'e_learning', 'webinar', 'conference', 'in_house', 'other', name='trainingformat', native_enum=False, length=32), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('evidence_filename', sa.String(length=255), nullable=True),
    sa.Column('evidence_content_type', sa.String(length=64), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=True),
    sa.Column('evidence', sa.LargeBinary(), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_training_records_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_training_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_records_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_records')),
    sa.UniqueConstraint('public_id', name=op.f('uq_training_records_public_id'))
    )
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_records_completed_on'), ['completed_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_records_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_records_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_records_user_id'))
        batch_op.drop_index(batch_op.f('ix_training_records_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_training_records_completed_on'))

    op.drop_table('training_records')
    with op.batch_alter_table('training_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_alerts_user_id'))
        batch_op.drop_index(batch_op.f('ix_training_alerts_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_training_alerts_alert_point'))

    op.drop_table('training_alerts')
