"""The navigation, in one place. Each entry shows only to users whose role may open its endpoint — the same
access declarations the routes enforce, so the menu and the permissions cannot disagree."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from markupsafe import Markup

from core.i18n import N_

from .i18n import _request_locale, tr
from .security.access import can_access


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    #: a msgid, translated when shown
    label: str
    #: endpoints whose pages highlight this entry
    prefix: str
    #: the menu group it sits in when a user's menu is long (a msgid); None: always at the top level
    group: str | None = None


CASES, COMPLIANCE, FINANCE, VOLUNTEERS, ADMIN = (N_("Cases and leads"), N_("Compliance"), N_("Finance"),
                                                 N_("Volunteers"), N_("Administration"))
#: a menu longer than this is shown in groups (a partner firm's eleven entries stay flat; staff menus group)
FLAT_MAX = 11


NAV = (
    NavItem("home.index", N_("Home"), "home."),
    NavItem("admin.organisations", N_("Partner firms"), "admin.organisation", ADMIN),
    NavItem("admin.users", N_("Users"), "admin.user", ADMIN),
    NavItem("admin.insurers", N_("Insurers"), "admin.insurer", ADMIN),
    NavItem("broker_disclosure.settings", N_("Disclosure settings"), "broker_disclosure.settings", ADMIN),
    NavItem("firm.team", N_("My firm"), "firm."),
    NavItem("onboarding.checklist", N_("Onboarding"), "onboarding."),
    NavItem("leads.index", N_("Leads"), "leads.", CASES),
    NavItem("cases.index", N_("Cases"), "cases.index", CASES),
    NavItem("cases.cc_log", N_("Copies to partners"), "cases.cc_log", CASES),
    NavItem("complaints.register", N_("Complaints"), "complaints.", COMPLIANCE),
    NavItem("privacy.lookup", N_("Data subjects"), "privacy.", COMPLIANCE),
    NavItem("crossborder.queue", N_("Cross-border checks"), "crossborder.", COMPLIANCE),
    NavItem("agreements.index", N_("Agreements"), "agreements.", CASES),
    NavItem("finance.index", N_("Finance"), "finance.", FINANCE),
    NavItem("finance.disclosures", N_("Disclosure approvals"), "finance.disclosures", FINANCE),
    NavItem("queue.index", N_("Review queue"), "queue.", COMPLIANCE),
    NavItem("dashboard.index", N_("Compliance dashboard"), "dashboard.index", COMPLIANCE),
    NavItem("dashboard.firm", N_("Our compliance status"), "dashboard.firm"),
    NavItem("disclosures.queue", N_("Disclosures to review"), "disclosures.queue", COMPLIANCE),
    NavItem("disclosures.partner_list", N_("Disclosures to clients"), "disclosures.partner_list"),
    NavItem("training.firm", N_("Training"), "training."),
    NavItem("training.coverage", N_("Training coverage"), "training.", COMPLIANCE),
    NavItem("statements.index", N_("Commission statements"), "statements.", FINANCE),
    NavItem("subscriptions.index", N_("Subscriptions"), "subscriptions.", VOLUNTEERS),
    NavItem("subscriptions.overdue", N_("Unpaid premiums"), "subscriptions.overdue", VOLUNTEERS),
    NavItem("campaigns.index", N_("Campaign"), "campaigns.", VOLUNTEERS),
    NavItem("programme.dashboard", N_("Programme KPIs"), "programme.dashboard", VOLUNTEERS),
    NavItem("programme.view", N_("Programme dashboard"), "programme.view"),
    NavItem("roster.imports", N_("Roster imports"), "roster.", VOLUNTEERS),
    NavItem("tariffs.index", N_("Tariffs and zones"), "tariffs.", VOLUNTEERS),
    NavItem("audit.log", N_("Audit log"), "audit.", COMPLIANCE),
    NavItem("admin.outbox", N_("Outbox"), "admin.outbox", ADMIN),
    NavItem("profile.tokens", N_("API tokens"), "profile.token", ADMIN),
)


def _allowed(user) -> list[tuple[NavItem, str]]:
    # which entries a user gets depends only on the role and the firm's status: computed once per pair
    cache = current_app.extensions.setdefault("portal.nav", {})
    key = (user.role, user.partner_status)
    if key not in cache:
        cache[key] = [(item, url_for(item.endpoint)) for item in NAV if can_access(item.endpoint, user)]
    return cache[key]


def items_for(user) -> list[tuple[str, str, bool]]:
    """(label, url, is the current area) for the user's menu, in one flat list."""
    endpoint = request.endpoint or ""
    return [(tr(item.label), url, endpoint.startswith(item.prefix)) for item, url in _allowed(user)]


@dataclass(frozen=True)
class MenuGroup:
    label: str
    entries: list[tuple[str, str, bool]]

    @property
    def current(self) -> bool:
        return any(current for _label, _url, current in self.entries)


def menu_for(user) -> list[tuple[str, str, bool] | MenuGroup]:
    """The user's menu: flat when short; else the grouped entries gathered under their group's label (where the
    group's first entry stands), a group of one staying a plain entry. Kept per (role, firm status, language,
    page's endpoint): every signed-in page draws it."""
    cache = current_app.extensions.setdefault("portal.menus", {})
    key = (user.role, user.partner_status, str(_request_locale()), request.endpoint)
    menu = cache.get(key)
    if menu is None:
        menu = cache[key] = _menu(user)
    return menu


def menu_html(user) -> Markup:
    """The menu's entries as the layout writes them (`_menu.html`), drawn once per key of `menu_for` and kept:
    every signed-in page writes the menu, and drawing its dozen links costs more than the rest of the layout."""
    cache = current_app.extensions.setdefault("portal.menus_html", {})
    key = (user.role, user.partner_status, str(_request_locale()), request.endpoint)
    html = cache.get(key)
    if html is None:
        html = cache[key] = Markup(current_app.jinja_env.get_template("_menu.html").render(menu=menu_for(user)))
    return html


def _menu(user) -> list[tuple[str, str, bool] | MenuGroup]:
    allowed = _allowed(user)
    flat = items_for(user)
    if len(flat) <= FLAT_MAX:
        return flat
    sizes: dict[str, int] = {}
    for item, _url in allowed:
        if item.group:
            sizes[item.group] = sizes.get(item.group, 0) + 1
    menu: list = []
    groups: dict[str, MenuGroup] = {}
    for (item, _url), entry in zip(allowed, flat, strict=True):
        if item.group is None or sizes[item.group] < 2:
            menu.append(entry)
        elif item.group in groups:
            groups[item.group].entries.append(entry)
        else:
            groups[item.group] = MenuGroup(tr(item.group), [entry])
            menu.append(groups[item.group])
    return menu


def init_app(app) -> None:
    # the layout template draws the menu; registered here so the translation helpers need not know the menu
    app.jinja_env.globals["nav_items"] = items_for
    app.jinja_env.globals["nav_menu"] = menu_for
    app.jinja_env.globals["menu_html"] = menu_html
