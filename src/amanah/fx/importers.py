"""Readers for rates files: the ECB's ``eurofxref`` XML (daily, 90-day and historical files,
the real format) and a simple CSV ``date,base,quote,rate``. Pure: bytes in, rows out.

A file is read whole and checked before anything is stored, so a bad line imports nothing.
Rates for currencies we do not hold (the ECB publishes about 30) are skipped and counted.
XML with a DTD is refused outright: rates files never need one, and entity tricks start there."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from amanah.core import limits
from amanah.fx.errors import InvalidRate, InvalidRatesFile
from amanah.money import CURRENCIES

CSV_HEADER = ["date", "base", "quote", "rate"]
ECB_BASE = "EUR"
_RATE_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_CODE_TEXT = re.compile(r"[A-Z]{3}", re.ASCII)
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_SHOWN_MAX = 24


@dataclass(frozen=True, slots=True)
class RateRow:
    """One rate as read from a file: one ``base`` is worth ``rate`` ``quote`` on ``as_of``."""

    as_of: date
    base: str
    quote: str
    rate: Decimal


@dataclass
class ParsedRates:
    format: str
    """``ecb`` or ``csv``: also the ``source`` the rates are stored with."""
    rows: list[RateRow] = field(default_factory=list)
    skipped_currencies: set[str] = field(default_factory=set)
    """Currencies in the file that we do not hold; their rates were left out."""
    _seen: set[tuple[date, str, str]] = field(default_factory=set, repr=False)


def parse_rate(text: str, *, where: str = "") -> Decimal:
    """A rate written as a plain positive decimal (``92.51``), in range, or ``InvalidRate``."""
    prefix = f"{where}: " if where else ""
    shown = _shown(text)
    if len(text) > limits.FX_RATE_TEXT_LENGTH_MAX or not _RATE_TEXT.fullmatch(text.strip()):
        raise InvalidRate(f"{prefix}{shown!r} is not a rate; write a plain decimal such as 92.51.",
                          param="rate")
    rate = Decimal(text.strip())
    check_rate(rate, where=where)
    return rate


def check_rate(rate: Decimal, *, where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    bound = Decimal(10) ** limits.FX_RATE_EXPONENT_MAX
    if not (rate.is_finite() and 1 / bound <= rate <= bound):
        raise InvalidRate(f"{prefix}a rate must lie between {1 / bound:f} and {bound:f}.", param="rate")
    if len(rate.normalize().as_tuple().digits) > limits.FX_RATE_DIGITS_MAX:
        raise InvalidRate(f"{prefix}a rate has at most {limits.FX_RATE_DIGITS_MAX} significant digits.",
                          param="rate")


def parse_rates_file(data: bytes) -> ParsedRates:
    """Reads an ECB XML or a CSV file, told apart by their first character."""
    if len(data) > limits.FX_IMPORT_FILE_BYTES_MAX:
        raise InvalidRatesFile(f"The file is larger than {limits.FX_IMPORT_FILE_BYTES_MAX // 2**20} MiB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidRatesFile(f"The file is not UTF-8 text (byte {error.start}).") from None
    if text.lstrip().startswith("<"):
        return parse_ecb_xml(text)
    return parse_csv(text)


# -- ECB eurofxref XML ---------------------------------------------------------------------------

def parse_ecb_xml(text: str) -> ParsedRates:
    """The ECB's ``gesmes:Envelope`` / ``Cube`` / ``Cube time=`` / ``Cube currency= rate=`` files."""
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise InvalidRatesFile("The XML file declares a DTD or entities; ECB rates files never do.")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise InvalidRatesFile(f"The file is not well-formed XML ({error}).") from None
    if _local_name(root.tag) != "Envelope":
        raise InvalidRatesFile("This XML file is not an ECB eurofxref file (no gesmes:Envelope).")
    parsed = ParsedRates(format="ecb")
    days = [cube for cube in root.iter() if _local_name(cube.tag) == "Cube" and "time" in cube.attrib]
    if not days:
        raise InvalidRatesFile("The ECB file has no <Cube time='…'> element: it holds no rates.")
    for day in days:
        as_of = _parse_date(day.attrib["time"], where=f"<Cube time={day.attrib['time'][:_SHOWN_MAX]!r}>")
        for cube in day:
            _add_ecb_rate(parsed, as_of, cube)
    return parsed


