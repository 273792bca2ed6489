"""The monthly bordereau to each insurer of the volunteers' top-up covers (funnel.bordereau): a month picker, the
insurer, the figures on screen and the CSV and XLSX downloads, headers in the reader's language."""
from __future__ import annotations

from flask import Response, abort, current_app, render_template, request
from sqlalchemy import select

from core.contracts import Insurer
from funnel.bordereau import CHANGE_LABELS, UnknownInsurer, bordereau
from funnel.bordereau_files import FORMATS, filename

from ...extensions import db
from ...i18n import tr
from ...security.access import allow
from ..blueprint import bp
from ..common import READERS, today
from ..forms import parse_month


def _insurers() -> list[Insurer]:
    return list(db.session.scalars(select(Insurer).order_by(Insurer.name)))


@bp.route("/bordereau")
@allow(*READERS)
def bordereau_page():
    month = parse_month(request.args.get("month")) or today().replace(day=1)
    insurers = _insurers()
    code = request.args.get("insurer") or current_app.config["FUNNEL_INSURER_CODE"]
    chosen = next((i for i in insurers if i.code == code), None)
    fmt = request.args.get("format")
    if fmt is not None and (fmt not in FORMATS or chosen is None):
        abort(404)
    b = None
    if chosen is not None:
        try:
            b = bordereau(db.session, chosen.code, f"{month:%Y-%m}")
        except UnknownInsurer:  # pragma: no cover (chosen among the insurers just read)
            abort(404)
    if fmt is not None:
        mimetype, make = FORMATS[fmt]
        return Response(make(b, tr), mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{filename(b, fmt)}"', "Cache-Control": "private, no-store"})
    return render_template("finance/bordereau.html", b=b, month=month, insurers=insurers, chosen=chosen,
                           change_labels=CHANGE_LABELS)
