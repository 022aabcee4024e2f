"""Payment history: every movement of the user's money, with filters, keyset paging, a CSV
download and a page per movement (the wallet service derives the lines from the ledger)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta, timezone

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from amanah.api.routing import Router
from amanah.core import limits
from amanah.core.errors import NotFound
from amanah.money import CURRENCIES, Money, currency
from amanah.web import i18n
from amanah.web.pages import CabinetRoute, render, require_user

router = Router(route_class=CabinetRoute, include_in_schema=False)
PAGE_SIZE = 25
DETAIL_SCAN_MAX = 2000
"""A movement's page finds it among the newest this many lines."""


def type_names() -> dict[str, str]:
    _ = i18n.gettext
    return {"topup": _("Top-up"), "funding": _("Card payment for an order"), "payment": _("Payment for an order"),
            "escrow_hold": _("Sale: money in escrow"), "escrow_release": _("Escrow released"),
            "refund": _("Refund"), "fee": _("Marketplace fee"), "conversion": _("Currency exchange"),
            "withdrawal": _("Withdrawal"), "expiry": _("Hold expired"), "other": _("Other")}


def status_names() -> dict[str, str]:
    _ = i18n.gettext
    return {"pending": _("held"), "completed": _("completed"), "returned": _("returned")}


def _day(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text[:10]), time(), tzinfo=timezone.utc)
    except ValueError:
        return None


def _filter(wallet, type_: str, currency_code: str, start: str, end: str):
    types = frozenset({type_}) if type_ in wallet.TYPES else frozenset()
    end_at = _day(end)
    return wallet.HistoryFilter(types=types, currency=currency_code if currency_code in CURRENCIES else None,
                                start=_day(start), end=end_at + timedelta(days=1) if end_at else None)


@router.get("/history")
def history(request: Request, type: str = Query("", max_length=20), currency_code: str = Query("", alias="currency", max_length=3),
            start: str = Query("", alias="from", max_length=10), end: str = Query("", alias="to", max_length=10),
            starting_after: str | None = Query(None, max_length=64)):
    found = require_user(request)
    from amanah.wallet import service as wallet

    chosen = _filter(wallet, type, currency_code, start, end)
    with found.engine.connect() as connection:
        lines, has_more = wallet.page(connection, found.user.id, chosen, limit=PAGE_SIZE, starting_after=starting_after)
    query = {"type": type, "currency": currency_code, "from": start, "to": end}
    return render(request, "history.html", lines=lines, has_more=has_more, query=query, types=type_names(),
                  statuses=status_names(), first_page=starting_after is None,
                  filters="&".join(f"{key}={value}" for key, value in query.items() if value))


@router.get("/history.csv")
def history_csv(request: Request, type: str = Query("", max_length=20), currency_code: str = Query("", alias="currency", max_length=3),
                start: str = Query("", alias="from", max_length=10), end: str = Query("", alias="to", max_length=10)):
    found = require_user(request)
    from amanah.wallet import service as wallet

    chosen = _filter(wallet, type, currency_code, start, end)
    lines = wallet.iterate(found.engine.connect, found.user.id, chosen, page_size=limits.HISTORY_CSV_PAGE_ROWS,
                           rows_max=limits.HISTORY_CSV_ROWS_MAX)

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["date_utc", "type", "amount", "held", "currency", "status", "counterparty", "marketplace",
                         "subject", "trade_id", "id"])
        yield "\ufeff" + buffer.getvalue()  # the BOM tells spreadsheets the file is UTF-8
        buffer.seek(0)
        buffer.truncate()
        for line in lines:
            code = currency(line.currency)
            writer.writerow([line.created_at.isoformat(), line.type, Money(line.amount, code).to_decimal(),
                             Money(line.held, code).to_decimal(), line.currency, line.status,
                             *(_cell(v) for v in (line.counterparty, line.marketplace, line.subject)),
                             line.trade_id or "", line.id])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="amanah-history.csv"',
                                      "Cache-Control": "no-store"})


def _cell(value: str | None) -> str:
    """No formula injection: a spreadsheet must not run a cell a seller named "=HYPERLINK(…)"."""
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@router.get("/history/{line_id}")
def history_line(request: Request, line_id: str):
    found = require_user(request)
    from amanah.wallet import service as wallet

    lines = wallet.iterate(found.engine.connect, found.user.id, wallet.HistoryFilter(), page_size=200,
                           rows_max=DETAIL_SCAN_MAX)
    line = next((candidate for candidate in lines if candidate.id == line_id), None)
    if line is None:
        raise NotFound("No such movement.")
    return render(request, "history_line.html", line=line, types=type_names(), statuses=status_names())
