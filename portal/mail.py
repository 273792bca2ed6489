"""Render an e-mail in the recipient's language and put it in the outbox (same transaction as the change)."""
from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import force_locale

from core.outbox import OutboxMessage, enqueue

from .extensions import db


def queue_mail(template: str, *, to: str | list[str], locale: str, cc: list[str] | None = None,
               attachment_ref: str | None = None, session=None, **context) -> OutboxMessage:
    """`template` names templates/email/<template>.txt, which defines the blocks `subject` and `body`."""
    jinja_template = current_app.jinja_env.get_template(f"email/{template}.txt")
    with _recipient_locale(locale):
        ctx = jinja_template.new_context(dict(context, locale=locale))
        subject = "".join(jinja_template.blocks["subject"](ctx)).strip()
        body = "".join(jinja_template.blocks["body"](ctx)).strip() + "\n"
    # in the caller's transaction: the message exists exactly when the change that caused it does
    return enqueue(session or db.session, to=to, cc=cc, subject=subject, body_text=body, template=template, locale=locale,
                   attachment_ref=attachment_ref)


@contextmanager
def _recipient_locale(locale: str):
    """Render in the recipient's language, not the request's: lift the per-request translation cache of
    portal.i18n while Flask-Babel's locale is forced."""
    saved = {key: g.pop(key, None) for key in ("_portal_locale", "_portal_translations")} if has_app_context() else {}
    try:
        with force_locale(locale):
            yield
    finally:
        if has_app_context():
            for key in ("_portal_locale", "_portal_translations"):
                g.pop(key, None)
                if saved.get(key) is not None:
                    setattr(g, key, saved[key])


@contextmanager
def link_context():
    """Let url_for(_external=True) work outside a request (worker, commands): links start with PUBLIC_URL."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        yield
        return
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        yield
