"""Users and sign-in (API.md): registration, tokens, sessions, captcha, recovery, two-factor."""

from __future__ import annotations

import base64

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from amanah.api.deps import get_engine, get_settings
from amanah.api.errors import app_error_response
from amanah.api.routing import Router
from amanah.api.user_auth import (STEP_UP, UserAuth, client_address, current_auth, current_full_auth,
                                   current_full_user, current_user, session_cookie_name)
from amanah.core import limits
from amanah.core.clock import clock
from amanah.core.config import Settings
from amanah.core.db import run_in_transaction
from amanah.users import schemas
from amanah.users import service as users
from amanah.users.errors import CaptchaInvalid, TooManyAttempts

router = Router(tags=["users"])

RESET_ACCEPTED = ("If an account uses this e-mail address, we have sent it a link to choose a new "
                  "password. The link works once, for 30 minutes.")


def _user_out(user: users.User) -> schemas.UserOut:
    return schemas.UserOut(**user.__dict__)


def _rate_limited(error: TooManyAttempts) -> JSONResponse:
    """With ``Retry-After`` (0 when a captcha, not waiting, is what lets the next attempt in)."""
    return app_error_response(error)


@router.post("/v1/users", status_code=201, response_model=schemas.UserOut, summary="Register")
def register(body: schemas.RegisterRequest, engine: Engine = Depends(get_engine),
             settings: Settings = Depends(get_settings)) -> schemas.UserOut:
    now = clock.now()
    user = run_in_transaction(engine, lambda conn: users.register_user(
        conn, settings, email=body.email, password=body.password, name=body.name, locale=body.locale, now=now))
    return _user_out(user)


def _log_in(engine: Engine, settings: Settings, body: schemas.LoginRequest, address: str, issue):
    """Checks the attempt and, in the same transaction, issues the credential; failures are
    committed (they count) before they are raised."""
    now = clock.now()

    def work(conn):
        outcome = users.log_in(conn, settings, email=body.email, password=body.password, client_address=address,
                               totp_code=body.totp_code, recovery_code=body.recovery_code,
                               captcha_id=body.captcha_id, captcha_answer=body.captcha_answer, now=now)
        return outcome if outcome.error else users.Outcome((outcome.value, issue(conn, outcome.value, now)))

    return run_in_transaction(engine, work).unwrap()


_LOGIN_RESPONSES = {401: {"description": "Wrong credentials or a second factor is needed"},
                    429: {"description": "Too many failures: wait (Retry-After) or solve a captcha"}}


@router.post("/v1/auth/token", response_model=schemas.TokenOut, responses=_LOGIN_RESPONSES,
             summary="Log in and get a user token")
def issue_token(body: schemas.LoginRequest, request: Request, engine: Engine = Depends(get_engine),
                settings: Settings = Depends(get_settings), address: str = Depends(client_address)):
    try:
        user, token = _log_in(engine, settings, body, address,
                              lambda conn, user, now: users.issue_access_token(
                                  conn, user.id, now=now, user_agent=request.headers.get("user-agent")))
    except TooManyAttempts as error:
        return _rate_limited(error)
    return schemas.TokenOut(access_token=token.access_token, expires_at=token.expires_at, user_id=user.id)


@router.post("/v1/auth/sessions", response_model=schemas.SessionOut, responses=_LOGIN_RESPONSES,
             summary="Log in with a session cookie (the web cabinet's way)")
def start_session(body: schemas.LoginRequest, request: Request, response: Response,
                  engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings),
                  address: str = Depends(client_address)):
    cookie = session_cookie_name(settings)
    previous = request.cookies.get(cookie)
    try:
        user, session = _log_in(engine, settings, body, address, lambda conn, user, now: users.start_session(
            conn, user.id, replacing=previous, user_agent=request.headers.get("user-agent"), now=now))
    except TooManyAttempts as error:
        return _rate_limited(error)
    response.set_cookie(cookie, session.session_id, max_age=limits.SESSION_TTL_S, path="/", httponly=True,
                        secure=cookie.startswith("__Host-"), samesite="lax")
    return schemas.SessionOut(csrf_token=session.csrf_token, expires_at=session.expires_at, user_id=user.id)


@router.post("/v1/auth/logout", status_code=204, summary="Revoke the token or end the session")
def log_out(response: Response, auth: UserAuth = Depends(current_auth), engine: Engine = Depends(get_engine),
            settings: Settings = Depends(get_settings)) -> Response:
    now = clock.now()
    if auth.access_token:
        run_in_transaction(engine, lambda conn: users.revoke_access_token(conn, auth.access_token, now=now))
    else:
        run_in_transaction(engine, lambda conn: users.end_session(conn, auth.session_id, now=now))
    response = Response(status_code=204)
    response.delete_cookie(session_cookie_name(settings), path="/")
    return response


@router.get("/v1/me", response_model=schemas.UserOut, summary="The signed-in user")
def me(user: users.User = Depends(current_user)) -> schemas.UserOut:
    return _user_out(user)


