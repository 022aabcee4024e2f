"""Amounts on the wire: an integer of minor units, and nothing that merely looks like one.

Pydantic's lax mode would take ``"1000"``, ``1000.0``, ``1e3`` and ``true`` for an ``int``; for
money each of those is a client's mistake (a string where a number goes, a decimal where minor
units go, a flag), so it is refused with a message that says what to send — as the FX quote's
``MoneyIn`` does. A model keeps its ``int`` fields and their ``Field`` limits (so the OpenAPI
document is unchanged) and adds ``whole_numbers("amount", ...)`` as a class attribute."""

from __future__ import annotations

from pydantic import field_validator


def _whole_number(cls, value: object) -> object:
    if value is not None and type(value) is not int:  # bool is an int subclass; 19.99 or "1999" are mistakes
        raise ValueError("give an integer number of minor units, such as 1999 for 19.99 USD "
                         "(not a decimal, not a string, not true or false)")
    return value


def whole_numbers(*fields: str):
    """A before-validator refusing anything but a JSON integer (or null, where null is allowed)."""
    return field_validator(*fields, mode="before")(classmethod(_whole_number))
