"""Cases on the API: partner brokers submit and read their firm's cases; staff read all."""
from __future__ import annotations

from flask import abort, current_app, jsonify, request
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from compliance.consent_receipts import ConsentMethod
from core.accounts import LANGUAGES, CommunicationModel, PartnerStatus
from core.contracts import Contract
from core.products import NOT_A_PARTNER_LINE, PARTNER_LINES, ProductLine
from pipeline.cases import crossborder as _crossborder  # noqa: F401  (defines Case.cross_border_check)
from pipeline.cases import crypto, services
from pipeline.cases.models import BudgetBand, Case, CaseStatus, Milestone
from pipeline.cases.stages import KEY_MILESTONES, NEXT_STEP, OPEN_STAGES
from pipeline.leads.services import ConsentInput

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
from .leads import ConsentInSchema
from .openapi import documented

BROKERS = (PartnerStatus.specialist_broker, PartnerStatus.generalist_broker)


def _enum(enum_cls):
    return fields.String(required=True, validate=validate.OneOf([m.value for m in enum_cls]))


class CaseInSchema(Schema):
    class Meta:
        unknown = RAISE

    client_first_name = fields.String(required=True, validate=validate.Length(1, 100))
    client_last_name = fields.String(required=True, validate=validate.Length(1, 100))
    client_email = fields.String(load_default=None, validate=validate.Length(max=254))
    client_phone = fields.String(load_default=None, validate=validate.Length(max=32))
    adults = fields.Integer(required=True, strict=True)
    children = fields.Integer(required=True, strict=True)
    ages = fields.List(fields.Integer(strict=True), required=True)
    nationality = fields.String(required=True)
    country_of_residence = fields.String(required=True)
    travel_countries = fields.List(fields.String(), load_default=list)
    start_date = fields.Date(required=True)
    product_line = fields.String(required=True, validate=validate.OneOf(
        [m.value for m in PARTNER_LINES], error=NOT_A_PARTNER_LINE + " ({choices})"),
        metadata={"description": "a partner line: the volunteers' top-ups are direct online sales"})
    budget_band = _enum(BudgetBand)
    current_cover = fields.String(load_default=None, validate=validate.Length(max=255))
    renewal_date = fields.Date(load_default=None)
    communication_model = _enum(CommunicationModel)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    consent = fields.Nested(ConsentInSchema, required=True)
    case_summary = fields.String(load_default=None, metadata={"description": "specialist brokers only"})
    underwriting_sensitivities = fields.String(load_default=None, metadata={"description": "specialist brokers only"})


class ContractSchema(Schema):
    id = fields.String(attribute="public_id")
    insurer = fields.Function(lambda c: c.insurer.name)
    policy_number = fields.String()
    product_line = fields.Function(lambda c: c.product_line.value)
    premium_minor = fields.Integer(metadata={"description": "yearly premium of the current term, minor units"})
    currency = fields.String()
    start_date = fields.Date()
    status = fields.Function(lambda c: c.status.value)
    cancelled_on = fields.Date()



def _keys() -> str:
    return current_app.config["CASE_ENCRYPTION_KEYS"]

class CaseSchema(Schema):
    id = fields.String(attribute="public_id")
    status = fields.Function(lambda c: c.status.value, metadata={"enum": [s.value for s in CaseStatus]})
    created_at = fields.DateTime()
    client_first_name = fields.String()
    client_last_name = fields.String()
    adults = fields.Integer()
    children = fields.Integer()
    ages = fields.List(fields.Integer())
    nationality = fields.String()
    country_of_residence = fields.String()
    travel_countries = fields.List(fields.String())
    start_date = fields.Date()
    product_line = fields.Function(lambda c: c.product_line.value)
    budget_band = fields.Function(lambda c: c.budget_band.value)
    communication_model = fields.Function(lambda c: c.communication_model.value)
    case_summary = fields.Function(lambda c: crypto.decrypt(c.case_summary_encrypted, _keys()))
    underwriting_sensitivities = fields.Function(lambda c: crypto.decrypt(c.underwriting_encrypted, _keys()))
    stage_entered_at = fields.DateTime()
    next_step = fields.Function(lambda c: NEXT_STEP.get(c.status), metadata={"description": "in English"})
    compliance_check_pending = fields.Function(
        lambda c: bool(c.cross_border_check and c.cross_border_check.pending),
        metadata={"description": "a cross-border compliance check is pending (the client lives in another state "
                                 "than the firm's): a held case moves no further until compliance releases it"})
    contract = fields.Nested(ContractSchema, allow_none=True)


