"""API shapes for users and sign-in (Pydantic; only the API layer uses them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from amanah.core import limits

# Generous bounds here; the service gives the precise, friendly refusal.
Email = Field(max_length=limits.EMAIL_LENGTH_MAX + 64, examples=["buyer@example.com"])
Password = Field(max_length=1024, description="8 to 128 characters, not a common password.")
Secret = Field(max_length=limits.SECRET_TEXT_LENGTH_MAX)
Code = Field(default=None, max_length=limits.RECOVERY_CODE_LENGTH_MAX)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterRequest(Strict):
    email: str = Email
    password: str = Password
    name: str = Field(default="", max_length=limits.USER_NAME_LENGTH_MAX + 64)
    locale: str | None = Field(default=None, max_length=35, description="`en`, `ru`, `id` or `zh` (e-mails).")


class UserOut(BaseModel):
    id: str
    object: Literal["user"] = "user"
    email: str
    name: str
    locale: str
    email_verified: bool
    two_factor_enabled: bool
    has_password: bool
    created_at: datetime


class LoginRequest(Strict):
    email: str = Email
    password: str = Password
    totp_code: str | None = Code
    recovery_code: str | None = Code
    captcha_id: str | None = Field(default=None, max_length=64)
    captcha_answer: str | None = Field(default=None, max_length=limits.CAPTCHA_ANSWER_LENGTH_MAX)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user_id: str


class SessionOut(BaseModel):
    csrf_token: str = Field(description="Send it as `X-CSRF-Token` with every state-changing request.")
    expires_at: datetime
    user_id: str


class CaptchaOut(BaseModel):
    captcha_id: str
    image_png_base64: str
    expires_at: datetime


class PasswordResetRequest(Strict):
    email: str = Email
    captcha_id: str = Field(max_length=64)
    captcha_answer: str = Field(max_length=limits.CAPTCHA_ANSWER_LENGTH_MAX)


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str


class PasswordResetConfirm(Strict):
    token: str = Secret
    new_password: str = Password
    totp_code: str | None = Code
    recovery_code: str | None = Code


class TokenBody(Strict):
    token: str = Secret


class PasswordBody(Strict):
    password: str = Password


class PasswordChange(Strict):
    current_password: str = Password
    new_password: str = Password


class TwoFactorSetupOut(BaseModel):
    secret: str = Field(description="The TOTP secret (base32), for apps that cannot scan the QR code.")
    otpauth_uri: str
    qr_png_base64: str
    qr_svg: str


class CodeBody(Strict):
    code: str = Field(max_length=limits.RECOVERY_CODE_LENGTH_MAX)


class RecoveryCodesOut(BaseModel):
    two_factor_enabled: Literal[True] = True
    recovery_codes: list[str] = Field(description="Shown once: each works once instead of a code.")


class TwoFactorDisable(Strict):
    password: str = Password
    totp_code: str | None = Code
    recovery_code: str | None = Code
