"""Users' errors. Messages never say whether an e-mail address has an account (except
registration's 409, which API.md asks for)."""

from __future__ import annotations

from amanah.core.errors import AppError, AuthenticationFailed, Conflict, InvalidRequest


class InvalidEmail(InvalidRequest):
    code = "invalid_email"


class EmailTaken(Conflict):
    code = "email_taken"


class WeakPassword(InvalidRequest):
    code = "weak_password"


class InvalidCredentials(AuthenticationFailed):
    code = "invalid_credentials"

    def __init__(self) -> None:
        super().__init__("The e-mail address or the password is wrong.")


class InvalidToken(AuthenticationFailed):
    code = "invalid_token"

    def __init__(self) -> None:
        super().__init__("This token is invalid, expired or revoked. Log in again.")


class InvalidLink(InvalidRequest):
    code = "invalid_link"

    def __init__(self) -> None:
        super().__init__("This link is invalid, has expired or was already used. Ask for a new one.",
                         param="token")


class CaptchaInvalid(InvalidRequest):
    code = "captcha_invalid"

    def __init__(self) -> None:
        super().__init__("The captcha answer is wrong, or the captcha expired or was already used. "
                         "Get a new captcha (GET /v1/captcha) and try again.", param="captcha_answer")


class TooManyAttempts(AppError):
    type, code, http_status = "rate_limited", "too_many_attempts", 429

    def __init__(self, message: str, *, retry_after_s: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class TwoFactorRequired(AuthenticationFailed):
    code = "two_factor_required"

    def __init__(self) -> None:
        super().__init__("This account has two-factor sign-in: send the 6-digit code from your "
                         "authenticator app as totp_code, or a recovery code as recovery_code.",
                         param="totp_code")


class TwoFactorInvalid(AuthenticationFailed):
    code = "two_factor_invalid"

    def __init__(self) -> None:
        super().__init__("The two-factor code is wrong or was already used.", param="totp_code")


class TwoFactorState(Conflict):
    code = "two_factor_state"


class StepUpRequired(AppError):
    """A session a marketplace's sign-on link opened may not do this: the person confirms with
    their own password (and code) first, which makes the session a full one."""

    type, code, http_status = "permission", "step_up_required", 403

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (
            "This session was opened from a marketplace: confirm it is you with your password (and your two-factor "
            "code) first. In the cabinet you are asked for it; over the API, log in with POST /v1/auth/sessions."))
