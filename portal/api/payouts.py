"""Payout runs on the API (finance tokens only): the runs, their lines and exclusions, their SEPA file."""
from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from ledger.models import PayoutRun, RunStatus
from ledger.payouts import get_run

from ..extensions import db
from ..finance.exports import pain001_response
from ..security import policy
from ..security.access import permit
from .blueprint import bp
from .common import PageQuerySchema, created_between, load_query, page_response, page_schema
from .openapi import documented


class PayoutLineSchema(Schema):
    partner = fields.String(metadata={"description": "the partner firm's id"})
    payee_name = fields.String()
    iban = fields.String()
    bic = fields.String()
    amount_minor = fields.Integer()
    end_to_end_id = fields.String()


class PayoutExclusionSchema(Schema):
    partner = fields.String()
    payee_name = fields.String()
    reason = fields.Function(lambda ex: ex.reason.value)
    balance_minor = fields.Integer()
    # a share not yet due (reason "not_yet_due"): its contract and term, its payment terms and due date
    policy_number = fields.String(allow_none=True)
    term = fields.Integer(allow_none=True)
    payment_terms_days = fields.Integer(allow_none=True)
    payment_terms_basis = fields.Function(
        lambda ex: ex.payment_terms_basis.value if ex.payment_terms_basis else None, allow_none=True,
        metadata={"description": "statement_month_end or premium_received"})
    due_on = fields.Date(allow_none=True, metadata={"description": "null: counted from the insurer's payment, "
                                                                  "not received yet"})


class PayoutRunSchema(Schema):
    id = fields.String(attribute="public_id")
    reference = fields.String()
    period = fields.Function(lambda run: f"{run.period:%Y-%m}")
    currency = fields.String()
    status = fields.Function(lambda run: run.status.value)
    total_minor = fields.Integer()
    execution_date = fields.Date()
    prepared_by = fields.String(attribute="prepared_by_name")
    approved_by = fields.String(attribute="approved_by_name", allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    settled_at = fields.DateTime(allow_none=True)
    bank_reference = fields.String(allow_none=True)
    pain001_sha256 = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(PayoutLineSchema))
    exclusions = fields.List(fields.Nested(PayoutExclusionSchema))


PayoutRunListSchema = page_schema(PayoutRunSchema, "PayoutRunListSchema")


class PayoutRunQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf([s.value for s in RunStatus]))
    currency = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Z]{3}$"))


@bp.route("/payout-runs")
@permit(policy.READ_PAYOUT_RUNS)
@documented(summary="Payout runs, newest first, with their lines and exclusions (finance; admin reads)",
            response=PayoutRunListSchema, tags=("finance",), errors=("401", "403", "422"),
            query=PayoutRunQuerySchema)
def payout_run_list():
    query = load_query(PayoutRunQuerySchema())
    stmt = select(PayoutRun).order_by(PayoutRun.id.desc())
    if query.get("status"):
        stmt = stmt.where(PayoutRun.status == RunStatus(query["status"]))
    if query.get("currency"):
        stmt = stmt.where(PayoutRun.currency == query["currency"])
    return page_response(created_between(stmt, PayoutRun.created_at, query), PayoutRunSchema(many=True), query)


@bp.route("/payout-runs/<public_id>")
@permit(policy.READ_PAYOUT_RUNS)
@documented(summary="One payout run (finance; admin reads)", response=PayoutRunSchema, tags=("finance",),
            errors=("401", "403", "404"))
def payout_run_get(public_id: str):
    return PayoutRunSchema().dump(get_run(db.session, public_id))


@bp.route("/payout-runs/<public_id>/pain001")
@permit(policy.READ_PAYOUT_RUNS)
@documented(summary="The run's SEPA credit transfer file (pain.001.001.03 XML), once approved (finance; admin "
                    "reads)",
            tags=("finance",), errors=("401", "403", "404"))
def payout_run_pain001(public_id: str):
    return pain001_response(get_run(db.session, public_id))