def _add_ecb_rate(parsed: ParsedRates, as_of: date, cube: ElementTree.Element) -> None:
    code, text = cube.attrib.get("currency"), cube.attrib.get("rate")
    where = f"{as_of.isoformat()} {_shown(code or '?')}"
    if _local_name(cube.tag) != "Cube" or code is None or text is None:
        raise InvalidRatesFile(f"{as_of.isoformat()}: expected <Cube currency='…' rate='…'/>.")
    if code not in CURRENCIES:
        parsed.skipped_currencies.add(_shown(code))
        return
    _append(parsed, RateRow(as_of, ECB_BASE, code, _rate_in_file(text, where)), where)


# -- CSV ------------------------------------------------------------------------------------------

def parse_csv(text: str) -> ParsedRates:
    """``date,base,quote,rate`` with that header; lines starting with ``#`` are comments."""
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InvalidRatesFile("The CSV file holds no rates.")
    (header_number, header), *body = lines
    if [cell.strip().lower() for cell in next(csv.reader([header]))] != CSV_HEADER:
        raise InvalidRatesFile(f"Line {header_number}: the CSV header must be {','.join(CSV_HEADER)}.")
    parsed = ParsedRates(format="csv")
    for number, line in body:
        _add_csv_line(parsed, number, line)
    return parsed


def _add_csv_line(parsed: ParsedRates, number: int, line: str) -> None:
    cells = [cell.strip() for cell in next(csv.reader(io.StringIO(line)))]
    if len(cells) != len(CSV_HEADER):
        raise InvalidRatesFile(f"Line {number}: expected 4 values (date,base,quote,rate), found {len(cells)}.")
    day, base, quote, rate_text = cells
    where = f"Line {number}"
    as_of = _parse_date(day, where=where)
    for code in (base, quote):
        if not _CODE_TEXT.fullmatch(code):
            raise InvalidRatesFile(f"{where}: {_shown(code)!r} is not a three-letter currency code.")
    if base == quote:
        raise InvalidRatesFile(f"{where}: the base and quote currencies are the same ({base}).")
    unknown = {code for code in (base, quote) if code not in CURRENCIES}
    if unknown:
        parsed.skipped_currencies |= unknown
        return
    _append(parsed, RateRow(as_of, base, quote, _rate_in_file(rate_text, where)), where)


# -- shared ---------------------------------------------------------------------------------------

def _append(parsed: ParsedRates, row: RateRow, where: str) -> None:
    if len(parsed.rows) >= limits.FX_IMPORT_ROWS_MAX:
        raise InvalidRatesFile(f"The file holds more than {limits.FX_IMPORT_ROWS_MAX} rates.")
    key = (row.as_of, *sorted((row.base, row.quote)))
    if key in parsed._seen:
        raise InvalidRatesFile(f"{where}: a second rate for {row.base}/{row.quote} on {row.as_of.isoformat()}.")
    parsed._seen.add(key)
    parsed.rows.append(row)


def _rate_in_file(text: str, where: str) -> Decimal:
    try:
        return parse_rate(text, where=where)
    except InvalidRate as error:
        raise InvalidRatesFile(error.message) from None


def _parse_date(text: str, *, where: str) -> date:
    try:
        if not _DATE_TEXT.fullmatch(text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRatesFile(f"{where}: {_shown(text)!r} is not a date (YYYY-MM-DD).") from None


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _shown(text: str) -> str:
    return "".join(char if char.isprintable() else " " for char in text.strip())[:_SHOWN_MAX]
