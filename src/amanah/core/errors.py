"""The error tree. Domain code raises these; ``api`` maps them to the HTTP error shape once.

Every expected failure is an ``AppError`` with a stable ``code`` (machine-readable), a
``type`` from API.md's list, an HTTP status and a message a person understands.
"""

from __future__ import annotations

from amanah.core import limits


class AppError(Exception):
    """An expected failure, shown to the caller. Never carries a secret in its message."""

    type: str = "invalid_request"
    code: str = "invalid_request"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def as_dict(self) -> dict:
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
        }


class InvalidRequest(AppError):
    type, code, http_status = "invalid_request", "invalid_request", 400


class AuthenticationFailed(AppError):
    type, code, http_status = "authentication", "authentication_failed", 401


class PermissionDenied(AppError):
    type, code, http_status = "permission", "permission_denied", 403


class NotFound(AppError):
    type, code, http_status = "not_found", "not_found", 404


class Conflict(AppError):
    type, code, http_status = "conflict", "conflict", 409


class ServiceMode(AppError):
    type, code, http_status = "service_mode", "service_winding_down", 403


class PaymentDeclined(AppError):
    type, code, http_status = "payment_declined", "payment_declined", 402


class InsufficientFunds(AppError):
    type, code, http_status = "payment_declined", "insufficient_funds", 402


class ServiceUnavailable(AppError):
    """A dependency (the database) is down or overloaded; the caller may retry."""

    type, code, http_status = "internal", "service_unavailable", 503
    retry_after_s: int | None = None
    """When set, answered as ``Retry-After``: how soon a retry may succeed."""


class DatabaseUnavailable(ServiceUnavailable):
    """No writable database could be reached in time (a failover to the standby, a restart):
    nothing was committed, and the same request may simply be sent again."""

    code = "database_unavailable"
    retry_after_s = limits.DB_RETRY_AFTER_S


class CommitOutcomeUnknown(ServiceUnavailable):
    """The connection to the database was lost while it was committing: the work may or may
    not have been applied, so it is not run again here. The request's ``Idempotency-Key`` stays
    in flight (as after a crash); a retry with it is answered once that is settled."""

    code = "commit_outcome_unknown"
    retry_after_s = limits.DB_RETRY_AFTER_S
