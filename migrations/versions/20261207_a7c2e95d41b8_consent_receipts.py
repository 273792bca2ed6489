"""consent receipts: every consent records how it was collected, the jurisdiction, its purposes, the policy version,
the controller and whether special-category data is involved; the volunteer's adhesion gets its consent receipt

The consents already recorded are back-filled: the method is "collected by the partner, not recorded", the
jurisdiction the client's country of residence on the lead or case, the purposes from the two booleans, the
policy version "2026-11" (the notice then in force), special-category data where the case carries the
specialist's texts. Each adhesion already started gets a consent receipt (given by the volunteer, no partner).

Revision ID: a7c2e95d41b8
Revises: 39bb4c23445a
Create Date: 2026-12-07 14:10:00
"""
import uuid
from datetime import datetime, UTC

from alembic import op
import sqlalchemy as sa

from core.migration_ops import drop_append_only, make_append_only

revision = "a7c2e95d41b8"
down_revision = '39bb4c23445a'
branch_labels = None
depends_on = None

METHOD = sa.Enum("partner_form", "partner_api", "volunteer_adhesion", "partner_unrecorded", name="consentmethod",
                 native_enum=False, length=24)
CONTROLLER = "BIG Insurance Brokers SAS"
NEW = ("collection_method", "jurisdiction", "purposes", "policy_version", "controller", "special_category")
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    drop_append_only("consents")
    op.add_column("consents", sa.Column("collection_method", METHOD, nullable=True))
    op.add_column("consents", sa.Column("jurisdiction", sa.String(length=8), nullable=True))
    op.add_column("consents", sa.Column("purposes", sa.JSON(), nullable=True))
    op.add_column("consents", sa.Column("policy_version", sa.String(length=16), nullable=True))
    op.add_column("consents", sa.Column("controller", sa.String(length=200), nullable=True))
    op.add_column("consents", sa.Column("special_category", sa.Boolean(), nullable=True))
    _backfill_consents()
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("consent_id", BIGINT, nullable=True))
        batch.create_foreign_key(batch.f("fk_subscriptions_consent_id_consents"), "consents", ["consent_id"],
                                 ["id"])
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("organisation_id", existing_type=BIGINT, nullable=True)
        batch.alter_column("captured_by_id", existing_type=BIGINT, nullable=True)
    _backfill_adhesions()
    with op.batch_alter_table("consents") as batch:
        for name in NEW:
            batch.alter_column(name, nullable=False)
    make_append_only("consents")


def _backfill_consents():
    pg = op.get_bind().dialect.name == "postgresql"
    true = "true" if pg else "1"
    both, share = '\'["share_with_broker", "cc_on_milestones"]\'', '\'["share_with_broker"]\''
    if pg:
        both, share = f"CAST({both} AS JSON)", f"CAST({share} AS JSON)"
    op.execute(f"""
        UPDATE consents SET collection_method = 'partner_unrecorded', policy_version = '2026-11',
            controller = '{CONTROLLER}',
            purposes = CASE WHEN cc_on_milestones = {true} THEN {both} ELSE {share} END,
            jurisdiction = COALESCE((SELECT cases.country_of_residence FROM cases WHERE cases.consent_id = consents.id
                                     ORDER BY cases.id LIMIT 1),
                                    (SELECT leads.country_of_residence FROM leads WHERE leads.consent_id = consents.id
                                     ORDER BY leads.id LIMIT 1), 'ZZ'),
            special_category = EXISTS (SELECT 1 FROM cases WHERE cases.consent_id = consents.id
                                       AND (cases.case_summary_encrypted IS NOT NULL
                                            OR cases.underwriting_encrypted IS NOT NULL))
    """)


def _backfill_adhesions():
    bind = op.get_bind()
    consents = sa.table("consents", sa.column("id", BIGINT), sa.column("public_id", sa.String),
                        sa.column("created_at", sa.DateTime(timezone=True)), sa.column("share_with_broker", sa.Boolean),
                        sa.column("cc_on_milestones", sa.Boolean), sa.column("text_version", sa.String),
                        sa.column("language", sa.String), sa.column("given_at", sa.DateTime(timezone=True)),
                        sa.column("collection_method", sa.String), sa.column("jurisdiction", sa.String),
                        sa.column("purposes", sa.JSON), sa.column("policy_version", sa.String),
                        sa.column("controller", sa.String), sa.column("special_category", sa.Boolean))
    rows = bind.execute(sa.text(
        "SELECT subscriptions.id, subscriptions.language, subscriptions.adhesion_started_at, "
        "volunteers.mission_country FROM subscriptions JOIN volunteers ON volunteers.id = subscriptions.volunteer_id "
        "WHERE subscriptions.adhesion_started_at IS NOT NULL")).all()
    now = datetime.now(UTC)
    for sub_id, language, started, country in rows:
        if isinstance(started, str):
            started = datetime.fromisoformat(started)
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        public = uuid.uuid4().hex
        bind.execute(consents.insert().values(
            public_id=public, created_at=now, share_with_broker=True, cc_on_milestones=False, text_version="2026-12",
            language=language, given_at=started, collection_method="volunteer_adhesion", jurisdiction=country,
            purposes=["adhesion"], policy_version="2026-11", controller=CONTROLLER, special_category=True))
        consent_id = bind.execute(sa.text("SELECT id FROM consents WHERE public_id = :p"), {"p": public}).scalar_one()
        bind.execute(sa.text("UPDATE subscriptions SET consent_id = :c WHERE id = :s"), {"c": consent_id, "s": sub_id})


def downgrade():
    drop_append_only("consents")
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text(
        "SELECT id FROM consents WHERE collection_method = 'volunteer_adhesion'")).all()]
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("fk_subscriptions_consent_id_consents", type_="foreignkey")
        batch.drop_column("consent_id")
    for consent_id in ids:
        bind.execute(sa.text("DELETE FROM consent_withdrawals WHERE consent_id = :c"), {"c": consent_id})
        bind.execute(sa.text("DELETE FROM consents WHERE id = :c"), {"c": consent_id})
    with op.batch_alter_table("consents") as batch:
        for name in NEW:
            batch.drop_column(name)
        batch.alter_column("organisation_id", existing_type=BIGINT, nullable=False)
        batch.alter_column("captured_by_id", existing_type=BIGINT, nullable=False)
    make_append_only("consents")
