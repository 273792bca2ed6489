"""Whether the broker's training policy keeps the signed-in partner's firm from submitting new cases, as the
screens ask it to hide "Submit a case" and say why (the refusal itself comes from the domain)."""
from __future__ import annotations

from flask import current_app, g

from compliance import training
from compliance.errors import TrainingShortfall

from ..extensions import db
from ..i18n import tr


def cases_block(user) -> str | None:
    """Why `user`'s firm cannot submit a case under the training policy (translated), or None."""
    if not current_app.config["TRAINING_BLOCKS_CASES"] or user is None or not getattr(user, "is_partner", False):
        return None
    if user.organisation is None:
        return None
    if "_training_block" not in g:
        today = training.today_utc()
        try:
            training.check_may_submit(db.session, user.organisation, today, enforce=True)
            g._training_block = None
        except TrainingShortfall as refusal:
            g._training_block = tr(refusal.message, **refusal.params)
    return g._training_block


def init_app(app) -> None:
    app.jinja_env.globals["cases_block"] = cases_block
