"""What the cabinet says when something goes wrong: one place, by error code, translatable.

A domain error's own message is in English and often more precise (which field, which limit);
it is shown to English readers when the code is in ``DOMAIN_WORDS_FIRST``. Everyone else gets
the translated sentence for the code, or the domain message when the code has none."""

from __future__ import annotations

from amanah.core.errors import AppError
from amanah.web.i18n import DEFAULT_LOCALE, gettext as _


def _messages() -> dict[str, str]:
    # Built per call so each string is looked up in the current request's language.
    return {
        "invalid_credentials": _("The e-mail address or the password is wrong."),
        "captcha_invalid": _("The captcha answer is wrong or the picture expired. Here is a new one."),
        "email_taken": _("An account with this e-mail address already exists. Log in, or reset the password."),
        "weak_password": _("This password is too easy to guess. Use a longer one, or a few unrelated words."),
        "invalid_email": _("This is not a valid e-mail address."),
        "invalid_link": _("This link is invalid, has expired or was already used. Ask for a new one."),
        "too_many_attempts": _("Too many attempts. Please wait a little and try again."),
        "captcha_required": _("Too many attempts: please also type the characters in the picture."),
        "two_factor_required": _("Enter the 6-digit code from your authenticator app."),
        "two_factor_invalid": _("The code is wrong or was already used."),
        "two_factor_state": _("Two-factor sign-in is not in a state that allows this."),
        "session_expired": _("Your session has ended. Please log in again."),
        "csrf_failed": _("This form has expired. Please go back, reload the page and try again."),
        "step_up_required": _("You came from a marketplace: confirm it is you with your password first."),
        "not_found": _("We could not find that page."),
        "service_winding_down": _("This payment service is winding down: new business is closed. You can still "
                                  "log in, pay open orders with your balance, withdraw it to a card and delete "
                                  "your cards."),
        "insufficient_funds": _("Your balance is not enough for this payment."),
        "card_declined": _("The bank declined the card."),
        "expired_card": _("This card has expired."),
        "incorrect_cvc": _("The security code (CVC) is not right for this card."),
        "processing_error": _("The bank could not process the payment. Please try again."),
        "connector_timeout": _("The bank did not answer in time; nothing was charged. Please try again."),
        "card_already_bound": _("This card is already bound to your account."),
        "too_many_cards": _("You have the most cards an account can hold; delete one first."),
        "unsupported_brand": _("This card brand is not supported: use Visa, Mastercard, Mir or UnionPay."),
        "invalid_card": _("Please check the card details."),
        "trade_status_conflict": _("This order cannot do that in its current state."),
        "payment_in_progress": _("A payment for this order is already under way; finish or wait for it."),
        "rate_unavailable": _("There is no exchange rate for this currency today; choose another."),
        "rate_stale": _("The exchange rate is out of date; choose another currency."),
        "quote_expired": _("The quoted rate has expired; here is a fresh one."),
        "internal_error": _("Something went wrong on our side; nothing was changed. Please try again."),
    }


DOMAIN_WORDS_FIRST = frozenset({"weak_password", "invalid_card", "invalid_email",
                                "unsupported_brand", "invalid_request", "conflict"})


def friendly(error: AppError, locale: str) -> str:
    if locale == DEFAULT_LOCALE and error.code in DOMAIN_WORDS_FIRST:
        return error.message
    return _messages().get(error.code, error.message)


def generic(status: int) -> tuple[str, str]:
    """A title and a sentence for an error page by HTTP status."""
    if status == 404:
        return _("Page not found"), _("We could not find that page. It may have moved, or the link is mistyped.")
    if status in (401, 403):
        return _("Not allowed"), _("You do not have access to this page.")
    if status == 429:
        return _("Too many requests"), _("Please wait a little and try again.")
    if status >= 500:
        return _("Something went wrong"), _("Something went wrong on our side; nothing was changed. Please try again.")
    return _("That did not work"), _("Please check what you entered and try again.")
