"""Languages of the cabinet: which one a visitor gets, the catalogs, and formatting per locale.

The locale comes from the ``amanah_lang`` cookie (the language switcher), else the signed-in
user's own locale, else the browser's ``Accept-Language``, else English. Translations are Babel
``.mo`` catalogs under ``translations/``; ``pybabel`` commands are in ``translations/README.md``.
"""

from __future__ import annotations

import contextvars
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations

LOCALES = ("en", "ru", "id", "zh")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "id": "Bahasa Indonesia", "zh": "中文"}
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "amanah_lang"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

_current = contextvars.ContextVar("amanah_web_locale", default=DEFAULT_LOCALE)


def supported(locale: str | None) -> str | None:
    language = (locale or "").replace("_", "-").split("-")[0].strip().lower()
    return language if language in LOCALES else None


def negotiate(cookie: str | None, user_locale: str | None, accept_language: str | None) -> str:
    for candidate in (cookie, user_locale):
        if found := supported(candidate):
            return found
    weighted = []
    for index, part in enumerate((accept_language or "")[:200].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, index, tag))
    for _quality, _index, tag in sorted(weighted):
        if found := supported(tag):
            return found
    return DEFAULT_LOCALE


@lru_cache(maxsize=len(LOCALES))
def catalog(locale: str) -> NullTranslations:
    if locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def set_locale(locale: str) -> None:
    _current.set(locale)


def current_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return catalog(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return catalog(_current.get()).ungettext(singular, plural, count)


_ = gettext


def babel_locale(locale: str) -> str:
    return {"zh": "zh_Hans_CN", "id": "id_ID", "ru": "ru_RU", "en": "en_US"}.get(locale, "en_US")


def format_when(value: datetime | None, locale: str, *, time: bool = True) -> str:
    if value is None:
        return "—"
    if not time or not isinstance(value, datetime):
        return format_date(value if isinstance(value, date) else value.date(), format="medium",
                           locale=babel_locale(locale))
    return format_datetime(value, format="medium", tzinfo=None, locale=babel_locale(locale)) + " UTC"


def text_direction(locale: str) -> str:
    return Locale.parse(babel_locale(locale)).text_direction
