"""Card errors: each names the field at fault and never echoes a card number or CVC."""

from __future__ import annotations

from amanah.core.errors import AppError, Conflict, InvalidRequest, PaymentDeclined, ServiceUnavailable


class InvalidCard(InvalidRequest):
    code = "invalid_card"


class CardAlreadyBound(Conflict):
    code = "card_already_bound"


class CardDeclined(PaymentDeclined):
    """The issuer or the acquirer said no; ``code`` says why (``card_declined``,
    ``insufficient_funds``, ``expired_card``, ``incorrect_cvc``, ``processing_error``)."""


class ConnectorTimeout(ServiceUnavailable):
    code = "connector_timeout"


class VaultKeyMissing(AppError):
    type, code, http_status = "internal", "vault_key_missing", 500
