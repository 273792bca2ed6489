"""Partner commission statements on the API.

A partner token reads its own firm's statement (naming another firm is "not found"); a finance or admin token
names the firm with `organisation`. Every amount is an integer in minor units, owed to the partner positive,
one statement per currency: amounts in different currencies are never added up.
"""
from __future__ import annotations

from flask import abort, jsonify
from marshmallow import RAISE, Schema, ValidationError, fields
from sqlalchemy import select

from core.accounts import Organisation
from core.i18n import N_
from ledger.statements import LineKind, parse_period, partner_statement

from ..extensions import db
from ..security import policy
from ..security.access import permit, principal
from .blueprint import bp
from .common import InvalidBody, load_query
from .openapi import documented

#: what ledger.statements.parse_period accepts (1900-01 to 2999-12), for the OpenAPI document only
PERIOD = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"


def _month(value: str) -> None:
    try:
        parse_period(value)
    except ValueError:
        raise ValidationError(N_("A month as YYYY-MM.")) from None


class StatementQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    period = fields.String(required=True, validate=_month,
                           metadata={"description": "the month, YYYY-MM", "pattern": PERIOD})
    organisation = fields.String(load_default=None, metadata={
        "description": "the partner firm's id (finance and admin: required; partners: their own firm)"})


class StatementLineSchema(Schema):
    date = fields.Date(attribute="effective_date", metadata={"description": "posting date"})
    kind = fields.Function(lambda line: line.kind.value, metadata={"enum": [k.value for k in LineKind]})
    contract_reference = fields.String(allow_none=True, metadata={"description": "the contract's id"})
    policy_number = fields.String(allow_none=True)
    client_initials = fields.String(allow_none=True)
    term = fields.Integer(allow_none=True)
    payout_reference = fields.String(allow_none=True, metadata={"description": "the payout run, for a payout"})
    amount_minor = fields.Integer(metadata={"description": "minor units; owed to the partner is positive"})
    balance_after_minor = fields.Integer()


class StatementSchema(Schema):
    currency = fields.String()
    period_start = fields.Date(attribute="start")
    period_end = fields.Date(attribute="end")
    opening_balance_minor = fields.Integer(attribute="opening_minor",
                                           metadata={"description": "owed at the end of the day before the month"})
    lines = fields.List(fields.Nested(StatementLineSchema))
    closing_balance_minor = fields.Integer(attribute="closing_minor")
    held_minor = fields.Integer(metadata={"description": "of the closing balance: awaiting disclosure approval"})
    available_minor = fields.Integer(metadata={"description": "of the closing balance: payable at the next run"})


class StatementListSchema(Schema):
    organisation = fields.String()
    period = fields.String()
    statements = fields.List(fields.Nested(StatementSchema))


def _firm(requested: str | None) -> Organisation:
    user = principal()
    if user.is_partner:
        org = user.organisation
        if org is None or (requested and requested != org.public_id):
            abort(404)
        return org
    if not requested:
        raise InvalidBody(N_("Some fields are not valid."),
                          fields={"organisation": [N_("Name the partner firm (its id).")]})
    org = db.session.execute(select(Organisation).where(Organisation.public_id == requested)).scalar_one_or_none()
    if org is None:
        abort(404)
    return org


@bp.route("/statements")
@permit(policy.READ_STATEMENTS)
@documented(summary="A partner firm's commission statement for a month, per currency (partners: their own firm; "
                    "finance and admin: any firm, named by organisation)", response=StatementListSchema,
            tags=("statements",), errors=("401", "403", "404", "422"), query=StatementQuerySchema)
def statement_get():
    query = load_query(StatementQuerySchema())
    org = _firm(query["organisation"])
    statements = partner_statement(db.session, org.public_id, parse_period(query["period"]))
    return jsonify(StatementListSchema().dump({"organisation": org.public_id, "period": query["period"],
                                               "statements": statements}))
