"""Operators' errors. A failed back-office log-in never says which of the three was wrong."""

from __future__ import annotations

from amanah.core.errors import AuthenticationFailed, Conflict


class OperatorLogInFailed(AuthenticationFailed):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("The e-mail address, the password or the authenticator code is wrong.")


class OperatorExists(Conflict):
    code = "operator_exists"
