"""Account operations. They take the acting user and values, flush, and never commit: the request (or the
CLI command) commits once, so an e-mail queued here leaves only if the change it announces is saved."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from compliance.onboarding import check_communication_model
from compliance.registers import check_registration
from core import audit
from core.accounts import LANGUAGES, PARTNER_ROLES, WEB_ONLY_ROLES, Organisation, Role, User
from core.db import new_secret, utcnow
from core.i18n import N_
from core.partners import Lifecycle

from ..mail import queue_mail
from ..security.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password
from .errors import (
    ApiOnlyAccount,
    WebOnlyAccount,
    EmailTaken,
    InvalidToken,
    InvalidTokenLifetime,
    RoleNotAllowed,
    TokenExpired,
    WeakPassword,
)
from .models import ApiToken, PasswordResetToken, TokenPurpose, hash_token

ORG_FIELDS = ("legal_name", "status", "registration_number", "register", "country", "zones",
              "communication_model", "languages")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


# --- organisations -------------------------------------------------------------------------------------

def _checked_registration(values: dict) -> dict:
    """The register number in its canonical form, or InvalidRegistration (a broker needs a valid one)."""
    register = values.get("register")
    values["registration_number"] = check_registration(
        register.value if register else None, values.get("registration_number"), broker=values["status"].is_broker)
    return values


def create_organisation(session: Session, actor: User, ip: str | None = None, **values) -> Organisation:
    values = _checked_registration(dict(values))
    check_communication_model(values["status"], values["communication_model"])
    org = Organisation(**{k: values[k] for k in ORG_FIELDS})
    session.add(org)
    session.flush()
    audit.record(session, "organisation.created", actor=actor, subject=org, ip=ip,
                 legal_name=org.legal_name, status=org.status.value)
    return org


def update_organisation(session: Session, actor: User, org: Organisation, ip: str | None = None,
                        **values) -> Organisation:
    """Edit a firm. A change of status sends an approved or active firm back to compliance review: its new
    business waits for the decision and a new agreement, while the current one keeps governing what exists."""
    values = _checked_registration({**{k: getattr(org, k) for k in ORG_FIELDS}, **values})
    check_communication_model(values["status"], values["communication_model"])
    changes = {}
    for key in ORG_FIELDS:
        if key in values and getattr(org, key) != values[key]:
            old = getattr(org, key)
            changes[key] = [getattr(old, "value", old), getattr(values[key], "value", values[key])]
            setattr(org, key, values[key])
    if "status" in changes and org.lifecycle in (Lifecycle.approved, Lifecycle.active, Lifecycle.rejected):
        changes["lifecycle"] = [org.lifecycle.value, Lifecycle.under_review.value]
        org.lifecycle = Lifecycle.under_review
    if changes:
        session.flush()
        action = "organisation.status_changed" if "status" in changes else "organisation.updated"
        audit.record(session, action, actor=actor, subject=org, ip=ip, changes=changes)
    return org


# --- users ---------------------------------------------------------------------------------------------

def check_role_fits(role: Role, organisation: Organisation | None) -> None:
    """Partner roles belong to a firm; the broker's staff, volunteers and system accounts belong to none."""
    if role in PARTNER_ROLES and organisation is None:
        raise RoleNotAllowed(N_("A partner user must belong to a partner firm."),
                             fields={"organisation": [N_("Choose the user's firm.")]})
    if role not in PARTNER_ROLES and organisation is not None:
        raise RoleNotAllowed(N_("Only partner roles belong to a partner firm."),
                             fields={"organisation": [N_("Leave the firm empty for this role.")]})


def create_user(session: Session, actor: User | None, *, email: str, full_name: str, role: Role,
                organisation: Organisation | None, locale: str = "en", password: str | None = None,
                invite: bool = True, ip: str | None = None) -> User:
    email = normalise_email(email)
    check_role_fits(role, organisation)
    if find_user_by_email(session, email) is not None:
        raise EmailTaken(N_("A user with this e-mail address already exists."),
                         fields={"email": [N_("This e-mail address is already in use.")]})
    user = User(email=email, full_name=full_name.strip(), role=role, organisation=organisation,
                locale=locale if locale in LANGUAGES else "en", active=True)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    audit.record(session, "user.created", actor=actor, subject=user, ip=ip, email=user.email, role=role.value,
                 organisation=organisation.public_id if organisation else None)
    if invite:
        send_password_link(session, user, TokenPurpose.invitation)
    return user


def update_user(session: Session, actor: User, user: User, *, ip: str | None = None, **values) -> User:
    role = values.get("role", user.role)
    organisation = values.get("organisation", user.organisation)
    check_role_fits(role, organisation)
    if role != user.role:
        audit.record(session, "user.role_changed", actor=actor, subject=user, ip=ip,
                     old=user.role.value, new=role.value)
        user.role = role
    if organisation != user.organisation:
        audit.record(session, "user.organisation_changed", actor=actor, subject=user, ip=ip,
                     old=user.organisation.public_id if user.organisation else None,
                     new=organisation.public_id if organisation else None)
        user.organisation = organisation
    if "active" in values and values["active"] != user.active:
        user.active = values["active"]
        user.rotate_session_token()  # a deactivated user is signed out everywhere
        audit.record(session, "user.activated" if user.active else "user.deactivated", actor=actor,
                     subject=user, ip=ip)
    if "full_name" in values:
        user.full_name = values["full_name"].strip()
    if values.get("locale") in LANGUAGES:
        user.locale = values["locale"]
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(N_("Use at least %(n)s characters."), n=MIN_LENGTH,
                           fields={"password": [N_("Use at least %(n)s characters.")]})
    user.password_hash = hash_password(password)
    user.rotate_session_token()


