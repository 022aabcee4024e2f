"""What the wallet's use cases share: the user's ledger accounts and the amounts they accept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from amanah import ledger
from amanah.core import limits
from amanah.ledger import AccountKind
from amanah.ledger.models import accounts
from amanah.money import InvalidAmount, Money, UnsupportedCurrency, currency

PAYOUT_CONNECTOR = "sandbox_acquirer"
"""Owner of the payout clearing accounts (the acquirer that pays withdrawals out)."""


def money(amount: int, currency_code: str, *, param: str = "amount") -> Money:
    """The request's amount as ``Money``, or a 400 naming the field."""
    try:
        found = currency(currency_code)
    except UnsupportedCurrency as error:
        raise UnsupportedCurrency(error.message, param="currency") from None
    if type(amount) is not int or not 0 < amount <= limits.AMOUNT_MAX_MINOR:
        raise InvalidAmount(f"The amount must be 1 to {limits.AMOUNT_MAX_MINOR} minor units of {found.code}.",
                            param=param)
    return Money(amount, found)


def wallet(connection: Connection, user_id: str, currency_code: str, now: datetime) -> ledger.Account:
    return ledger.open_account(connection, kind=AccountKind.USER_WALLET, owner_ref=user_id,
                               currency=currency_code, now=now)


def wallet_accounts(connection: Connection, user_id: str) -> list[ledger.Account]:
    """The user's wallet accounts (one per currency they ever used), read without opening any:
    a read of the ledger's own table, because listing an owner's accounts is not a ledger use case
    and a GET must not create accounts."""
    from amanah.ledger.sql import account_from_row

    rows = connection.execute(sa.select(accounts).where(
        accounts.c.kind == AccountKind.USER_WALLET.value, accounts.c.owner_ref == user_id)
        .order_by(accounts.c.currency))
    return [account_from_row(row) for row in rows]


def card_label(brand: str, last4: str) -> str:
    """How a card is named to its owner: "Visa •••• 4242" (never more digits)."""
    names = {"visa": "Visa", "mastercard": "Mastercard", "mir": "Mir", "unionpay": "UnionPay"}
    return f"{names.get(brand, brand.title())} •••• {last4}"
