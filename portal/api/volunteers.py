"""The programme operator's roster feed: batches of affiliation, radiation, prolongation and interruption events,
and a volunteer's roster record read back. Only the operator's service account uses these (DESIGN.md §2: the
broker's staff import files on the roster screens instead), and what it reads back is the roster only — never
whether or what a volunteer bought."""
from __future__ import annotations

from flask import jsonify, request
from marshmallow import RAISE, Schema, fields, validate

from core.accounts import Role
from core.i18n import N_
from funnel.catalogue import DEPENDANT_CATEGORIES, Programme
from funnel.models import DependantSource, Outcome, VolunteerState
from funnel.roster import RecordResult
from funnel.roster_feed import MAX_BATCH, receive_batch
from funnel.volunteers import find_volunteer

from ..edge import api_unit_of_work
from ..extensions import db
from ..i18n import tr
from ..security.access import allow, principal
from .blueprint import bp
from .common import load_body
from .openapi import documented

OPERATOR = Role.programme_operator
BATCH_SIZE_MESSAGE = N_("Send 1 to 500 events per batch: split a longer roster into several batches.")


class BatchInSchema(Schema):
    class Meta:
        unknown = RAISE

    events = fields.List(
        fields.Raw(allow_none=True, metadata={
            "type": "object",
            "description": "One roster record: affiliation (event, event_id, occurred_at, file_ref, first_name, "
                           "last_name, email, birth_date, programme, mission_country, mission_start, mission_end, "
                           "language, optional dependants [{category, birth_date, first_name?, last_name?}]); "
                           "radiation (end_date); interruption (end_date, reason); prolongation (mission_end). "
                           "Each record is checked on its own: a bad one is answered with its reasons."}),
        required=True, validate=validate.Length(min=1, max=MAX_BATCH, error=BATCH_SIZE_MESSAGE),
        metadata={"description": f"At most {MAX_BATCH} records; a larger batch is refused whole (422)."})


class ProblemSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True, metadata={"description": "in the caller's language"})


class RecordResultSchema(Schema):
    position = fields.Integer(required=True, metadata={"description": "the record's place in the batch, from 0"})
    event_id = fields.String(allow_none=True)
    file_ref = fields.String(allow_none=True)
    result = fields.String(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    volunteer = fields.String(allow_none=True, metadata={"description": "the volunteer's opaque id"})
    changed = fields.List(fields.String(), metadata={"description": "the roster fields the event changed"})
    reasons = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(ProblemSchema)),
                          metadata={"description": "for a rejected record: the problems, by field"})
    replayed = fields.Boolean(metadata={"description": "applied by an earlier delivery: the answer given then"})
    superseded = fields.Boolean(metadata={"description": "a newer event had already set what this one said"})


class BatchResultSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the import's opaque id"})
    received = fields.Integer(required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    replayed = fields.Integer(required=True)
    results = fields.List(fields.Nested(RecordResultSchema), required=True)


class RosterDependantSchema(Schema):
    category = fields.Function(lambda d: d.category.value, metadata={"enum": [c.value for c in DEPENDANT_CATEGORIES]})
    birth_date = fields.Date()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)


class RosterVolunteerSchema(Schema):
    """The roster's fields as the feed set them. Nothing about quotes, subscriptions or payments."""

    file_ref = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String()
    birth_date = fields.Date()
    programme = fields.Function(lambda v: v.programme.value, metadata={"enum": [p.value for p in Programme]})
    mission_country = fields.String()
    mission_start = fields.Date()
    mission_end = fields.Date()
    language = fields.String()
    state = fields.Function(lambda v: v.state.value, metadata={"enum": [s.value for s in VolunteerState]})
    end_reason = fields.String(allow_none=True)
    dependants = fields.Function(
        lambda v: RosterDependantSchema(many=True).dump(
            [d for d in v.current_dependants if d.source is DependantSource.roster]),
        metadata={"type": "array", "items": {"type": "object"},
                  "description": "the dependants the roster carries (those the volunteer declared are not shown)"})
    details_as_of = fields.DateTime(metadata={"description": "time of the newest event applied to the details"})
    mission_as_of = fields.DateTime(metadata={"description": "time of the newest event applied to the mission's end"})


def _result(result: RecordResult) -> dict:
    data = result.as_dict()
    data["reasons"] = {name: [{"code": p.code, "message": tr(p.message)} for p in problems]
                       for name, problems in result.reasons.items()}
    return data


@bp.route("/volunteers/batch", methods=["POST"])
@allow(OPERATOR)
@documented(summary="Apply a batch of roster events (each record answered on its own; replays answer as before)",
            response=BatchResultSchema, tags=("roster",), errors=("401", "403", "422"), body=BatchInSchema)
@api_unit_of_work
def volunteer_batch():
    data = load_body(BatchInSchema())
    batch = receive_batch(db.session, principal(), data["events"], ip=request.remote_addr)
    imported = batch.roster_import
    return jsonify(id=imported.public_id, received=imported.received, created=imported.created,
                   updated=imported.updated, unchanged=imported.unchanged, rejected=imported.rejected,
                   replayed=imported.replayed, results=[_result(r) for r in batch.results])


@bp.route("/volunteers/<file_ref>")
@allow(OPERATOR)
@documented(summary="A volunteer's roster record, by the operator's file reference", response=RosterVolunteerSchema,
            tags=("roster",), errors=("401", "403", "404"))
def volunteer_get(file_ref: str):
    return jsonify(RosterVolunteerSchema().dump(find_volunteer(db.session, file_ref=file_ref)))
