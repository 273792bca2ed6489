"""Page fragments that are a pure function of the values given to them, kept drawn.

`render(name, **values)` renders the template `name` with `values` alone (and the template globals that do not
depend on the request: translations, labels, filters, fixed links) and keeps the HTML per language and values. A
page whose figures are the same as last time writes the same HTML out without rendering it again: the signed-in
home pages are the most visited, and rendering their content costs more than reading it.

The fragment reads nothing else: no `me` (pass a `Viewer`), no `request`, no CSRF token, nothing from the
database, so the values are the whole key and a change of any of them draws the fragment again. Values must be
hashable: rows, tuples, frozen dataclasses, enums, strings, numbers, dates, Markup.
"""
from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup

from core.accounts import CommunicationModel, PartnerStatus, Role

from .i18n import _request_locale

#: fragments kept per application; past this many (firms × languages × figures), they are drawn afresh
MAX_FRAGMENTS = 2000

_lock = threading.Lock()


@dataclass(frozen=True)
class Firm:
    legal_name: str
    status: PartnerStatus | None = None
    communication_model: CommunicationModel | None = None


@dataclass(frozen=True)
class Viewer:
    """What a fragment may show of the signed-in user (in place of `me`)."""
    full_name: str
    role: Role
    organisation: Firm | None

    @classmethod
    def of(cls, user) -> Viewer:
        org = user.organisation
        return cls(user.full_name, user.role, None if org is None else
                   Firm(org.legal_name, org.status, org.communication_model))


def render(name: str, **values: Hashable) -> Markup:
    key = (name, str(_request_locale()), *sorted(values.items()))
    fragments = current_app.extensions.setdefault("portal.fragments", {})
    html = fragments.get(key)
    if html is None:
        html = Markup(current_app.jinja_env.get_template(name).render(**values))
        with _lock:
            if len(fragments) >= MAX_FRAGMENTS:
                fragments.clear()
            fragments[key] = html
    return html
