"""Configuration from the environment, with safe defaults for development.

Nothing here is read at import time: `load_config()` is called by the app factory.
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    pass


#: argon2-cffi's parameter profiles (`argon2.profiles`) a password hash may be made with
PASSWORD_HASH_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    env = os.environ
    overrides = overrides or {}
    portal_env = overrides.get("PORTAL_ENV") or env.get("PORTAL_ENV", "development")
    if portal_env not in ("development", "production", "test"):
        raise ConfigError(f"PORTAL_ENV must be development, production or test, not {portal_env!r}")
    production = portal_env == "production"
    if production:
        missing = [k for k in ("SECRET_KEY", "DATABASE_URL") if not (overrides.get(k) or env.get(k))]
        if missing:
            raise ConfigError(f"refusing to start in production without {', '.join(missing)}")

    instance = Path(instance_path)
    cfg = {
        "PORTAL_ENV": portal_env,
        # A fixed development key would let anyone forge sessions on a shared deployment; a random
        # per-instance key (kept in the instance folder) is safe and survives restarts.
        "SECRET_KEY": env.get("SECRET_KEY") or (None if production else _instance_secret(instance)),
        "SQLALCHEMY_DATABASE_URI": _database_url(env.get("DATABASE_URL"), instance),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        # An absolute lifetime from sign-in, and no re-signed cookie on every response.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), default=production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), default=production),
        "PERMANENT_SESSION_LIFETIME": int(env.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "SERVER_NAME": env.get("SERVER_NAME"),
        # Links in e-mails written outside a request (the outbox worker, commands) start with this. Unset, it
        # follows the address `flask run` serves on (`make run PORT=5077` exports FLASK_RUN_PORT=5077).
        "PUBLIC_URL": env.get("PUBLIC_URL") or "http://{}:{}".format(env.get("FLASK_RUN_HOST") or "127.0.0.1",
                                                                    env.get("FLASK_RUN_PORT") or "5000"),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Off only by an explicit choice (production without a shared store); failed sign-ins are counted in
        # the database either way.
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Failed sign-ins, counted in the database (portal.auth.throttle): per account and address, per
        # address across accounts, and a ceiling per account across addresses that only slows each address.
        "LOGIN_LIMIT_PER_ACCOUNT_ADDRESS": env.get("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", "5 per 10 minutes"),
        "LOGIN_LIMIT_PER_ADDRESS": env.get("LOGIN_LIMIT_PER_ADDRESS", "20 per 10 minutes"),
        "LOGIN_ACCOUNT_CEILING": env.get("LOGIN_ACCOUNT_CEILING", "50 per hour"),
        "LOGIN_CEILING_WAIT_SECONDS": int(env.get("LOGIN_CEILING_WAIT_SECONDS", 60)),
        # "Remember me" keeps a browser signed in this long (Flask-Login's default is a year).
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("REMEMBER_DAYS", 30))),
        "API_TOKEN_DAYS": int(env.get("API_TOKEN_DAYS", 90)),
        "API_TOKEN_MAX_DAYS": int(env.get("API_TOKEN_MAX_DAYS", 365)),
        "RESET_TOKEN_HOURS": int(env.get("RESET_TOKEN_HOURS", 2)),
        "INVITATION_TOKEN_HOURS": int(env.get("INVITATION_TOKEN_HOURS", 72)),
        "MAIL_FROM": env.get("MAIL_FROM", "Partner portal <no-reply@portal.invalid>"),
        "MAIL_TRANSPORT": env.get("MAIL_TRANSPORT") or ("smtp" if env.get("SMTP_HOST") else "file"),
        "MAIL_FILE_DIR": env.get("MAIL_FILE_DIR", str(instance / "mail")),
        "SMTP_HOST": env.get("SMTP_HOST", "localhost"),
        "SMTP_PORT": int(env.get("SMTP_PORT", 587)),
        "SMTP_USERNAME": env.get("SMTP_USERNAME"),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD"),
        "SMTP_SECURITY": env.get("SMTP_SECURITY", "starttls"),
        "HSTS": production,
        # The broker, as named in agreements, and its sealing certificate (PKCS#12). In development a
        # self-signed certificate is generated under the instance folder when none is configured.
        "BROKER_NAME": env.get("BROKER_NAME", "BIG Insurance Brokers SAS"),
        "BROKER_REGISTRATION": env.get("BROKER_REGISTRATION", "ORIAS 07000001"),
        # The broker's account payout transfers leave from (pain.001 debtor). Development uses a specimen
        # account so a demo run can produce its file; production must set its own.
        "PAYOUT_DEBTOR_NAME": env.get("PAYOUT_DEBTOR_NAME"),
        "PAYOUT_DEBTOR_IBAN": env.get("PAYOUT_DEBTOR_IBAN") or (None if production else "FR7630006000011234567890189"),
        "PAYOUT_DEBTOR_BIC": env.get("PAYOUT_DEBTOR_BIC") or (None if production else "AGRIFRPPXXX"),
        "SEAL_P12_PATH": env.get("SEAL_P12_PATH") or (None if production else str(instance / "seal-dev.p12")),
        "SEAL_P12_PASSWORD": env.get("SEAL_P12_PASSWORD") or (None if production else _instance_secret(
            instance, "seal_password")),
        "SEAL_TSA_URL": env.get("SEAL_TSA_URL") or None,
        # the largest request body: the biggest upload the secure channel accepts, plus the form around it
        "MAX_CONTENT_LENGTH": max(12, int(env.get("HEALTH_UPLOAD_MAX_MB", 10)) + 2) * 1024 * 1024,
        # The integration campaign (funnel.campaigns): a step missed because the run did not happen is still sent
        # this many days after it fell due, never later.
        "CAMPAIGN_CATCH_UP_DAYS": int(env.get("CAMPAIGN_CATCH_UP_DAYS", 3)),
        # The client's secure channel for health information (pipeline.channel): how long the personal link
        # lasts, the largest file, the virus-scan hook (a command given the file's path: exit 0 clean, 1 infected,
        # anything else an error; without one, production refuses every upload), and the retention schedule
        # (purged this many days after the case closed, or after the upload, whichever comes first).
        "HEALTH_LINK_DAYS": int(env.get("HEALTH_LINK_DAYS", 7)),
        "HEALTH_UPLOAD_MAX_MB": int(env.get("HEALTH_UPLOAD_MAX_MB", 10)),
        "UPLOAD_SCAN_COMMAND": env.get("UPLOAD_SCAN_COMMAND") or None,
        "UPLOAD_SCAN_TIMEOUT": int(env.get("UPLOAD_SCAN_TIMEOUT", 120)),
        "HEALTH_RETENTION_DAYS_AFTER_CLOSE": int(env.get("HEALTH_RETENTION_DAYS_AFTER_CLOSE", 90)),
        "HEALTH_RETENTION_DAYS_AFTER_UPLOAD": int(env.get("HEALTH_RETENTION_DAYS_AFTER_UPLOAD", 365)),
        # The broker's policy (compliance.training): a broker firm with people below 15 hours of training for the
        # past calendar year submits no new case until their training is recorded. Off unless chosen.
        "TRAINING_BLOCKS_CASES": _bool(env.get("TRAINING_BLOCKS_CASES"), default=False),
        # The cost of password hashes: a profile of argon2-cffi (`argon2.profiles`). RFC 9106's low-memory one is
        # the library's default; the tests sign in hundreds of times and use the cheapest.
        "PASSWORD_HASH_PROFILE": env.get("PASSWORD_HASH_PROFILE") or (
            "CHEAPEST" if portal_env == "test" else "RFC_9106_LOW_MEMORY"),
        # Fernet keys for sensitive case text, newest first (rotation keeps older keys after the first).
        "CASE_ENCRYPTION_KEYS": env.get("CASE_ENCRYPTION_KEYS") or (None if production else _instance_fernet_key(
            instance)),
        # HMAC keys of the audit chain and of the integrity checkpoints, `id:secret` newest first; kept out of the
        # database so that database access alone cannot recompute the chain. Never drop a key still in use.
        "AUDIT_HMAC_KEYS": env.get("AUDIT_HMAC_KEYS") or (None if production else "dev:" + _instance_secret(
            instance, "audit_hmac_key")),
        # where `audit verify` and `ledger verify` keep their signed checkpoints: outside the database
        "AUDIT_CHECKPOINT_DIR": env.get("AUDIT_CHECKPOINT_DIR") or str(instance / "audit-checkpoints"),
        # Payments (portal.payments): Stripe's keys and webhook signing secret come from the environment. Outside
        # production the portal talks to localstripe (a fake Stripe server; `make run` starts it on
        # STRIPE_API_BASE) with test keys; STRIPE_API_BASE empty means Stripe itself.
        # Complaints (ACPR recommendation 2022-R-01): acknowledge within this many business days, answer within
        # this many months of receipt; reminders this many business days before a deadline. Business days skip
        # weekends and the closed days listed here (ISO dates, comma-separated): no holiday calendar is built in.
        "COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS": int(env.get("COMPLAINT_ACKNOWLEDGE_BUSINESS_DAYS", 10)),
        "COMPLAINT_ANSWER_MONTHS": int(env.get("COMPLAINT_ANSWER_MONTHS", 2)),
        "COMPLAINT_REMINDER_BUSINESS_DAYS": int(env.get("COMPLAINT_REMINDER_BUSINESS_DAYS", 2)),
        "COMPLAINT_CLOSED_DAYS": env.get("COMPLAINT_CLOSED_DAYS", ""),
        # the mediation information an answer gives by default (the insurance ombudsman in France)
        "COMPLAINT_MEDIATION_TEXT": env.get("COMPLAINT_MEDIATION_TEXT") or (
            "La Médiation de l'Assurance, TSA 50110, 75441 Paris Cedex 09 — www.mediation-assurance.org"),
        # Retention (GDPR storage limitation): `flask privacy purge-leads` erases the personal data of the leads
        # never converted into a case within this many days of their referral (schedule it, e.g. daily)
        "LEAD_RETENTION_DAYS": int(env.get("LEAD_RETENTION_DAYS", 365)),
        **_stripe_config(env, production),
    }
    cfg.update(overrides)
    if production and not (cfg["SEAL_P12_PATH"] and cfg["SEAL_P12_PASSWORD"]):
        raise ConfigError("refusing to start in production without SEAL_P12_PATH and SEAL_P12_PASSWORD")
    if production and not cfg["CASE_ENCRYPTION_KEYS"]:
        raise ConfigError("refusing to start in production without CASE_ENCRYPTION_KEYS")
    if production and not cfg["AUDIT_HMAC_KEYS"]:
        raise ConfigError("refusing to start in production without AUDIT_HMAC_KEYS")
    _check_keyring(cfg["AUDIT_HMAC_KEYS"])
    if cfg["PASSWORD_HASH_PROFILE"] not in PASSWORD_HASH_PROFILES:
        raise ConfigError(f"PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}, "
                          f"not {cfg['PASSWORD_HASH_PROFILE']!r}")
    if production and cfg["PASSWORD_HASH_PROFILE"] == "CHEAPEST":
        raise ConfigError("refusing to start in production with PASSWORD_HASH_PROFILE=CHEAPEST (for tests only)")
    if production and cfg["RATELIMIT_ENABLED"] and cfg["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        raise ConfigError("refusing to start in production with RATELIMIT_STORAGE_URI=memory://: each worker would "
                          "count requests on its own; set a shared store such as redis://HOST:6379/0, or turn the "
                          "request limits off with RATELIMIT_ENABLED=false")
    if production and cfg["MAIL_TRANSPORT"] == "file":
        raise ConfigError("refusing to start in production with MAIL_TRANSPORT=file; set SMTP_HOST")
    return cfg


LOCALSTRIPE_URL = "http://127.0.0.1:8420"


def _stripe_config(env, production: bool) -> dict:
    api_base = env.get("STRIPE_API_BASE")
    if api_base is None:
        api_base = "" if production else LOCALSTRIPE_URL
    api_base = api_base.rstrip("/")
    dev = None if production else "test"
    return {
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or (dev and "sk_test_localstripe"),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or (dev and "pk_test_localstripe"),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or (dev and "whsec_localstripe_development"),
        "STRIPE_API_BASE": api_base,
        # Stripe.js: Stripe's own, or the copy a fake server serves
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL") or (f"{api_base}/js.stripe.com/v3/" if api_base
                                                      else "https://js.stripe.com/v3/"),
        "STRIPE_MAX_NETWORK_RETRIES": int(env.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
        # the insurer the volunteers' top-up contracts are placed with (made on the first placement)
        "FUNNEL_INSURER_CODE": env.get("FUNNEL_INSURER_CODE") or "VOLUNTEER-TOPUP",
        "FUNNEL_INSURER_NAME": env.get("FUNNEL_INSURER_NAME") or "Volunteer top-up insurer",
    }


def throwaway_config(instance: str | Path, database_url: str, **overrides) -> dict:
    """The configuration of a throwaway instance (the tests, the benchmarks): the test environment on
    `database_url`, its mail and seal certificate under `instance`, fixed secrets; `overrides` last."""
    instance = Path(instance)
    return {"PORTAL_ENV": "test", "TESTING": True, "SECRET_KEY": "test-secret-key",
            "SQLALCHEMY_DATABASE_URI": database_url, "SERVER_NAME": "portal.test", "MAIL_TRANSPORT": "file",
            "MAIL_FILE_DIR": str(instance / "mail"), "SEAL_P12_PATH": str(instance / "seal-test.p12"),
            "SEAL_P12_PASSWORD": "test-seal-password", "AUDIT_HMAC_KEYS": "test-1:test-audit-chain-key-0123456789",
            **overrides}


def _check_keyring(spec: str) -> None:
    from core.integrity import Keyring, KeyringError

    try:
        Keyring.parse(spec)
    except KeyringError as exc:
        raise ConfigError(f"AUDIT_HMAC_KEYS: {exc}") from None


def _database_url(url: str | None, instance: Path) -> str:
    if not url:
        instance.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{instance / 'portal.db'}"
    # Accept the common `postgresql://` and `postgres://` forms and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _instance_secret(instance: Path, name: str = "secret_key") -> str:
    import secrets

    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _instance_fernet_key(instance: Path) -> str:
    from cryptography.fernet import Fernet

    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "case_key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()
