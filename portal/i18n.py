"""Language choice and translation of messages coming from domain code."""
from __future__ import annotations

import functools

from flask import Flask, current_app, g, has_request_context, request, session
from markupsafe import Markup
from flask_babel import gettext

from core.accounts import LANGUAGES
from core.i18n import N_
from core.i18n import format_day as _format_day

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "it": "Italiano", "es": "Español", "ru": "Русский",
                  "uk": "Українська"}


def select_locale() -> str:
    if not has_request_context():
        return "en"
    forced = g.get("forced_locale")
    if forced:
        return forced
    from .security.access import principal

    user = principal()
    if user is not None and getattr(user, "is_authenticated", False) and user.locale in LANGUAGES:
        return user.locale
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def tr(msgid: str, **params) -> str:
    """Translate a msgid marked with core.i18n.N_ (domain errors, enum labels) in the reader's language."""
    text = _request_translations().ugettext(msgid) if has_request_context() else gettext(msgid)
    return text % params if params else text


def country_name(code: str) -> str:
    return _request_locale().territories.get(code, code)


def _request_locale():
    cached = g.get("_portal_locale")
    if cached is None:
        from flask_babel import get_locale

        cached = g._portal_locale = get_locale()
    return cached


def _request_translations():
    """The translations of this request, looked up once (Flask-Babel resolves them again on every call)."""
    cached = g.get("_portal_translations")
    if cached is None:
        from flask_babel import get_translations

        cached = g._portal_translations = get_translations()
    return cached


def _jinja_gettext(message: str, **variables) -> str:
    text = _request_translations().ugettext(message)
    return text % variables if variables else text


def _jinja_ngettext(singular: str, plural: str, n: int, **variables) -> str:
    variables.setdefault("num", n)
    return _request_translations().ungettext(singular, plural, n) % variables


LAYOUT_STRINGS = {
    "portal": N_("Partner portal"),
    "skip": N_("Skip to content"),
    "main_nav": N_("Main navigation"),
    "menu": N_("Menu"),
    "language": N_("Language"),
    "change_language": N_("Change language"),
    "sign_out": N_("Sign out"),
    "footer": N_("Questions about your data? Contact the broker's data protection officer."),
    "complaint": N_("Make a complaint"),
}


LAYOUT_URLS = {"css": ("static", {"filename": "portal.css"}), "js": ("static", {"filename": "portal.js"}),
               "home": ("home.index", {}), "language": ("home.set_language", {}), "logout": ("auth.logout", {}),
               "settings": ("profile.settings", {}), "complaint": ("complaints.lodge", {})}


def layout_urls() -> dict[str, str]:
    """The layout's links: the same for every page of a deployment, so built once."""
    urls = current_app.extensions.get("portal.layout_urls")
    if urls is None:
        from flask import url_for

        urls = current_app.extensions["portal.layout_urls"] = {
            key: url_for(endpoint, **values) for key, (endpoint, values) in LAYOUT_URLS.items()}
    return urls


def fixed_url(endpoint: str, **values) -> str:
    """`url_for` for a link that is the same on every request of a deployment (no request-dependent value):
    built once per process. Home pages draw a dozen of them, and building one costs ~25 µs."""
    cache = current_app.extensions.setdefault("portal.fixed_urls", {})
    key = (endpoint, *sorted(values.items()))
    url = cache.get(key)
    if url is None:
        from flask import url_for

        url = cache[key] = url_for(endpoint, **values)
    return url


def layout_strings() -> dict[str, str]:
    """The page layout's fixed texts in the reader's language, translated once per language and process."""
    cache = current_app.extensions.setdefault("portal.layout_strings", {})
    locale = str(_request_locale())
    if locale not in cache:
        cache[locale] = {key: tr(msgid) for key, msgid in LAYOUT_STRINGS.items()}
    return cache[locale]


@functools.lru_cache(maxsize=4096)
def _percent(rate: float, locale) -> str:
    from babel.numbers import parse_pattern

    return parse_pattern("#,##0.##%").apply(rate, locale)


def percent(rate) -> str:
    """A share as a percentage in the reader's language ("45,67 %"). Kept per (share, language): tables show
    hundreds of shares, many alike, and babel parses the pattern and rounds with decimals on every call."""
    return _percent(rate, _request_locale()) if rate else "—"


def money(minor: int, currency: str) -> str:
    """Integer minor units shown as money in the reader's language (exact: no float on the way)."""
    from decimal import Decimal

    from babel.numbers import format_currency, get_currency_precision

    return format_currency(Decimal(minor).scaleb(-get_currency_precision(currency)), currency,
                           locale=_request_locale())


