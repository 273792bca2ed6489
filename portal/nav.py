"""The navigation, in one place. Each entry shows only to users whose role may open its endpoint — the same
access declarations the routes enforce, so the menu and the permissions cannot disagree."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

from core.i18n import N_

from .i18n import tr
from .security.access import can_access


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    #: a msgid, translated when shown
    label: str
    #: endpoints whose pages highlight this entry
    prefix: str


NAV = (
    NavItem("home.index", N_("Home"), "home."),
    NavItem("admin.organisations", N_("Partner firms"), "admin.organisation"),
    NavItem("admin.users", N_("Users"), "admin.user"),
    NavItem("admin.insurers", N_("Insurers"), "admin.insurer"),
    NavItem("broker_disclosure.settings", N_("Disclosure settings"), "broker_disclosure.settings"),
    NavItem("firm.team", N_("My firm"), "firm."),
    NavItem("onboarding.checklist", N_("Onboarding"), "onboarding."),
    NavItem("leads.index", N_("Leads"), "leads."),
    NavItem("cases.index", N_("Cases"), "cases.index"),
    NavItem("cases.cc_log", N_("Copies to partners"), "cases.cc_log"),
    NavItem("complaints.register", N_("Complaints"), "complaints."),
    NavItem("privacy.lookup", N_("Data subjects"), "privacy."),
    NavItem("crossborder.queue", N_("Cross-border checks"), "crossborder."),
    NavItem("agreements.index", N_("Agreements"), "agreements."),
    NavItem("finance.index", N_("Finance"), "finance."),
    NavItem("finance.disclosures", N_("Disclosure approvals"), "finance.disclosures"),
    NavItem("queue.index", N_("Review queue"), "queue."),
    NavItem("dashboard.index", N_("Compliance dashboard"), "dashboard.index"),
    NavItem("dashboard.firm", N_("Our compliance status"), "dashboard.firm"),
    NavItem("disclosures.queue", N_("Disclosures to review"), "disclosures.queue"),
    NavItem("disclosures.partner_list", N_("Disclosures to clients"), "disclosures.partner_list"),
    NavItem("training.firm", N_("Training"), "training."),
    NavItem("training.coverage", N_("Training coverage"), "training."),
    NavItem("statements.index", N_("Commission statements"), "statements."),
    NavItem("subscriptions.index", N_("Subscriptions"), "subscriptions."),
    NavItem("campaigns.index", N_("Campaign"), "campaigns."),
    NavItem("roster.imports", N_("Roster imports"), "roster."),
    NavItem("tariffs.index", N_("Tariffs and zones"), "tariffs."),
    NavItem("audit.log", N_("Audit log"), "audit."),
    NavItem("admin.outbox", N_("Outbox"), "admin.outbox"),
    NavItem("profile.tokens", N_("API tokens"), "profile.token"),
)


def items_for(user) -> list[tuple[str, str, bool]]:
    """(label, url, is the current area) for the user's menu.

    Which entries a user gets depends only on the role and the firm's status, so that part is computed once
    per pair; the labels and the current area are this request's."""
    cache = current_app.extensions.setdefault("portal.nav", {})
    key = (user.role, user.partner_status)
    if key not in cache:
        cache[key] = [(item, url_for(item.endpoint)) for item in NAV if can_access(item.endpoint, user)]
    endpoint = request.endpoint or ""
    return [(tr(item.label), url, endpoint.startswith(item.prefix)) for item, url in cache[key]]


def init_app(app) -> None:
    # the layout template draws the menu; registered here so the translation helpers need not know the menu
    app.jinja_env.globals["nav_items"] = items_for
