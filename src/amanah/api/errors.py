"""Maps every error to API.md's shape ``{"error": {type, code, message, param}}``, once."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from amanah.core.errors import AppError

log = logging.getLogger("amanah.api")

_STATUS_TYPES = {401: "authentication", 403: "permission", 404: "not_found", 405: "invalid_request",
                 409: "conflict", 429: "rate_limited"}


def error_response(status: int, type_: str, code: str, message: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": type_, "code": code, "message": message, "param": param}}, status_code=status
    )


def _validation_message(error: dict) -> tuple[str, str | None]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    param = ".".join(location) or None
    message = error.get("msg", "Invalid value")
    return (f"{param}: {message}" if param else message), param


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, error: AppError) -> JSONResponse:
        return error_response(error.http_status, error.type, error.code, error.message, error.param)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        message, param = _validation_message(first)
        return error_response(400, "invalid_request", "invalid_request", message, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        type_ = _STATUS_TYPES.get(error.status_code, "invalid_request" if error.status_code < 500 else "internal")
        code = "not_found" if error.status_code == 404 else type_
        return error_response(error.status_code, type_, code, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "internal_error",
                              "Something went wrong on our side; nothing was changed. Please retry.")
