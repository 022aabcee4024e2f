"""Maps every error to API.md's shape ``{"error": {type, code, message, param}}``, once."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from amanah.api import observability
from amanah.core.db import is_database_unavailable
from amanah.core.errors import AppError, DatabaseUnavailable

log = logging.getLogger("amanah.api")

_STATUS_TYPES = {401: "authentication", 403: "permission", 404: "not_found", 405: "invalid_request",
                 409: "conflict", 429: "rate_limited"}


def error_response(status: int, type_: str, code: str, message: str, param: str | None = None, *,
                   retry_after_s: int | None = None) -> JSONResponse:
    """The API's error body, with ``Retry-After`` when given and the request's ``X-Request-ID``.
    (The id is a header only: answers to different requests that must not tell apart, a wrong
    password and an unknown e-mail, keep identical bodies.)"""
    rid = observability.request_id.get()
    response = JSONResponse({"error": {"type": type_, "code": code, "message": message, "param": param}},
                            status_code=status)
    if retry_after_s is not None:
        response.headers["Retry-After"] = str(retry_after_s)
    if rid is not None:
        # Also for answers made outside the request-id middleware (the 500 handler): it adds
        # the header only where none is set.
        response.headers["X-Request-ID"] = rid
    return response


def app_error_response(error: AppError) -> JSONResponse:
    """``Retry-After`` whenever the error says how soon to retry (a 429, a database away)."""
    return error_response(error.http_status, error.type, error.code, error.message, error.param,
                          retry_after_s=getattr(error, "retry_after_s", None))


def _database_unavailable() -> JSONResponse:
    """A read (or a check of credentials) that found the database away, e.g. failing over."""
    return app_error_response(DatabaseUnavailable(
        "The database is unavailable right now (it may be failing over to its standby); nothing was "
        "changed. Please retry in a moment."))


def _validation_message(error: dict) -> tuple[str, str | None]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(location) or None
    message = error.get("msg", "Invalid value")
    return (f"{param}: {message}" if param else message), param


ERROR_TYPES = ("invalid_request", "authentication", "permission", "not_found", "conflict", "idempotency",
               "rate_limited", "service_mode", "payment_declined", "internal")

_ERROR_SCHEMA = {
    "title": "Error", "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["type", "code", "message", "param"],
        "properties": {
            "type": {"type": "string", "enum": list(ERROR_TYPES)},
            "code": {"type": "string", "description": "A stable, machine-readable reason."},
            "message": {"type": "string", "description": "What went wrong, for a person."},
            "param": {"anyOf": [{"type": "string"}, {"type": "null"}],
                      "description": "The request field at fault, if one is."},
        },
    }},
}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _error(description: str) -> dict:
    return {"description": description, "content": _ERROR_CONTENT}


def document_errors(schema: dict) -> dict:
    """What every operation can answer besides success, in the API's error shape: FastAPI's own
    422 ``HTTPValidationError`` (never sent: bad input is a 400 here) is replaced by a 400, and a
    ``default`` covers the statuses particular to each call (402, 403, 409, 429, ...)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            validation = responses.get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
            if validation.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
            # Every POST takes an Idempotency-Key header (documented by api.idempotency).
            if operation.get("parameters") or operation.get("requestBody") or method == "post":
                responses.setdefault("400", _error("The request is malformed or a value is invalid."))
            if operation.get("security"):
                responses.setdefault("401", _error("Missing, unknown, expired or revoked credentials."))
            if "{" in path:
                responses.setdefault("404", _error("No such object, or it is not the caller's."))
            responses.setdefault("default", _error("Any other error, in the same shape."))
    for unused in ("HTTPValidationError", "ValidationError"):
        schema["components"]["schemas"].pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build_openapi())
        return app.openapi_schema

    app.openapi = openapi

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, error: AppError) -> JSONResponse:
        return app_error_response(error)

    @app.exception_handler(DBAPIError)
    async def _database_error(_request: Request, error: DBAPIError) -> JSONResponse:
        if not is_database_unavailable(error):
            raise error  # a bug: the 500 below, logged with its traceback
        log.warning("database unavailable: %s", type(error.orig).__name__)
        return _database_unavailable()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        message, param = _validation_message(first)
        return error_response(400, "invalid_request", "invalid_request", message, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        type_ = _STATUS_TYPES.get(error.status_code, "invalid_request" if error.status_code < 500 else "internal")
        code = "not_found" if error.status_code == 404 else type_
        response = error_response(error.status_code, type_, code, str(error.detail))
        response.headers.update(error.headers or {})  # a 405's Allow, as RFC 9110 asks
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # Raised outside the routes (the idempotency middleware keeps its keys in the database):
        # the same answers as inside them.
        if isinstance(error, AppError):
            return app_error_response(error)
        if is_database_unavailable(error):
            log.warning("database unavailable on %s %s", request.method, request.url.path)
            return _database_unavailable()
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal_error",
                              "Something went wrong on our side; nothing was changed. Please retry.")
