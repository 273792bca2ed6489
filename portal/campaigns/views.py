"""The integration campaign for the broker's staff: the plan with the programme's reported open rates beside
ours, each step's e-mail previewed in French and English with a sample volunteer, and a test sent to oneself.
Administrators and account managers (who work the volunteers' subscriptions)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.db import utcnow
from core.outbox import enqueue
from funnel import campaigns
from funnel.campaign_plan import CAMPAIGN_LANGUAGES, STEPS, CampaignStep
from funnel.catalogue import Programme
from funnel.models import Volunteer, VolunteerState

from ..edge import done, unit_of_work
from ..extensions import db
from ..i18n import tr
from ..security.access import allow
from ..subscriptions.views import SUBSCRIPTION_STAFF
from .mail import compose

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


def sample_volunteer(step: CampaignStep, language: str) -> Volunteer:
    """A volunteer made up for the preview (never saved), on mission where the step is meant for."""
    today = utcnow().date()
    country = {"us_missions": "US", "malaria_zones": "SN"}.get(step.audience.value, "DE")
    return Volunteer(first_name="Camille", last_name="Durand", email="camille.durand@example.org",
                     programme=Programme.VIE, mission_country=country, language=language,
                     mission_start=today - timedelta(days=10), mission_end=today + timedelta(days=355),
                     state=VolunteerState.in_post)


def _step_and_language(values) -> tuple[CampaignStep, str]:
    step, lang = STEPS.get(values.get("step", "")), values.get("lang", "fr")
    if step is None or lang not in CAMPAIGN_LANGUAGES:
        abort(404)
    return step, lang


def _preview(step: CampaignStep, lang: str):
    sample = sample_volunteer(step, lang)
    return sample, compose(step, sample, lang, link_token="sample-link" if step.personal_link else None,
                           tracked=False)


@bp.route("/")
@allow(*SUBSCRIPTION_STAFF)
def index():
    return render_template("campaigns/index.html", figures=campaigns.figures(db.session),
                           languages=CAMPAIGN_LANGUAGES)


@bp.route("/preview")
@allow(*SUBSCRIPTION_STAFF)
def preview():
    step, lang = _step_and_language(request.args)
    sample, mail = _preview(step, lang)
    return render_template("campaigns/preview.html", step=step, lang=lang, sample=sample, mail=mail,
                           languages=CAMPAIGN_LANGUAGES)


@bp.route("/preview/test", methods=["POST"])
@allow(*SUBSCRIPTION_STAFF)
def send_test():
    """The step's e-mail, as the sample volunteer would get it, to the staff member's own address."""
    step, lang = _step_and_language(request.form)
    _sample, mail = _preview(step, lang)
    with unit_of_work():
        message = enqueue(db.session, to=current_user.email, subject=f"[TEST] {mail.subject}", body_text=mail.body,
                          template=step.template(lang), locale=lang)
        message.body_html, message.headers = mail.html, None
    return done(_("A test of “%(step)s” (%(lang)s) was sent to %(email)s.", step=tr(step.label), lang=lang,
                  email=current_user.email), url_for("campaigns.preview", step=step.code, lang=lang))
