"""Card number, expiry and CVC checks, and the brand by number range.

Supported brands: Visa, Mastercard, Mir and UnionPay (common among this system's buyers).
Every failure is an ``InvalidCard`` naming the field; none repeats the number."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from amanah.cards.errors import InvalidCard
from amanah.core import limits


class Brand(enum.StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    MIR = "mir"
    UNIONPAY = "unionpay"


@dataclass(frozen=True)
class BrandRule:
    brand: Brand
    prefixes: tuple[tuple[int, int], ...]
    """Inclusive ranges of leading digits, compared on as many digits as the bounds have."""
    lengths: tuple[int, ...]
    cvc_length: int


RULES = (
    # Mir (2200–2204) before Mastercard's 2-series so the narrower range wins.
    BrandRule(Brand.MIR, ((2200, 2204),), (16, 17, 18, 19), 3),
    BrandRule(Brand.VISA, ((4, 4),), (13, 16, 19), 3),
    BrandRule(Brand.MASTERCARD, ((51, 55), (2221, 2720)), (16,), 3),
    BrandRule(Brand.UNIONPAY, ((62, 62), (81, 81)), (16, 17, 18, 19), 3),
)


def normalise_number(number: str) -> str:
    """Digits only; spaces and dashes as people type them are allowed."""
    if not isinstance(number, str):
        raise InvalidCard("The card number must be a string of digits.", param="number")
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidCard("The card number may contain only digits (and spaces).", param="number")
    return digits


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def brand_of(digits: str) -> BrandRule | None:
    for rule in RULES:
        for low, high in rule.prefixes:
            width = len(str(low))
            if len(digits) >= width and low <= int(digits[:width]) <= high:
                return rule
    return None


def check_number(number: str) -> tuple[str, BrandRule]:
    digits = normalise_number(number)
    if not 12 <= len(digits) <= 19:
        raise InvalidCard("The card number must have 12 to 19 digits.", param="number")
    rule = brand_of(digits)
    if rule is None:
        raise InvalidCard("This card brand is not supported: use Visa, Mastercard, Mir or UnionPay.",
                          code="unsupported_brand", param="number")
    if len(digits) not in rule.lengths:
        lengths = " or ".join(str(n) for n in rule.lengths)
        raise InvalidCard(f"A {rule.brand.value.title()} card number has {lengths} digits.", param="number")
    if not luhn_valid(digits):
        raise InvalidCard("The card number is not valid: please check it for typing errors.", param="number")
    return digits, rule


def check_expiry(exp_month: int, exp_year: int, now: datetime) -> tuple[int, int]:
    if type(exp_month) is not int or not 1 <= exp_month <= 12:
        raise InvalidCard("The expiry month must be a number from 1 to 12.", param="exp_month")
    if type(exp_year) is not int:
        raise InvalidCard("The expiry year must be a number.", param="exp_year")
    if exp_year < 100:
        exp_year += 2000
    if exp_year > now.year + limits.CARD_EXPIRY_YEARS_MAX:
        raise InvalidCard("The expiry year is too far in the future.", param="exp_year")
    if (exp_year, exp_month) < (now.year, now.month):
        raise InvalidCard("This card has expired.", code="expired_card", param="exp_year")
    return exp_month, exp_year


def check_cvc(cvc: str, rule: BrandRule) -> str:
    if not isinstance(cvc, str) or not cvc.isascii() or not cvc.isdigit() or len(cvc) != rule.cvc_length:
        raise InvalidCard(f"The security code (CVC) is {rule.cvc_length} digits on the back of the card.",
                          param="cvc")
    return cvc


def check_holder_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= limits.CARD_HOLDER_NAME_LENGTH_MAX:
        raise InvalidCard(
            f"The cardholder's name must be 1 to {limits.CARD_HOLDER_NAME_LENGTH_MAX} characters.",
            param="holder_name")
    if any(char.isdigit() for char in name):
        raise InvalidCard("The cardholder's name cannot contain digits.", param="holder_name")
    return name