class MilestoneSchema(Schema):
    id = fields.String(attribute="public_id")
    stage = fields.Function(lambda m: m.stage.value)
    previous_stage = fields.Function(lambda m: m.previous_stage.value if m.previous_stage else None)
    at = fields.DateTime(attribute="created_at")
    key = fields.Function(lambda m: m.stage in KEY_MILESTONES, metadata={"description": "a key milestone"})
    partner_note = fields.String(allow_none=True)


class StaffMilestoneSchema(MilestoneSchema):
    internal_note = fields.String(allow_none=True)
    recorded_by = fields.Function(lambda m: m.recorded_by.full_name)


class MilestoneListSchema(Schema):
    items = fields.List(fields.Nested(StaffMilestoneSchema))


class CaseQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(["open"] + [s.value for s in CaseStatus]))
    product_line = fields.String(load_default=None, validate=validate.OneOf([p.value for p in PARTNER_LINES]))


CaseListSchema = page_schema(CaseSchema, "CaseListSchema")


@bp.route("/cases", methods=["POST"])
@allow(*PARTNERS, statuses=BROKERS)
@documented(summary="Submit a case (broker firms; Idempotency-Key header honoured)", response=CaseSchema,
            status=201, tags=("cases",), errors=("401", "403", "422"), body=CaseInSchema)
@api_unit_of_work
def case_create():
    data = load_body(CaseInSchema())
    data.update(product_line=ProductLine(data["product_line"]), budget_band=BudgetBand(data["budget_band"]),
                communication_model=CommunicationModel(data["communication_model"]),
                consent=ConsentInput(**data["consent"]))
    values = services.CaseInput(**data)
    case, created = create_once(lambda: services.submit_case(
        db.session, principal(), values, idempotency_key=idempotency_key(), ip=request.remote_addr,
        keys=_keys(), training_blocks=current_app.config["TRAINING_BLOCKS_CASES"],
        method=ConsentMethod.partner_api))
    return creation_response(case, CaseSchema(), created, "api.case_get")


def _case_schema(**kwargs) -> CaseSchema:
    """Finance staff do not read the specialist's encrypted texts; the submitting firm and the other staff do."""
    if not policy.may_read_underwriting(principal()):
        return CaseSchema(exclude=("case_summary", "underwriting_sensitivities"), **kwargs)
    return CaseSchema(**kwargs)


def _scoped_case(public_id: str) -> Case:
    case = db.session.execute(scoped(select(Case).where(Case.public_id == public_id), Case,
                                     principal())).scalar_one_or_none()
    if case is None:
        abort(404)
    return case


@bp.route("/cases/<public_id>")
@permit(policy.READ_CASES)
@documented(summary="One case of the caller's firm (staff: any)", response=CaseSchema, tags=("cases",),
            errors=("401", "403", "404"))
def case_get(public_id: str):
    return jsonify(_case_schema().dump(_scoped_case(public_id)))


@bp.route("/cases/<public_id>/milestones")
@permit(policy.READ_CASES)
@documented(summary="The case's history, oldest first (who recorded: staff only; internal notes: the staff who "
                    "work the case, not finance)",
            response=MilestoneListSchema, tags=("cases",), errors=("401", "403", "404"))
def case_milestones(public_id: str):
    case = _scoped_case(public_id)
    rows = db.session.execute(select(Milestone).where(Milestone.case_id == case.id)
                              .order_by(Milestone.id)).scalars().all()
    user = principal()
    if not user.is_staff:
        schema = MilestoneSchema(many=True)
    elif policy.may_read_internal_notes(user):
        schema = StaffMilestoneSchema(many=True)
    else:
        schema = StaffMilestoneSchema(many=True, exclude=("internal_note",))
    return jsonify(items=schema.dump(rows))


@bp.route("/cases")
@permit(policy.READ_CASES)
@documented(summary="Cases of the caller's firm (staff: all), newest first; status=open for the work in progress",
            response=CaseListSchema, tags=("cases",), errors=("401", "403", "422"), query=CaseQuerySchema)
def case_list():
    query = load_query(CaseQuerySchema())
    stmt = scoped(select(Case), Case, principal()).order_by(Case.id.desc()).options(
        selectinload(Case.contract).joinedload(Contract.insurer), selectinload(Case.cross_border_check))
    if query["status"] == "open":
        stmt = stmt.where(Case.status.in_(OPEN_STAGES))
    elif query["status"]:
        stmt = stmt.where(Case.status == CaseStatus(query["status"]))
    if query["product_line"]:
        stmt = stmt.where(Case.product_line == ProductLine(query["product_line"]))
    stmt = created_between(stmt, Case.created_at, query)
    return page_response(stmt, _case_schema(many=True), query)
