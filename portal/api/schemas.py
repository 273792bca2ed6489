"""API schemas. Field lists are explicit: what is not listed is never sent."""
from marshmallow import Schema, fields


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True, metadata={"description": "human-readable, in the caller's language"})
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages per input field"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class OrganisationRefSchema(Schema):
    id = fields.String(attribute="public_id")
    legal_name = fields.String()
    status = fields.Function(lambda o: o.status.value)


class MeSchema(Schema):
    id = fields.String(attribute="public_id", metadata={"description": "opaque user id"})
    email = fields.Email()
    full_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    locale = fields.String()
    organisation = fields.Nested(OrganisationRefSchema, allow_none=True)