@router.get("/v1/captcha", response_model=schemas.CaptchaOut, summary="A new image captcha")
def captcha(engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)) -> schemas.CaptchaOut:
    now = clock.now()
    made = run_in_transaction(engine, lambda conn: users.create_captcha(conn, settings, now=now))
    return schemas.CaptchaOut(captcha_id=made.captcha_id, expires_at=made.expires_at,
                              image_png_base64=base64.b64encode(made.image_png).decode("ascii"))


@router.post("/v1/password-resets", status_code=202, response_model=schemas.Accepted,
             summary="E-mail a password reset link (same answer whether or not the e-mail has an account)")
def request_reset(body: schemas.PasswordResetRequest, engine: Engine = Depends(get_engine)) -> schemas.Accepted:
    now = clock.now()

    def work(conn) -> bool:
        if not users.consume_captcha(conn, body.captcha_id, body.captcha_answer, now=now):
            return False
        users.request_password_reset(conn, email=body.email, now=now)
        return True

    if not run_in_transaction(engine, work):
        raise CaptchaInvalid()
    return schemas.Accepted(message=RESET_ACCEPTED)


@router.post("/v1/password-resets/confirm", response_model=schemas.UserOut,
             summary="Set a new password with the e-mailed link; signs out every session and token")
def confirm_reset(body: schemas.PasswordResetConfirm, engine: Engine = Depends(get_engine),
                  settings: Settings = Depends(get_settings)) -> schemas.UserOut:
    now = clock.now()
    outcome = run_in_transaction(engine, lambda conn: users.confirm_password_reset(
        conn, settings, token=body.token, new_password=body.new_password, totp_code=body.totp_code,
        recovery_code=body.recovery_code, now=now))
    return _user_out(outcome.unwrap())


@router.post("/v1/email-verifications/confirm", response_model=schemas.UserOut,
             summary="Confirm the e-mail address with the e-mailed link")
def confirm_email(body: schemas.TokenBody, engine: Engine = Depends(get_engine)) -> schemas.UserOut:
    now = clock.now()
    return _user_out(run_in_transaction(engine, lambda conn: users.confirm_email(conn, body.token, now=now)))


@router.post("/v1/me/email-verifications", status_code=202, response_model=schemas.Accepted,
             summary="Send the e-mail verification link again")
def resend_verification(user: users.User = Depends(current_user), engine: Engine = Depends(get_engine)):
    now = clock.now()
    run_in_transaction(engine, lambda conn: users.send_email_verification(conn, user.id, now=now))
    return schemas.Accepted(message="Unless your address is already confirmed, a new link is on its way.")


@router.post("/v1/me/two-factor", response_model=schemas.TwoFactorSetupOut, responses=STEP_UP,
             summary="Start turning on two-factor sign-in: a secret and its QR code")
def begin_two_factor(body: schemas.PasswordBody, user: users.User = Depends(current_full_user),
                     engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)):
    now = clock.now()
    setup = run_in_transaction(engine, lambda conn: users.begin_two_factor(
        conn, settings, user.id, password=body.password, now=now)).unwrap()
    return schemas.TwoFactorSetupOut(secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg,
                                     qr_png_base64=base64.b64encode(setup.qr_png).decode("ascii"))


@router.post("/v1/me/two-factor/confirm", response_model=schemas.RecoveryCodesOut, responses=STEP_UP,
             summary="Turn two-factor sign-in on with a code from the app; returns recovery codes")
def confirm_two_factor(body: schemas.CodeBody, user: users.User = Depends(current_full_user),
                       engine: Engine = Depends(get_engine)) -> schemas.RecoveryCodesOut:
    now = clock.now()
    codes = run_in_transaction(engine, lambda conn: users.confirm_two_factor(conn, user.id, code=body.code, now=now))
    return schemas.RecoveryCodesOut(recovery_codes=codes)


@router.post("/v1/me/two-factor/disable", response_model=schemas.UserOut, responses=STEP_UP,
             summary="Turn two-factor sign-in off (password and a code or recovery code)")
def disable_two_factor(body: schemas.TwoFactorDisable, user: users.User = Depends(current_full_user),
                       engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)):
    now = clock.now()
    outcome = run_in_transaction(engine, lambda conn: users.disable_two_factor(
        conn, settings, user.id, password=body.password, totp_code=body.totp_code,
        recovery_code=body.recovery_code, now=now))
    return _user_out(outcome.unwrap())


@router.post("/v1/me/password", response_model=schemas.UserOut, responses={**_LOGIN_RESPONSES, **STEP_UP},
             summary="Change my password (the current one is required); signs out every other session and token")
def change_password(body: schemas.PasswordChange, auth: UserAuth = Depends(current_full_auth),
                    engine: Engine = Depends(get_engine), settings: Settings = Depends(get_settings)):
    now = clock.now()
    try:
        outcome = run_in_transaction(engine, lambda conn: users.change_password(
            conn, settings, auth.user.id, current_password=body.current_password, new_password=body.new_password,
            keep_session_id=auth.access_token or auth.session_id, now=now))
        return _user_out(outcome.unwrap())
    except TooManyAttempts as error:
        return _rate_limited(error)
