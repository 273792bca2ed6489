"""The partner portal: a Flask application factory."""
from __future__ import annotations

import logging

from flask import Flask

from .config import load_config


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, config))
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if app.config["PORTAL_ENV"] != "test":
        for name in ("portal", "core"):
            logging.getLogger(name).setLevel(logging.INFO)

    from core.db import render_migration_item

    from . import errors, i18n, input_guard, nav
    from .extensions import babel, csrf, db, limiter, migrate
    from .security import access, headers
    from .training import policy as training_policy

    db.init_app(app)
    _use_audit_keys(app)
    migrate.init_app(app, db, directory=str(_root() / "migrations"), render_as_batch=True, compare_type=True,
                     render_item=render_migration_item)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    _init_login(app)
    i18n.init_app(app)
    nav.init_app(app)
    training_policy.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    app.before_request(access.enforce_access)
    input_guard.init_app(app)

    _allow_example_domains(app)
    _register_models()
    _register_blueprints(app)
    _register_commands(app)
    return app


def _use_audit_keys(app: Flask) -> None:
    """Every session on this app's database chains audit events with the configured keys."""
    from compliance.consent_receipts import use_controller
    from core import audit
    from core.integrity import Keyring

    from .extensions import db

    with app.app_context():
        audit.use_keyring(db.engine, Keyring.parse(app.config["AUDIT_HMAC_KEYS"]))
        # the controller named on the consent receipts
        use_controller(db.engine, app.config["BROKER_NAME"])


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def _allow_example_domains(app: Flask) -> None:
    """Outside production, accept the reserved `.example` and `.test` domains (demo and test accounts)."""
    if app.config["PORTAL_ENV"] == "production":
        return
    import email_validator

    email_validator.SPECIAL_USE_DOMAIN_NAMES = [
        d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d not in ("example", "test")]


def _register_models() -> None:
    # Every table must be on the metadata before Alembic compares it with the database.
    import agreements.models  # noqa: F401
    import compliance.broker_disclosure  # noqa: F401
    import compliance.complaint_models  # noqa: F401
    import compliance.crossborder  # noqa: F401
    import compliance.disclosure_models  # noqa: F401
    import compliance.models  # noqa: F401
    import compliance.review_queue  # noqa: F401
    import compliance.privacy_models  # noqa: F401
    import compliance.training  # noqa: F401
    import core.accounts  # noqa: F401
    import core.audit  # noqa: F401
    import core.contracts  # noqa: F401
    import core.events  # noqa: F401
    import core.outbox  # noqa: F401
    import core.subject_keys  # noqa: F401
    import funnel.campaign_models  # noqa: F401
    import funnel.collection_models  # noqa: F401
    import funnel.kpi_models  # noqa: F401
    import funnel.kpi_summary  # noqa: F401  (keeps the KPIs' per-volunteer summary with the funnel events)
    import funnel.models  # noqa: F401
    import funnel.payment_models  # noqa: F401
    import ledger.models  # noqa: F401
    import ledger.posting  # noqa: F401  (the outbox job that posts business events)
    import pipeline.broker_disclosure  # noqa: F401
    from pipeline.cases import crossborder as case_crossborder  # noqa: F401
    from pipeline.cases import models as case_models  # noqa: F401
    from pipeline.cases import needs as _needs  # noqa: F401
    from pipeline.channel import models as channel_models  # noqa: F401
    from pipeline.leads import models as lead_models  # noqa: F401

    from .accounts import models  # noqa: F401


def _init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext

    from .extensions import db, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    from .accounts.signed_in import load_by_session_token

    # On every signed-in request: the user and its firm (needed on nearly every page: scoping, navigation) in one
    # prebuilt statement, without the ORM's per-execution loading set-up (portal/accounts/signed_in.py).
    @login_manager.user_loader
    def load_user(session_token: str):
        return load_by_session_token(db.session, session_token)


def _register_blueprints(app: Flask) -> None:
    from .admin import tokens as _admin_tokens  # noqa: F401  (the token routes of the admin blueprint)
    from .admin.views import bp as admin_bp
    from .agreements import services  # noqa: F401  (registers the sealing job)
    from .agreements.views import bp as agreements_bp
    from .api import bp as api_bp
    from .audit import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .cases import crossborder as _case_crossborder  # noqa: F401  (its routes are on cases_bp)
    from .cases.views import bp as cases_bp
    from .channel.views import bp as channel_bp
    from .complaints.views import bp as complaints_bp
    from .crossborder.views import bp as crossborder_bp
    from .finance import bp as finance_bp
    from .firm.views import bp as firm_bp
    from .home.views import bp as home_bp
    from .leads.views import bp as leads_bp
    from .onboarding.views import bp as onboarding_bp
    from .payments.views import bp as payments_bp
    from .privacy.views import bp as privacy_bp
    from .profile.views import bp as profile_bp
    from .roster.views import bp as roster_bp
    from .statements import bp as statements_bp
    from .subscriptions.views import bp as subscriptions_bp
    from .tariffs.views import bp as tariffs_bp
    from .training.views import bp as training_bp
    from .verification.views import bp as verification_bp
    from .compliance_dashboard.views import bp as dashboard_bp
    from .review_queue.views import bp as queue_bp
    from .disclosures.views import bp as disclosures_bp
    from .broker_disclosure.views import bp as broker_disclosure_bp
    from .campaigns import mail as _campaign_mail  # noqa: F401  (registers the campaign e-mails' renderer)
    from .campaigns.links import bp as campaign_links_bp
    from .campaigns.views import bp as campaigns_bp
    from .programme.views import bp as programme_bp
    from .volunteer.views import bp as volunteer_bp
    from .volunteer import dependants as _dependants  # noqa: F401  (its routes are on volunteer_bp)
    from .volunteer import recovery as _recovery  # noqa: F401  (its routes are on volunteer_bp)

    for bp in (home_bp, auth_bp, profile_bp, admin_bp, firm_bp, onboarding_bp, agreements_bp, leads_bp,
               cases_bp, channel_bp, complaints_bp, crossborder_bp, finance_bp, statements_bp, verification_bp,
               payments_bp, volunteer_bp, roster_bp, disclosures_bp, broker_disclosure_bp, queue_bp, tariffs_bp,
               subscriptions_bp, campaigns_bp, programme_bp, campaign_links_bp, training_bp, audit_bp, dashboard_bp, privacy_bp, api_bp):
        app.register_blueprint(bp)


def _register_commands(app: Flask) -> None:
    from .commands import register

    register(app)
