"""The payment history as CSV that a spreadsheet opens correctly.

UTF-8 with a byte-order mark (Excel otherwise guesses a legacy code page and garbles names),
RFC 4180 quoting and CRLF line ends (the ``csv`` module's defaults), ISO 8601 UTC dates, and
amounts in major units with exactly the currency's decimals and a "." (``-25.99``, ``-2599`` for
yen), so that every locale's spreadsheet reads them as numbers. Text we did not write ourselves
(subjects, names) is neutralised against formula injection (OWASP): a cell starting with
``= + - @``, a tab or a carriage return gets a leading apostrophe, which spreadsheets show as
text and never evaluate."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from amanah.money import Money, currency
from amanah.wallet.service.history import HistoryLine

BOM = "\ufeff"
HEADER = ["date", "type", "counterparty", "marketplace", "subject", "amount", "held", "currency", "status",
          "trade_id", "trade_url", "id"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 200


def neutralise(text: str | None) -> str:
    """A text cell a spreadsheet will never run as a formula."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def major_units(amount_minor: int, currency_code: str) -> str:
    """``-2599`` USD → ``"-25.99"``; exact (no float, no rounding: the currency's own decimals)."""
    return format(Money(amount_minor, currency(currency_code)).to_decimal(), "f")


def row(line: HistoryLine, base_url: str) -> list[str]:
    data = line.to_dict(base_url)
    return [line.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), line.type, neutralise(line.counterparty),
            neutralise(line.marketplace), neutralise(line.subject), major_units(line.amount, line.currency),
            major_units(line.held, line.currency), line.currency, line.status, line.trade_id or "",
            data["trade_url"] or "", neutralise(line.id)]


def csv_chunks(lines: Iterable[HistoryLine], base_url: str) -> Iterator[bytes]:
    """The CSV file, in chunks of encoded rows (for a streaming response)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: quotes as needed, doubled inner quotes, CRLF
    buffer.write(BOM)
    writer.writerow(HEADER)
    for count, line in enumerate(lines, start=1):
        writer.writerow(row(line, base_url))
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
