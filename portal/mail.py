"""Render an e-mail in the recipient's language and put it in the outbox (same transaction as the change), or
render, when the worker delivers it, a mail the domain queued as a template, a locale and a JSON context."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import force_locale
from sqlalchemy import select

from core.contracts import Contract
from core.outbox import OutboxMessage, enqueue, mail_renderer
from pipeline.cases.models import Case, Milestone
from pipeline.leads.models import LeadStatus

from .extensions import db


def queue_mail(template: str, *, to: str | list[str], locale: str, cc: list[str] | None = None,
               attachment_ref: str | None = None, session=None, **context) -> OutboxMessage:
    """`template` names templates/email/<template>.txt, which defines the blocks `subject` and `body`."""
    subject, body = render(template, locale, context)
    # in the caller's transaction: the message exists exactly when the change that caused it does
    return enqueue(session or db.session, to=to, cc=cc, subject=subject, body_text=body, template=template, locale=locale,
                   attachment_ref=attachment_ref)


def render(template: str, locale: str, context: dict) -> tuple[str, str]:
    jinja_template = current_app.jinja_env.get_template(f"email/{template}.txt")
    with _recipient_locale(locale):
        ctx = jinja_template.new_context(dict(context, locale=locale))
        subject = "".join(jinja_template.blocks["subject"](ctx)).strip()
        body = "".join(jinja_template.blocks["body"](ctx)).strip() + "\n"
    return subject, body


def _by_public_id(model):
    return lambda session, value: session.execute(select(model).where(model.public_id == value)).scalar_one()


#: how a context value the domain queued comes back as what the template reads
CONTEXT_LOADERS = {"case": _by_public_id(Case), "milestone": _by_public_id(Milestone),
                   "contract": _by_public_id(Contract), "lead_status": lambda _session, value: LeadStatus(value)}


#: template folder -> renderer(session, template, locale, context) for mail that builds its own context and may
#: return a core.outbox.RenderedMail (the campaign e-mails: portal.campaigns.mail)
FOLDER_RENDERERS: dict[str, Callable] = {}


@mail_renderer
def render_queued(session, template: str, locale: str, context: dict):
    folder, _, _name = template.rpartition("/")
    if folder in FOLDER_RENDERERS:
        with link_context():
            return FOLDER_RENDERERS[folder](session, template, locale, context)
    values = {key: None if value is None else CONTEXT_LOADERS[key](session, value) for key, value in context.items()}
    with link_context():
        return render(template, locale, values)


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
