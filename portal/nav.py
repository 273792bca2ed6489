"""The navigation, in one place. Each entry shows only to users whose role may open its endpoint — the same
access declarations the routes enforce, so the menu and the permissions cannot disagree."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from .security.access import can_access


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    #: endpoints whose pages highlight this entry
    prefix: str


NAV = (
    NavItem("home.index", _l("Home"), "home."),
    NavItem("admin.organisations", _l("Partner firms"), "admin.organisation"),
    NavItem("admin.users", _l("Users"), "admin.user"),
    NavItem("firm.team", _l("My firm"), "firm."),
    NavItem("admin.audit_log", _l("Audit log"), "admin.audit"),
    NavItem("admin.outbox", _l("Outbox"), "admin.outbox"),
    NavItem("profile.tokens", _l("API tokens"), "profile.token"),
)


def items_for(user) -> list[tuple[NavItem, str]]:
    """(entry, url) pairs. They depend only on the role and the firm's status: computed once per pair."""
    cache = current_app.extensions.setdefault("portal.nav", {})
    key = (user.role, user.partner_status)
    if key not in cache:
        cache[key] = [(item, url_for(item.endpoint)) for item in NAV if can_access(item.endpoint, user)]
    return cache[key]
