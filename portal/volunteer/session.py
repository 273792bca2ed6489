"""Who the volunteer's link session speaks for. It is not a Flask-Login user: a volunteer is no user of a firm.
Opening the personal link keeps the link's public id under its own key of the session; every request to a
`@volunteer_only` page reads the volunteer back from it, while the link is still valid (expired or revoked:
the area closes)."""
from __future__ import annotations

from flask import session
from flask_babel import force_locale, get_translations

from funnel import journey
from funnel.models import Volunteer

from ..extensions import db
from ..security.access import authenticates

SESSION_KEY = "volunteer_link"


def sign_in(link_public_id: str) -> None:
    from flask_login import logout_user

    logout_user()  # one browser, one identity: a staff session does not stay open beside a volunteer's
    session[SESSION_KEY] = link_public_id


def sign_out() -> None:
    session.pop(SESSION_KEY, None)


@authenticates("volunteer")
def current_volunteer() -> Volunteer | None:
    link = session.get(SESSION_KEY)
    if not isinstance(link, str):
        return None
    return journey.volunteer_of_link(db.session, link)


def translator(locale: str):
    """msgid -> text in `locale`, whatever the request's language (a document is rendered in its own)."""
    with force_locale(locale):
        translations = get_translations()
    return translations.ugettext