def authenticate(session: Session, email: str, password: str, ip: str | None) -> User | None:
    """The user if the credentials are right and the account active; None otherwise (no hint which).
    ApiOnlyAccount, once the password is right, for a service account (it works through API tokens only)."""
    user = find_user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        audit.record(session, "auth.login_failed", actor=user, ip=ip, email=normalise_email(email)[:254],
                     reason="bad_credentials" if not ok else "inactive")
        return None
    if user.api_only:
        audit.record(session, "auth.login_refused", actor=user, subject=user, ip=ip, reason="api_only")
        raise ApiOnlyAccount(N_("This is a service account for the API: it cannot sign in to the web pages. "
                                "Use an API token."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, "auth.login", actor=user, subject=user, ip=ip)
    return user


# --- password links ------------------------------------------------------------------------------------

def send_password_link(session: Session, user: User, purpose: TokenPurpose, *, actor: User | None = None,
                       ip: str | None = None) -> None:
    hours = current_app.config[
        "INVITATION_TOKEN_HOURS" if purpose is TokenPurpose.invitation else "RESET_TOKEN_HOURS"]
    raw = new_secret()
    session.add(PasswordResetToken(user=user, purpose=purpose, token_hash=hash_token(raw),
                                   expires_at=utcnow() + timedelta(hours=hours)))
    session.flush()
    link = url_for("auth.reset_password", token=raw, _external=True)
    queue_mail(f"password_{purpose.value}", to=user.email, locale=user.locale, user=user, link=link,
               hours=hours)
    if actor is not None:
        audit.record(session, "user.password_link_sent", actor=actor, subject=user, ip=ip, purpose=purpose.value)


def find_valid_token(session: Session, raw: str) -> PasswordResetToken:
    token = session.execute(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(raw))
    ).scalar_one_or_none()
    if token is None or token.used_at is not None or token.expires_at <= utcnow() or not token.user.active:
        raise InvalidToken(N_("This link is invalid, has expired or was already used. Ask for a new one."))
    return token


def _claim(session: Session, token: PasswordResetToken) -> datetime:
    """Mark the link used in one conditional UPDATE: of requests racing with the same link, the database lets
    exactly one through (the others find `used_at` already set once the winner commits)."""
    now = utcnow()
    claimed = session.execute(
        update(PasswordResetToken).where(PasswordResetToken.id == token.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise InvalidToken(N_("This link is invalid, has expired or was already used. Ask for a new one."))
    return now


def reset_password(session: Session, raw: str, new_password: str, ip: str | None = None) -> User:
    token = find_valid_token(session, raw)
    used_at = _claim(session, token)
    user = token.user
    set_password(user, new_password)
    # Opening the e-mailed link proves the address works.
    if user.email_verified_at is None:
        user.email_verified_at = used_at
    # Any other outstanding link for this user stops working too.
    session.execute(update(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)).values(used_at=used_at)
        .execution_options(synchronize_session=False))
    audit.record(session, "user.password_set", actor=user, subject=user, ip=ip, purpose=token.purpose.value)
    # Whoever knew the old password may have made tokens with it: a new password ends them all.
    revoke_all_api_tokens(session, user, actor=user, ip=ip, reason="password_reset")
    session.flush()
    return user


# --- API tokens ----------------------------------------------------------------------------------------

TOKEN_PREFIX = "ppt_"


def token_lifetime_days(requested: int | None = None) -> int:
    """The lifetime of a new token: the default when none is asked for, else the request, up to the maximum."""
    default, maximum = current_app.config["API_TOKEN_DAYS"], current_app.config["API_TOKEN_MAX_DAYS"]
    if requested is None:
        return default
    if not 1 <= requested <= maximum:
        raise InvalidTokenLifetime(N_("Choose between 1 and %(n)s days."), n=maximum,
                                   fields={"days": [N_("Choose between 1 and %(n)s days.")]})
    return requested


def create_api_token(session: Session, user: User, name: str, ip: str | None = None, *,
                     days: int | None = None) -> tuple[ApiToken, str]:
    if user.role in WEB_ONLY_ROLES:
        raise WebOnlyAccount(N_("This account reads the programme's dashboard on the web only: it has no API "
                                "token."))
    days = token_lifetime_days(days)
    raw = TOKEN_PREFIX + new_secret(32)
    token = ApiToken(user=user, name=name.strip()[:100] or "API token", prefix=raw[:10],
                     token_hash=hash_token(raw), expires_at=utcnow() + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record(session, "api_token.created", actor=user, subject=token, ip=ip, name=token.name,
                 expires_at=token.expires_at.isoformat())
    return token, raw


def revoke_api_token(session: Session, actor: User, token: ApiToken, ip: str | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(session, "api_token.revoked", actor=actor, subject=token, ip=ip, name=token.name,
                     owner=token.user.public_id)


def revoke_all_api_tokens(session: Session, user: User, *, actor: User | None, ip: str | None = None,
                          reason: str) -> int:
    revoked = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if revoked:
        audit.record(session, "api_token.revoked_all", actor=actor, subject=user, ip=ip, count=revoked,
                     reason=reason)
    return revoked


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def user_for_token(session: Session, raw: str) -> User | None:
    """The token's user; None for an unknown, revoked or deactivated one; TokenExpired past its expiry (so
    the program's owner learns why it stopped working)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).scalar_one_or_none()
    if token is None or token.revoked_at is not None or not token.user.active or token.user.role in WEB_ONLY_ROLES:
        return None
    now = utcnow()
    if token.expires_at <= now:
        raise TokenExpired(N_("This API token expired on %(date)s. Create a new one."),
                           date=token.expires_at.date().isoformat())
    # Write at most once a minute per token, not on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return token.user


def count_users(session: Session) -> int:
    return session.execute(select(func.count(User.id))).scalar_one()
