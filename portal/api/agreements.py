"""Agreements on the API: partner tokens see their own firm's, staff tokens all; anyone may verify a PDF."""
from __future__ import annotations

from flask import Response, abort, jsonify, request, url_for
from marshmallow import Schema, fields
from sqlalchemy import select

from agreements.models import Agreement
from agreements.verification import MAX_UPLOAD, verify
from core.accounts import Role

from ..agreements.services import seal_certificate_pem
from ..errors import api_error
from ..extensions import db, limiter
from ..security import policy
from ..security.access import PARTNERS, STAFF, allow, principal, public
from ..security.scoping import scoped
from .blueprint import bp
from .common import PageQuerySchema, created_between, load_query, page_response, page_schema
from .openapi import documented


class AgreementSchema(Schema):
    id = fields.String(attribute="public_id")
    reference = fields.String()
    organisation = fields.Function(lambda a: {"id": a.organisation.public_id, "legal_name": a.organisation.legal_name})
    kind = fields.Function(lambda a: a.kind.value, metadata={"enum": ["collaboration", "introduction"]})
    status = fields.Function(lambda a: a.status.value)
    template_version = fields.String()
    language = fields.String()
    effective_from = fields.Date()
    effective_to = fields.Date(allow_none=True)
    pdf = fields.Method("pdf_link", allow_none=True,
                        metadata={"description": "the sealed PDF (or the copy for signature); null when the "
                                                 "caller may not see the commission rates it contains"})

    def pdf_link(self, agreement):
        user = self.context_user
        if agreement.document_pdf is None or not policy.may_see_rates(user, agreement):
            return None
        return url_for("api.agreement_pdf", public_id=agreement.public_id, _external=True)


AgreementListSchema = page_schema(AgreementSchema, "AgreementListSchema")


class VerdictSchema(Schema):
    issued_here = fields.Boolean()
    intact = fields.Boolean()
    status = fields.String(allow_none=True)
    agreement_id = fields.String(allow_none=True)


@bp.route("/agreements")
@allow(*STAFF, *PARTNERS)
@documented(summary="Agreements of the caller's firm (staff: all)", response=AgreementListSchema,
            tags=("agreements",), errors=("401", "403", "422"), query=PageQuerySchema)
def agreements():
    query = load_query(PageQuerySchema())
    schema = AgreementSchema(many=True)
    schema.context_user = principal()
    stmt = scoped(select(Agreement), Agreement, principal()).order_by(Agreement.id.desc())
    return page_response(created_between(stmt, Agreement.created_at, query), schema, query)


@bp.route("/agreements/<public_id>/pdf")
@allow(Role.admin, Role.compliance, Role.finance, Role.partner_admin)
@documented(summary="The sealed agreement PDF (or the copy for signature)", tags=("agreements",),
            errors=("401", "403", "404"))
def agreement_pdf(public_id: str):
    user = principal()
    agreement = db.session.execute(scoped(select(Agreement).where(Agreement.public_id == public_id), Agreement,
                                          user)).scalar_one_or_none()
    if agreement is None or not policy.may_see_rates(user, agreement):
        abort(404)
    pdf = agreement.sealed_pdf or agreement.document_pdf
    if pdf is None:
        abort(404)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{agreement.reference}.pdf"'})


@bp.route("/agreements/verify", methods=["POST"])
@public
@limiter.limit("60 per hour")
@documented(summary="Check whether a PDF is an agreement issued here and intact (multipart field `file`)",
            response=VerdictSchema, tags=("agreements",), errors=("413", "422", "429"), public=True, upload="file")
def agreement_verify():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        from flask_babel import gettext as _

        return api_error(422, "validation_error", _("Send the PDF in the multipart field “file”."),
                         {"file": [_("Choose the PDF file to check.")]})
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        abort(413)
    return jsonify(verify(db.session, data, seal_certificate_pem()).as_dict())
