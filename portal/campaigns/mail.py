"""A campaign e-mail as it leaves: the step's fr/en template, the personal link (through the click redirect), a
footer to unsubscribe or refuse tracking, the List-Unsubscribe headers (RFC 2369, one click per RFC 8058), and
an HTML alternative carrying the tracking pixel. Rendered by the outbox worker, at send time, so a volunteer who
refused tracking or unsubscribed in between gets neither the pixel nor tracked links."""
from __future__ import annotations

import re

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import escape

from core.outbox import RenderedMail
from funnel import campaigns
from funnel.campaign_plan import STEPS, CampaignStep, campaign_language
from funnel.models import Volunteer

from ..mail import FOLDER_RENDERERS, _recipient_locale

SALTS = {"open": "campaign-open", "click": "campaign-click", "unsubscribe": "campaign-unsubscribe"}
#: where a click may lead: named targets only, each built here from our own routes (never a URL from the request)
TARGETS = ("area",)
PREVIEW = "preview"


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALTS[purpose])


def sign(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str) -> dict | None:
    """The payload of a token signed for `purpose`, or None when it is not one of ours."""
    try:
        payload = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, dict) else None


def personal_url(link_token: str | None, send_public_id: str | None, tracked: bool) -> str | None:
    if link_token is None:
        return None
    if tracked and send_public_id:
        return url_for("campaign_links.click", token=sign("click", {"s": send_public_id, "k": "area",
                                                                   "t": link_token}), _external=True)
    return url_for("volunteer.open_link", token=link_token, _external=True)


def _html(body: str, pixel: str | None) -> str:
    paragraphs = []
    for block in body.strip().split("\n\n"):
        text = str(escape(block))
        text = re.sub(r"(https?://[^\s<]+)", r'<a href="\1">\1</a>', text).replace("\n", "<br>\n")
        paragraphs.append(f"<p>{text}</p>")
    img = f'<img src="{escape(pixel)}" width="1" height="1" alt="">' if pixel else ""
    return ('<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">'
            + "\n".join(paragraphs) + img + "</body></html>")


def compose(step: CampaignStep, volunteer: Volunteer, language: str, *, send_public_id: str | None = None,
            link_token: str | None = None, tracked: bool = True) -> RenderedMail:
    """The e-mail of `step` for `volunteer` in `language` (fr or en); without a send (a preview, a test), its
    links point nowhere real and nothing is measured."""
    language = campaign_language(language)
    tracked = tracked and send_public_id is not None
    jinja_template = current_app.jinja_env.get_template(f"email/{step.template(language)}.txt")
    unsubscribe = url_for("campaign_links.unsubscribe", _external=True,
                          token=sign("unsubscribe", {"s": send_public_id}) if send_public_id else PREVIEW)
    with _recipient_locale(language):
        ctx = jinja_template.new_context({"volunteer": volunteer, "first_name": volunteer.first_name,
                                          "personal_url": personal_url(link_token, send_public_id, tracked),
                                          "locale": language})
        subject = "".join(jinja_template.blocks["subject"](ctx)).strip()
        body = "".join(jinja_template.blocks["body"](ctx)).strip()
        footer = _("You receive this e-mail as a volunteer of the international volunteer programme. To receive "
                   "no more of these e-mails, or to keep them without their opening being measured: %(url)s",
                   url=unsubscribe)
    body = f"{body}\n\n--\n{footer}\n"
    pixel = (url_for("campaign_links.pixel", token=sign("open", {"s": send_public_id}), _external=True)
             if tracked else None)
    return RenderedMail(subject, body, _html(body, pixel), {
        "List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})


def render(session, template: str, locale: str, context: dict) -> RenderedMail:
    """The outbox worker's renderer of a queued campaign e-mail (context: the send's public id, the link token)."""
    send = campaigns.find_send(session, context["campaign_send"])
    tracked = campaigns.tracking_allowed(session, send.volunteer)
    return compose(STEPS[send.step], send.volunteer, send.language, send_public_id=send.public_id,
                   link_token=context.get("link_token"), tracked=tracked)


FOLDER_RENDERERS["campaign"] = render
