"""Language choice and translation of messages coming from domain code."""
from __future__ import annotations

from flask import Flask, g, has_request_context, request, session
from flask_babel import gettext

from .accounts.models import LANGUAGES

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
    text = gettext(msgid)
    return text % params if params else text


def country_name(code: str) -> str:
    from flask_babel import get_locale

    return get_locale().territories.get(code, code)


def init_app(app: Flask) -> None:
    from .nav import items_for
    from .security.access import can_access

    from flask_babel import get_locale

    app.jinja_env.globals.update(tr=tr, LANGUAGE_NAMES=LANGUAGE_NAMES, LANGUAGES=LANGUAGES, get_locale=get_locale,
                                 country_name=country_name, nav_items=items_for, can_access=can_access)
    app.jinja_env.filters["country_name"] = country_name