def status_enum(value: str):
    from agreements.models import AgreementStatus

    return AgreementStatus(value)


def product_label(value: str) -> str:
    from core.products import ProductLine

    return tr(ProductLine(value).label)


class Labels:
    """`L[member]`: an enum member's label in the reader's language. A subscript costs far less in a
    template than a function call, and pages show dozens of labels."""

    def __getitem__(self, member) -> str:
        return tr(member.label)


def format_when(value, fmt: str = "medium") -> str:
    """A UTC datetime in the reader's language: the day as `format_day` writes it and the time to the minute
    ("Dec 7, 2026, 4:05 PM", "7 déc. 2026, 16:05"). The one place pages, e-mails and PDFs write a moment."""
    if value is None:
        return ""
    locale = _request_locale()
    if fmt != "medium":
        from babel.dates import format_datetime

        return format_datetime(value, fmt, tzinfo=value.tzinfo, locale=locale)
    return _when(value, locale)


@functools.lru_cache(maxsize=4096)
def _when(value, locale) -> str:
    """`format_when`'s medium style, kept: Babel takes ~50 µs per moment, and pages show the same moments (the
    latest audit events, the oldest case of a stage) on every request."""
    from babel.dates import format_time, get_datetime_format

    return get_datetime_format("medium", locale=locale).replace("'", "").format(
        format_time(value, "short", tzinfo=value.tzinfo, locale=locale), _format_day(value, locale))


def format_day(value, locale=None) -> str:
    """A date in the reader's language, in the one date style (core.i18n.format_day): pages and e-mails alike."""
    return _format_day(value, locale or _request_locale())


def format_month(value, locale=None) -> str:
    """A month in the reader's language ("December 2026"), for periods. Kept per (month, language): the KPI pages
    name the same months in every table, and babel parses the pattern on every call."""
    if value is None:
        return ""
    return _format_month(value, locale or _request_locale())


@functools.lru_cache(maxsize=4096)
def _format_month(value, locale) -> str:
    from babel.dates import format_date

    return format_date(value, "LLLL yyyy", locale=locale)


def action_name(action: str) -> str:
    """An audit action's label in the reader's language (core/audit_labels.py)."""
    from core.audit_labels import action_label

    return tr(action_label(action))


def timeline_label(timeline: str | None) -> str:
    """A lead's timeline: an urgency's label, or the target day."""
    from datetime import date

    from pipeline.leads.services import URGENCY_LABELS

    if not timeline:
        return "—"
    if timeline in URGENCY_LABELS:
        return tr(URGENCY_LABELS[timeline])
    try:
        return format_day(date.fromisoformat(timeline))
    except ValueError:
        return timeline


def language_options(current_locale: str) -> Markup:
    """The language switch's options (`_language_options.html`), drawn once per selected language and kept:
    every page writes them."""
    cache = current_app.extensions.setdefault("portal.language_options", {})
    html = cache.get(current_locale)
    if html is None:
        html = cache[current_locale] = Markup(current_app.jinja_env.get_template("_language_options.html").render(
            current_locale=current_locale))
    return html


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(when=format_when, day=format_day, month=format_month)
    # `_("text", name=value)` in templates: one call per string, looked up in this request's translations.
    # The result is a plain string, so autoescaping escapes it, values included, on output.
    app.jinja_env.install_gettext_callables(_jinja_gettext, _jinja_ngettext, newstyle=False)
    app.jinja_env.globals.update(L=Labels(), percent=percent, money=money, product_label=product_label,
                                 status_enum=status_enum)

    @app.context_processor
    def _current_user_object():
        from flask_login import current_user

        # Templates read the user dozens of times; resolve the proxy once.
        if not has_request_context():
            return {"me": None}
        return {"me": current_user._get_current_object(), "ui": layout_strings(), "urls": layout_urls()}

    from flask_babel import get_locale

    from .security.access import can_access

    from . import countries

    app.jinja_env.globals.update(country_regions=countries.REGIONS, regions_of=countries.regions_of)
    app.jinja_env.globals.update(fixed_url=fixed_url)
    app.jinja_env.globals.update(tr=tr, LANGUAGE_NAMES=LANGUAGE_NAMES, LANGUAGES=LANGUAGES, get_locale=get_locale,
                                 language_options=language_options,
                                 country_name=country_name, can_access=can_access,
                                 action_name=action_name, timeline_label=timeline_label)
    from .labels import outbox_label, roster_kind

    app.jinja_env.globals.update(outbox_label=outbox_label, roster_kind=roster_kind)
    app.jinja_env.filters["country_name"] = country_name
