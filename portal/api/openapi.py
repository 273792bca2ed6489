"""The OpenAPI document, generated from the marshmallow schemas and the routes that declare `documented`."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from .schemas import ErrorSchema

ERROR_RESPONSES = {
    "400": "The body is not a JSON object (malformed, or nested too deeply)",
    "401": "Missing, invalid or revoked token",
    "403": "The token's user may not call this",
    "404": "Not found (or not yours)",
    "413": "The upload is too large",
    "422": "Invalid input",
    "429": "Too many requests; try again later",
}


def documented(*, summary: str, response=None, tags: tuple[str, ...] = (), status: int = 200,
               errors: tuple[str, ...] = ("401", "403"), public: bool = False, upload: str | None = None,
               body=None, query=None):
    """Describe an API view for the OpenAPI document. `upload` names a multipart file field."""

    def decorator(view):
        view._openapi = {"summary": summary, "response": response, "tags": list(tags), "status": status,
                         "errors": errors, "public": public, "upload": upload, "body": body,
                         "query": query}
        return view

    return decorator


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="Partner portal API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Partner systems and the programme operator's roster feed. "
                                        "Authenticate with `Authorization: Bearer <token>`."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        doc = getattr(view, "_openapi", None)
        if doc is None:
            continue
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            responses = {str(doc["status"]): {"description": "Success"}}
            if doc["response"] is not None:
                responses[str(doc["status"])]["content"] = {"application/json": {"schema": doc["response"]}}
            # any body can be malformed JSON, and 422 names what the guard refuses in it (e.g. a NUL byte)
            errors = set(doc["errors"]) | ({"400", "422"} if doc["body"] is not None else set())
            for code in sorted(errors):
                responses[code] = {"description": ERROR_RESPONSES[code],
                                   "content": {"application/json": {"schema": "Error"}}}
            operation = {"summary": doc["summary"], "tags": doc["tags"], "responses": responses,
                         "security": [] if doc["public"] else [{"bearer": []}], "operationId": rule.endpoint}
            if rule.arguments:
                operation["parameters"] = [{"name": arg, "in": "path", "required": True,
                                            "schema": {"type": "string"}} for arg in sorted(rule.arguments)]
            if doc["query"] is not None:
                # the marshmallow plugin expands a schema "in: query" into one parameter per field
                operation.setdefault("parameters", []).append({"in": "query", "schema": doc["query"]})
            if doc["body"] is not None:
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": doc["body"]}}}
            if doc["upload"]:
                operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": [doc["upload"]],
                    "properties": {doc["upload"]: {"type": "string", "format": "binary"}}}}}}
            operations[method.lower()] = operation
        path = _openapi_path(rule.rule)
        spec.path(path=path, operations=operations)
    return spec.to_dict()
