"""What every JSON endpoint of the API does the same way: read a strict body, answer a creation, page a list."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, time, timedelta, UTC

from flask import abort, jsonify, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy.exc import IntegrityError

from core.errors import DomainError
from core.i18n import N_

from ..extensions import db
from ..pagination import MAX_PAGE, paginate


class InvalidBody(DomainError):
    code = "validation_error"


def _flatten(messages: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = list(value)
    return out


def load_body(schema: Schema) -> dict:
    """The JSON body loaded by a strict schema; a 400 for no JSON object, a 422 naming each bad field."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400)
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise InvalidBody(N_("Some fields are not valid."), fields=_flatten(exc.messages)) from exc


class PageQuerySchema(Schema):
    """Query parameters of every list endpoint; subclasses add their filters. Unknown parameters are refused
    with a 422 naming them, so a mistyped filter never silently returns everything."""

    class Meta:
        unknown = RAISE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    created_since = fields.Date(load_default=None, metadata={"description": "on or after this date (UTC)"})
    created_until = fields.Date(load_default=None, metadata={"description": "on or before this date (UTC)"})


def load_query(schema: Schema) -> dict:
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidBody(N_("Some fields are not valid."), fields=_flatten(exc.messages)) from exc


def created_between(stmt, column, query: dict):
    """Apply the created_since / created_until filters (whole UTC days)."""
    if query.get("created_since"):
        stmt = stmt.where(column >= datetime.combine(query["created_since"], time.min, tzinfo=UTC))
    if query.get("created_until"):
        stmt = stmt.where(column < datetime.combine(query["created_until"] + timedelta(days=1), time.min,
                                                    tzinfo=UTC))
    return stmt


#: the length of the leads' and cases' idempotency_key columns
IDEMPOTENCY_KEY_LENGTH = 128
IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{IDEMPOTENCY_KEY_LENGTH}}}")


def idempotency_key() -> str | None:
    """The Idempotency-Key header, if any: 1 to 128 visible ASCII characters, or a 422 naming the header."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidBody(N_("Some fields are not valid."), fields={"Idempotency-Key": [
            N_("An Idempotency-Key is 1 to 128 visible ASCII characters.")]})
    return key


def create_once(create: Callable[[], tuple[object, bool]]) -> tuple[object, bool]:
    """Run a creation that honours the Idempotency-Key. Two requests with the same key at once both find no
    earlier record; the database's unique key lets one insert, and the other, rolled back, runs again and so
    answers exactly what a replay answers (the first record, or 409 for different content)."""
    try:
        return create()
    except IntegrityError:
        db.session.rollback()
        if idempotency_key() is None:
            raise
        return create()


def creation_response(obj, schema: Schema, created: bool, endpoint: str):
    """201 with a Location for a new record; 200 with the same record for a retried request."""
    response = jsonify(schema.dump(obj))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for(endpoint, public_id=obj.public_id)
    return response


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """The schema of one page of a list endpoint: its items, the page, the page size and the total."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item)), "page": fields.Integer(),
                             "per_page": fields.Integer(), "total": fields.Integer()}, name=name)


def page_response(stmt, schema: Schema, query: dict):
    """One page of `stmt`; `query` is what a PageQuerySchema loaded (page and per_page already in range)."""
    page = paginate(stmt, per_page=query["per_page"], page=query["page"])
    return jsonify(items=schema.dump(page.items), page=page.page, per_page=page.per_page, total=page.total)
