"""Organisation scoping: partner users only ever reach their own firm's records.

Use these for every query of partner data; a record of another firm is "not found" (404), never
"forbidden", so its existence does not leak.
"""
from __future__ import annotations

from sqlalchemy import Select, false, select

from core.accounts import Role

from ..extensions import db


def scoped(stmt: Select, model, user, *, org_column=None) -> Select:
    column = org_column if org_column is not None else model.organisation_id
    if user.is_staff:
        return stmt
    if user.is_partner and user.organisation_id is not None:
        return stmt.where(column == user.organisation_id)
    return stmt.where(false())


def get_scoped_or_404(model, public_id: str, user, *, org_column=None):
    stmt = scoped(select(model).where(model.public_id == public_id), model, user, org_column=org_column)
    return db.one_or_404(stmt)


def get_or_404(model, public_id: str):
    """A record by its public id, not scoped to a firm: for routes only the broker's staff reach, and for what
    is not partner data (an insurer, a payout run)."""
    return db.one_or_404(select(model).where(model.public_id == public_id))


def is_partner_admin(user) -> bool:
    return user.role is Role.partner_admin
