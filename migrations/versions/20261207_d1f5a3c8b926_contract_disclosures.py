"""compliance: each partner-brought contract's disclosures (the partner's declaration, with optional evidence)
and compliance's review decisions (append-only)

Revision ID: d1f5a3c8b926
Revises: c9a4e1f7d352
Create Date: 2026-12-07 14:00:00
"""
import sqlalchemy as sa
from alembic import op

from core.migration_ops import allow_truncate, drop_append_only, make_append_only, refuse_truncate

revision = "d1f5a3c8b926"
down_revision = "c9a4e1f7d352"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATES = ("awaiting_declaration", "submitted", "approved", "returned")
CHANNELS = ("in_person", "email", "letter", "video_call", "phone_then_writing")


def upgrade():
    op.create_table(
        "contract_disclosures",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("organisation_id", ID, nullable=False),
        sa.Column("state", sa.Enum(*STATES, name="disclosurestate", native_enum=False, length=32), nullable=False),
        sa.Column("role_disclosed", sa.Text(), nullable=True),
        sa.Column("remuneration_disclosed", sa.Text(), nullable=True),
        sa.Column("remuneration_disclosed_minor", sa.Integer(), nullable=True),
        sa.Column("disclosed_on", sa.Date(), nullable=True),
        sa.Column("channel", sa.Enum(*CHANNELS, name="disclosurechannel", native_enum=False, length=32), nullable=True),
        sa.Column("evidence_name", sa.String(length=200), nullable=True),
        sa.Column("evidence_mime", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("declared_by_id", ID, nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_contract_disclosures_contract_id_contracts")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_contract_disclosures_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["declared_by_id"], ["users.id"], name=op.f("fk_contract_disclosures_declared_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_disclosures")),
        sa.UniqueConstraint("contract_id", name=op.f("uq_contract_disclosures_contract_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_contract_disclosures_public_id")),
    )
    with op.batch_alter_table("contract_disclosures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_disclosures_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contract_disclosures_state"), ["state"], unique=False)
    op.create_table(
        "disclosure_reviews",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disclosure_id", ID, nullable=False),
        sa.Column("decision", sa.Enum("approved", "returned", name="disclosuredecision", native_enum=False, length=16),
                  nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewer_id", ID, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["disclosure_id"], ["contract_disclosures.id"],
                                name=op.f("fk_disclosure_reviews_disclosure_id_contract_disclosures")),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_disclosure_reviews_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_reviews")),
        sa.UniqueConstraint("public_id", name=op.f("uq_disclosure_reviews_public_id")),
    )
    with op.batch_alter_table("disclosure_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_reviews_disclosure_id"), ["disclosure_id"], unique=False)
    make_append_only("disclosure_reviews")
    refuse_truncate("disclosure_reviews")


def downgrade():
    allow_truncate("disclosure_reviews")
    drop_append_only("disclosure_reviews")
    with op.batch_alter_table("disclosure_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_reviews_disclosure_id"))
    op.drop_table("disclosure_reviews")
    with op.batch_alter_table("contract_disclosures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_disclosures_state"))
        batch_op.drop_index(batch_op.f("ix_contract_disclosures_organisation_id"))
    op.drop_table("contract_disclosures")
