"""Render an e-mail in the recipient's language and put it in the outbox (same transaction as the change)."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale

from core.outbox import OutboxMessage, enqueue

from .extensions import db


def queue_mail(template: str, *, to: str | list[str], locale: str, cc: list[str] | None = None,
               attachment_ref: str | None = None, **context) -> OutboxMessage:
    """`template` names templates/email/<template>.txt, which defines the blocks `subject` and `body`."""
    jinja_template = current_app.jinja_env.get_template(f"email/{template}.txt")
    with force_locale(locale):
        ctx = jinja_template.new_context(dict(context, locale=locale))
        subject = "".join(jinja_template.blocks["subject"](ctx)).strip()
        body = "".join(jinja_template.blocks["body"](ctx)).strip() + "\n"
    return enqueue(db.session, to=to, cc=cc, subject=subject, body_text=body, template=template, locale=locale,
                   attachment_ref=attachment_ref)
