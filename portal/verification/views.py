"""Anyone holding an agreement PDF can check it was issued here and is unmodified."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from agreements.verification import verify
from funnel.dunning import sealed_certificate_status
from funnel.journey import sealed_adhesion
from funnel.models import SubscriptionState

from ..agreements.services import seal_certificate_pem
from ..extensions import db, limiter
from ..security.access import public

bp = Blueprint("verification", __name__)


class VerifyForm(FlaskForm):
    file = FileField(_l("Agreement PDF"), validators=[FileRequired(_l("Choose the PDF file to check."))])


@bp.route("/verify", methods=["GET", "POST"])
@public
@limiter.limit("30 per hour", methods=["POST"])
def verify_page():
    form = VerifyForm()
    verdict = None
    if form.validate_on_submit():
        verdict = verify(db.session, form.file.data.read(), seal_certificate_pem(), finders=(sealed_adhesion, sealed_certificate_status))
    status = 422 if form.errors else 200
    return render_template("verification/verify.html", form=form, verdict=verdict,
                           adhesion_state=SubscriptionState), status
