"""The wallet: balances, top-ups, withdrawals and the payment history.

- **Balances** are the ledger's wallet accounts (one per user and currency): ``available`` is
  posted credits less posted and pending debits; ``held`` is escrow as buyer (pending debits),
  as seller (pending credits) and withdrawals under way (pending debits).
- **Top-ups** charge a card or an e-wallet through ``cards.charges`` (3-D Secure included); the
  ledger moves only when the charge settles: clearing → wallet, then a conversion at a locked
  quote when the card was charged in another currency, all linked. Refused while winding down.
- **Withdrawals** hold the amount at once (a pending transfer wallet → payout clearing), call
  the acquirer's payout outside any transaction, then post the hold or void it (money back).
  Per-transaction and rolling 24-hour limits per currency are settings. Allowed in wind-down.
- **History** is derived from the ledger's journal, one line per transfer touching one of the
  user's wallets, joined by ``reference`` to trades, top-ups, withdrawals and quotes; amounts
  are the signed change of the available (and held) balance. Why, and how pages stay fast at a
  million lines, is in ``service/history.py``. The CSV export is ``service/history_csv.py``.

``models`` holds the top-ups' and withdrawals' own records; their ids are the ledger
transfers' references and the prefixes of their transfer ids (``top_…:topup``, ``wdr_…:hold``).
"""
