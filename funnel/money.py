"""Money as DESIGN.md §3 has it: an integer amount in minor units (cents) and an ISO 4217 currency."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    minor: int

    def __post_init__(self):
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("money is an integer number of minor units")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.currency, self.minor + other.minor)

    @classmethod
    def total(cls, amounts: Iterable[Money], currency: str) -> Money:
        """The sum of `amounts` (zero in `currency` when there are none); mixing currencies raises."""
        result = cls(currency, 0)
        for amount in amounts:
            result = result + amount
        return result

    def as_dict(self) -> dict:
        return {"minor": self.minor, "currency": self.currency}

    def __str__(self) -> str:
        sign = "-" if self.minor < 0 else ""
        return f"{sign}{abs(self.minor) // 100}.{abs(self.minor) % 100:02d} {self.currency}"
