"""One place that turns errors into responses: HTML pages for people, the JSON body of DESIGN.md §6 on the API.

API error body: {"error": {"code": "...", "message": "...", "fields": {...}}}
"""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from core.errors import DomainError

from .extensions import db
from .i18n import tr

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
              422: "validation_error", 429: "rate_limited", 500: "internal_error", 503: "unavailable"}


def wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def api_error(status: int, code: str, message: str, fields: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def translate_fields(fields: dict, params: dict) -> dict:
    return {name: [tr(m, **params) for m in messages] for name, messages in fields.items()}


def http_messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Authentication is required."),
        403: _("You do not have access to this page."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many attempts. Please wait a few minutes and try again."),
        500: _("Something went wrong on our side. The team has been told."),
        503: _("The service is temporarily unavailable."),
    }


def handle_http(exc: HTTPException):
    status = exc.code or 500
    message = http_messages().get(status, exc.description or "")
    # a 405 names the methods that are allowed (RFC 9110), whichever body carries the message
    headers = {"Allow": ", ".join(exc.valid_methods)} if isinstance(exc, MethodNotAllowed) and exc.valid_methods else {}
    if wants_json():
        response = api_error(status, HTTP_CODES.get(status, "error"), message)
        response.headers.update(headers)
        return response
    return render_template("error.html", status=status, message=message), status, headers


def domain_error_response(exc: DomainError):
    """A refusal as the API answers it: the rule's status, code, translated message and field messages."""
    return api_error(exc.status, exc.code, tr(exc.message, **exc.params), translate_fields(exc.fields, exc.params))


def handle_domain(exc: DomainError):
    db.session.rollback()
    if wants_json():
        return domain_error_response(exc)
    return render_template("error.html", status=exc.status, message=tr(exc.message, **exc.params)), exc.status


def handle_csrf(exc: CSRFError):
    message = _("Your form expired or was sent from elsewhere. Please reload the page and try again.")
    return render_template("error.html", status=400, message=message), 400


def handle_unexpected(exc: Exception):
    db.session.rollback()
    if isinstance(exc, HTTPException):
        return handle_http(exc)
    from flask import current_app

    current_app.logger.exception("unhandled error")
    if wants_json():
        return api_error(500, "internal_error", http_messages()[500])
    return render_template("error.html", status=500, message=http_messages()[500]), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(DomainError, handle_domain)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
