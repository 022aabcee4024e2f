"""Conversion in the ledger: the payer's sell currency into the FX liquidity account of that
currency, the buy currency out of the liquidity account of that one, and the spread from the
sell-side liquidity into FX revenue. Each currency balances on its own, so ``ledger.verify``
holds; the liquidity accounts carry the system's position and may go either way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from amanah import ledger
from amanah.core import limits
from amanah.fx.types import Quote
from amanah.ledger import AccountKind, Transfer, TransferRequest

FX_OWNER = "system"
"""Owner of the FX liquidity and revenue accounts (one of each per currency)."""
CODE_SELL, CODE_SPREAD, CODE_BUY = "fx_sell", "fx_spread", "fx_buy"
_SUFFIX_LENGTH_MAX = len(":" + CODE_SPREAD)


def liquidity_account(connection: Connection, currency_code: str, *, now: datetime) -> ledger.Account:
    return ledger.open_account(connection, kind=AccountKind.FX_LIQUIDITY, owner_ref=FX_OWNER,
                               currency=currency_code, now=now)


def revenue_account(connection: Connection, currency_code: str, *, now: datetime) -> ledger.Account:
    return ledger.open_account(connection, kind=AccountKind.FX_REVENUE, owner_ref=FX_OWNER,
                               currency=currency_code, now=now)


def conversion_transfers(connection: Connection, *, quote: Quote, from_account_id: int,
                         to_account_id: int, transfer_id_prefix: str, now: datetime,
                         link_to_next: bool = False) -> list[TransferRequest]:
    """The transfers that carry out a locked quote, for the caller to submit in one linked batch
    with its own (``ledger.create_linked`` links them all).

    ``from_account_id`` pays ``quote.sell`` (an account in the sell currency);
    ``to_account_id`` receives exactly ``quote.buy``. Ids are ``{prefix}:fx_sell``,
    ``:fx_spread`` (left out when the spread is zero) and ``:fx_buy``: submitted twice with
    the same prefix, the ledger answers ``exists`` and moves nothing twice. The requests are linked to each other; the last
    one closes the chain unless ``link_to_next`` (then the caller's next transfer joins it)."""
    assert quote.used_at is not None, "lock the quote (lock_quote) before converting at it"
    assert len(transfer_id_prefix) + _SUFFIX_LENGTH_MAX <= limits.TRANSFER_ID_LENGTH_MAX
    sell_code, buy_code = quote.sell.currency.code, quote.buy.currency.code
    sell_liquidity = liquidity_account(connection, sell_code, now=now).id
    buy_liquidity = liquidity_account(connection, buy_code, now=now).id
    requests = [TransferRequest.direct(
        f"{transfer_id_prefix}:{CODE_SELL}", debit=from_account_id, credit=sell_liquidity,
        amount=quote.sell.amount_minor, code=CODE_SELL, reference=quote.id, linked=True)]
    if quote.spread.is_positive:
        requests.append(TransferRequest.direct(
            f"{transfer_id_prefix}:{CODE_SPREAD}", debit=sell_liquidity,
            credit=revenue_account(connection, sell_code, now=now).id,
            amount=quote.spread.amount_minor, code=CODE_SPREAD, reference=quote.id, linked=True))
    requests.append(TransferRequest.direct(
        f"{transfer_id_prefix}:{CODE_BUY}", debit=buy_liquidity, credit=to_account_id,
        amount=quote.buy.amount_minor, code=CODE_BUY, reference=quote.id, linked=link_to_next))
    return requests


def convert_in_ledger(connection: Connection, *, quote: Quote, from_account_id: int,
                      to_account_id: int, transfer_id_prefix: str, now: datetime) -> list[Transfer]:
    """Carries out a locked quote on its own, all or nothing; raises the ledger's refusal
    (``InsufficientFunds`` when the payer's balance is too low)."""
    requests = conversion_transfers(
        connection, quote=quote, from_account_id=from_account_id, to_account_id=to_account_id,
        transfer_id_prefix=transfer_id_prefix, now=now)
    return ledger.create_linked(connection, requests, now=now)
