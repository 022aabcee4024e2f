"""``Outcome``: a result or an error that must be raised only after the transaction commits.

A failed log-in must still count (the throttle), and a wrong captcha answer must still use the
captcha up; raising inside the transaction would roll both back. Such use cases return an
``Outcome``; the edge commits, then calls ``unwrap()``, which raises the error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from amanah.core.errors import AppError

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    error: AppError | None = None

    def __post_init__(self) -> None:
        assert (self.value is None) != (self.error is None), "a value or an error, not both"

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def failed(error: AppError) -> Outcome:
    return Outcome(error=error)
