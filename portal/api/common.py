"""What every JSON endpoint of the API does the same way: read a strict body, answer a creation, page a list."""
from __future__ import annotations

from flask import abort, jsonify, request, url_for
from marshmallow import Schema, ValidationError

from core.db import DomainError
from core.i18n import N_

from ..pagination import paginate


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


def idempotency_key() -> str | None:
    return request.headers.get("Idempotency-Key") or None


def creation_response(obj, schema: Schema, created: bool, endpoint: str):
    """201 with a Location for a new record; 200 with the same record for a retried request."""
    response = jsonify(schema.dump(obj))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for(endpoint, public_id=obj.public_id)
    return response


def page_response(stmt, schema: Schema):
    per_page = min(max(request.args.get("per_page", 50, type=int), 1), 200)
    page = paginate(stmt, per_page=per_page)
    return jsonify(items=schema.dump(page.items), page=page.page, per_page=page.per_page, total=page.total)
