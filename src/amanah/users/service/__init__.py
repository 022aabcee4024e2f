"""The users' use cases. Other domains import from here (``amanah.users.service``) only."""

from amanah.users.service.accounts import (
    User,
    confirm_email,
    find_user_by_email,
    get_user,
    normalize_email,
    find_or_register_automatically,
    register_automatically,
    register_user,
    send_email_verification,
)
from amanah.users.service.closure import anonymise, check_owner, closed_user_ids, is_closed
from amanah.users.service.captcha import NewCaptcha, consume_captcha, create_captcha
from amanah.users.service.login import log_in
from amanah.users.service.outcome import Outcome
from amanah.users.service.reset import change_password, confirm_password_reset, request_password_reset
from amanah.users.service.sessions import (
    AccessToken,
    LoginLinkUse,
    Session,
    SessionInfo,
    SessionOwner,
    consume_login_link,
    create_login_link,
    end_other_sessions,
    end_platform_sessions,
    end_session,
    end_session_by_id,
    issue_access_token,
    list_sessions,
    login_link_owner,
    revoke_access_token,
    session_owner,
    start_session,
    step_up,
    user_for_access_token,
    user_for_session,
    verify_csrf,
)
from amanah.users.service.two_factor import (
    TwoFactorSetup,
    begin_two_factor,
    confirm_two_factor,
    disable_two_factor,
)

__all__ = [
    "AccessToken", "LoginLinkUse", "NewCaptcha", "Outcome", "Session", "SessionInfo", "SessionOwner", "TwoFactorSetup", "User",
    "anonymise", "check_owner", "closed_user_ids", "is_closed",
    "begin_two_factor", "change_password", "confirm_email", "confirm_password_reset", "confirm_two_factor",
    "consume_captcha", "consume_login_link", "create_captcha", "create_login_link",
    "disable_two_factor", "end_other_sessions", "end_platform_sessions", "end_session", "end_session_by_id", "find_user_by_email",
    "get_user", "issue_access_token", "list_sessions", "log_in", "login_link_owner", "normalize_email", "register_automatically", "find_or_register_automatically", "register_user",
    "request_password_reset", "revoke_access_token", "send_email_verification", "session_owner", "start_session",
    "step_up",
    "user_for_access_token", "user_for_session", "verify_csrf",
]
