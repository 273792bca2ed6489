"""Leads on the API. Introducer tokens create and read their firm's leads; the contract is strict: a field
outside it is refused by name, so nothing else (medical data above all) can travel with a referral."""
from __future__ import annotations

from flask import abort, jsonify, request
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from compliance.consent_receipts import ConsentMethod
from core.accounts import LANGUAGES, PartnerStatus
from pipeline.leads import services
from pipeline.leads.models import CHOOSABLE_NEED_CATEGORIES, NEED_SUMMARY_MAX, Consent, Lead, LeadStatus, NeedCategory

from ..edge import api_unit_of_work
from ..extensions import db
from ..security import policy
from ..security.access import PARTNERS, allow, permit, principal
from ..security.scoping import scoped
from .blueprint import bp
from .common import (
    PageQuerySchema,
    create_once,
    created_between,
    creation_response,
    idempotency_key,
    load_body,
    load_query,
    page_response,
    page_schema,
)
from .openapi import documented

INTRODUCERS = (PartnerStatus.introducer,)


class ConsentInSchema(Schema):
    class Meta:
        unknown = RAISE

    share_with_broker = fields.Boolean(required=True)
    cc_on_milestones = fields.Boolean(required=True)
    text_version = fields.String(required=True, validate=validate.Length(max=16))
    given_at = fields.AwareDateTime(required=True)


class LeadInSchema(Schema):
    class Meta:
        unknown = RAISE

    first_name = fields.String(required=True, validate=validate.Length(1, 100))
    last_name = fields.String(required=True, validate=validate.Length(1, 100))
    email = fields.String(load_default=None, validate=validate.Length(max=254))
    phone = fields.String(load_default=None, validate=validate.Length(max=32))
    country_of_residence = fields.String(required=True, validate=validate.Length(equal=2))
    timeline = fields.String(required=True, validate=validate.Length(1, 32),
                             metadata={"description": "YYYY-MM-DD, or asap / within_3_months / within_6_months / later"})
    need_category = fields.String(required=True, validate=validate.OneOf([c.value for c in CHOOSABLE_NEED_CATEGORIES]),
                                  metadata={"description": "The kind of client the referral is about"})
    need_summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=NEED_SUMMARY_MAX),
                                 metadata={"description": "An optional short note. Never health details: a note "
                                                          "with health data (health_data_not_allowed) or that may "
                                                          "hide some (health_data_suspected) is refused with 422 "
                                                          "and not stored."})
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    consent = fields.Nested(ConsentInSchema, required=True)


class LeadSchema(Schema):
    """What an introducer may read back: what it sent, and milestone-level progress."""

    id = fields.String(attribute="public_id")
    status = fields.Function(lambda lead: lead.status.value,
                             metadata={"enum": [s.value for s in LeadStatus]})
    created_at = fields.DateTime()
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    country_of_residence = fields.String()
    timeline = fields.String()
    need_category = fields.Function(lambda lead: lead.need_category.value,
                                    metadata={"enum": [c.value for c in NeedCategory]})
    need_summary = fields.String(allow_none=True)
    language = fields.String()
    consent = fields.Function(lambda lead: {"share_with_broker": True, "cc_on_milestones": lead.consent.cc_allowed,
                                            "text_version": lead.consent.text_version,
                                            "given_at": lead.consent.given_at.isoformat()})


LeadListSchema = page_schema(LeadSchema, "LeadListSchema")


def _keep_refusal_trace(refusal) -> None:
    services.keep_refusal_trace(db.session, principal(), refusal, request.remote_addr)


@bp.route("/leads", methods=["POST"])
@allow(*PARTNERS, statuses=INTRODUCERS)
@documented(summary="Refer a consent-minimal lead (Idempotency-Key header honoured)", response=LeadSchema,
            status=201, tags=("leads",), errors=("401", "403", "422"), body=LeadInSchema)
@api_unit_of_work(keep=_keep_refusal_trace)
def lead_create():
    data = load_body(LeadInSchema())
    values = services.LeadInput(consent=services.ConsentInput(**data.pop("consent")), **data)
    lead, created = create_once(lambda: services.submit_lead(
        db.session, principal(), values, idempotency_key=idempotency_key(), ip=request.remote_addr,
        method=ConsentMethod.partner_api))
    return creation_response(lead, LeadSchema(), created, "api.lead_get")


@bp.route("/leads/<public_id>")
@permit(policy.READ_LEADS)
@documented(summary="One lead of the caller's firm", response=LeadSchema, tags=("leads",),
            errors=("401", "403", "404"))
def lead_get(public_id: str):
    lead = db.session.execute(scoped(select(Lead).where(Lead.public_id == public_id), Lead,
                                     principal())).scalar_one_or_none()
    if lead is None:
        abort(404)
    return jsonify(LeadSchema().dump(lead))


class LeadQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in LeadStatus]))


@bp.route("/leads")
@permit(policy.READ_LEADS)
@documented(summary="Leads of the caller's firm (staff: all), newest first", response=LeadListSchema,
            tags=("leads",), errors=("401", "403", "422"), query=LeadQuerySchema)
def lead_list():
    query = load_query(LeadQuerySchema())
    stmt = scoped(select(Lead), Lead, principal()).order_by(Lead.id.desc()).options(
        selectinload(Lead.consent).selectinload(Consent.withdrawals))
    if query["status"]:
        stmt = stmt.where(Lead.status == LeadStatus(query["status"]))
    stmt = created_between(stmt, Lead.created_at, query)
    return page_response(stmt, LeadSchema(many=True), query)
