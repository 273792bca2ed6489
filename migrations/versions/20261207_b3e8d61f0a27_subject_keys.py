"""crypto-shredding: the subject keys, and the personal data already in append-only tables sealed under them

Milestone notes (sealed under their case's key), consent-withdrawal reasons (under their consent's key) and the
roster's raw records (under their file reference's key) are encrypted in place, so that erasing a person destroys
the key and leaves the rows, their triggers and the chains intact. Audit events already recorded stay as they were:
their hashes cover their details (new events seal their personal details, see core.audit.record).

Revision ID: b3e8d61f0a27
Revises: a7c2e95d41b8
Create Date: 2026-12-07 14:30:00
"""
import json
from datetime import datetime, UTC

from alembic import op
import sqlalchemy as sa
from cryptography.fernet import Fernet

from core.migration_ops import drop_append_only, make_append_only

revision = "b3e8d61f0a27"
down_revision = "a7c2e95d41b8"
branch_labels = None
depends_on = None

PREFIX = "sealed:v1:"
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLES = ("milestones", "consent_withdrawals", "roster_events")


def _set_payload() -> str:
    json_param = "CAST(:p AS JSON)" if op.get_bind().dialect.name == "postgresql" else ":p"
    return f"UPDATE roster_events SET payload = {json_param} WHERE id = :id"


def upgrade():
    op.create_table(
        "subject_keys",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_keys")),
        sa.UniqueConstraint("ref", name=op.f("uq_subject_keys_ref")),
    )
    for table in TABLES:
        drop_append_only(table)
    bind = op.get_bind()
    keys: dict[str, bytes] = {}

    def seal(ref: str, text: str) -> str:
        if ref not in keys:
            keys[ref] = Fernet.generate_key()
            bind.execute(sa.text("INSERT INTO subject_keys (created_at, ref, key) VALUES (:at, :ref, :key)"),
                         {"at": datetime.now(UTC), "ref": ref, "key": keys[ref]})
        return f"{PREFIX}{ref}:{Fernet(keys[ref]).encrypt(text.encode()).decode()}"

    for id_, case, partner, internal in bind.execute(sa.text(
            "SELECT milestones.id, cases.public_id, partner_note, internal_note FROM milestones "
            "JOIN cases ON cases.id = milestones.case_id "
            "WHERE partner_note IS NOT NULL OR internal_note IS NOT NULL")).all():
        bind.execute(sa.text("UPDATE milestones SET partner_note = :p, internal_note = :i WHERE id = :id"), {
            "id": id_, "p": seal(f"case:{case}", partner) if partner is not None else None,
            "i": seal(f"case:{case}", internal) if internal is not None else None})
    for id_, consent, reason in bind.execute(sa.text(
            "SELECT consent_withdrawals.id, consents.public_id, reason FROM consent_withdrawals "
            "JOIN consents ON consents.id = consent_withdrawals.consent_id")).all():
        bind.execute(sa.text("UPDATE consent_withdrawals SET reason = :r WHERE id = :id"),
                     {"id": id_, "r": seal(f"consent:{consent}", reason)})
    for id_, file_ref, payload in bind.execute(sa.text("SELECT id, file_ref, payload FROM roster_events")).all():
        payload = json.loads(payload) if isinstance(payload, str) else payload
        sealed = {"sealed": seal(f"roster:{file_ref or ''}", json.dumps(payload, sort_keys=True))}
        bind.execute(sa.text(_set_payload()),
                     {"id": id_, "p": json.dumps(sealed)})
    for table in TABLES:
        make_append_only(table)


def downgrade():
    bind = op.get_bind()
    keys = {ref: key for ref, key in bind.execute(sa.text("SELECT ref, key FROM subject_keys")).all()}

    def opened(value):
        if not isinstance(value, str) or not value.startswith(PREFIX):
            return value
        ref, token = value[len(PREFIX):].rsplit(":", 1)
        # a destroyed key: the person was erased; the older schema keeps a marker in place of the text
        return Fernet(keys[ref]).decrypt(token.encode()).decode() if keys.get(ref) else "[erased]"

    for table in TABLES:
        drop_append_only(table)
    for id_, partner, internal in bind.execute(sa.text(
            "SELECT id, partner_note, internal_note FROM milestones")).all():
        bind.execute(sa.text("UPDATE milestones SET partner_note = :p, internal_note = :i WHERE id = :id"),
                     {"id": id_, "p": opened(partner), "i": opened(internal)})
    for id_, reason in bind.execute(sa.text("SELECT id, reason FROM consent_withdrawals")).all():
        bind.execute(sa.text("UPDATE consent_withdrawals SET reason = :r WHERE id = :id"),
                     {"id": id_, "r": opened(reason)})
    for id_, payload in bind.execute(sa.text("SELECT id, payload FROM roster_events")).all():
        payload = json.loads(payload) if isinstance(payload, str) else payload
        if isinstance(payload, dict) and "sealed" in payload:
            text = opened(payload["sealed"])
            payload = json.loads(text) if text != "[erased]" else {"erased": True}
            bind.execute(sa.text(_set_payload()),
                         {"id": id_, "p": json.dumps(payload)})
    for table in TABLES:
        make_append_only(table)
    op.drop_table("subject_keys")
