"""Deny-by-default access declarations.

Every endpoint carries an `Access` set by one of the decorators below; `enforce_access` runs before every
request and refuses any endpoint that has none. The navigation asks the same declarations (`can_access`),
so a menu never shows what a role cannot open.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Callable

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from core.accounts import PARTNER_ROLES, STAFF_ROLES, WEB_ROLES, PartnerStatus, Role

log = logging.getLogger(__name__)

# Endpoints registered by Flask itself rather than by our views.
BUILTIN_PUBLIC = frozenset({"static"})


@dataclass(frozen=True)
class Access:
    public: bool = False
    #: None means any signed-in user
    roles: frozenset[Role] | None = None
    #: for partner users: the firm statuses allowed (None: any status)
    statuses: frozenset[PartnerStatus] | None = None
    #: a volunteer's own area, opened by their personal link (a session of its own, never a firm's user)
    volunteer: bool = False

    def permits(self, user) -> bool:
        if self.public:
            return True
        if self.volunteer:
            return False  # no user of the portal is a volunteer's link session
        if user is None or not user.is_authenticated:
            return False
        if self.roles is None and user.named_only:
            return False  # a service account or a programme viewer is let in only where its role is named
        if self.roles is not None and user.role not in self.roles:
            return False
        if self.statuses is not None and user.role in PARTNER_ROLES:
            return user.partner_status in self.statuses
        return True


def _declare(access: Access):
    def decorator(view):
        view._access = access
        return view

    return decorator


def public(view):
    """Open to anyone, signed in or not (sign-in page, health check, published documents)."""
    return _declare(Access(public=True))(view)


def signed_in(view):
    """Open to every signed-in user, whatever the role, except service accounts (API only) and the programme's
    read-only viewers: they are let in only where their role is named (`allow`)."""
    return _declare(Access())(view)


def volunteer_only(view):
    """Open only to the volunteer signed in by their personal link, and about their own records alone: the view
    reads who they are from `g.volunteer` (see portal.volunteer.session)."""
    return _declare(Access(volunteer=True))(view)


def allow(*roles: Role, statuses: tuple[PartnerStatus, ...] | None = None):
    """Open to the given roles; `statuses` further limits partner roles to firms of those statuses."""
    if not roles or not all(isinstance(r, Role) for r in roles):
        raise TypeError("allow() needs Role members")
    return _declare(Access(roles=frozenset(roles), statuses=frozenset(statuses) if statuses else None))


def permit(rule: Access):
    """Declare a rule shared by a web page and an API endpoint (see portal.security.policy)."""
    if not isinstance(rule, Access):
        raise TypeError("permit() needs an Access rule")
    return _declare(rule)


STAFF = tuple(STAFF_ROLES)
#: everyone with a web session, the programme's viewers included (signing out, the home page that sends them on)
SESSION_HOLDERS = tuple(WEB_ROLES)
PARTNERS = tuple(PARTNER_ROLES)


def access_for(app: Flask, endpoint: str) -> Access | None:
    if endpoint in BUILTIN_PUBLIC:
        return Access(public=True)
    view = app.view_functions.get(endpoint)
    return getattr(view, "_access", None)


def can_access(endpoint: str, user) -> bool:
    access = access_for(current_app, endpoint)
    return access is not None and access.permits(user)


#: blueprint -> how its requests say who they are (the API registers its bearer tokens; the rest use the session)
_AUTHENTICATORS: dict[str, Callable[[], object]] = {}


def authenticates(blueprint: str):
    def register(authenticate):
        _AUTHENTICATORS[blueprint] = authenticate
        return authenticate

    return register


def principal():
    """The user making this request: from the bearer token on the API, from the session elsewhere."""
    if request.blueprint == "api":
        return g.get("api_user")
    return current_user


def enforce_access():
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: let Flask answer 404/405
        return None
    access = access_for(current_app, endpoint)
    if access is None:
        log.error("endpoint %s has no access declaration; refused", endpoint)
        abort(403)
    if access.public:
        return None
    if access.volunteer:
        g.volunteer = _AUTHENTICATORS["volunteer"]()
        if g.volunteer is None:
            abort(403)
        return None
    if request.blueprint == "api":
        g.api_user = _AUTHENTICATORS["api"]()
    user = principal()
    if access.permits(user):
        return None
    if user is None or not user.is_authenticated:
        if request.blueprint == "api":
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)
