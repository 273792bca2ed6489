"""Amounts in the ledger: signed whole numbers of minor units (a debit positive, a credit negative), the line of
an entry that carries one, and the explicit rounding every computation of the ledger goes through."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Line:
    account: str
    currency: str
    #: signed minor units: debit positive, credit negative
    amount_minor: int


def debit(account: str, amount_minor: int, currency: str) -> Line:
    return Line(account, currency, amount_minor)


def credit(account: str, amount_minor: int, currency: str) -> Line:
    return Line(account, currency, -amount_minor)


def apply_rate(amount_minor: int, rate: Decimal) -> int:
    """amount × rate, rounded half-up to the minor unit (half a cent goes away from zero)."""
    return int((Decimal(amount_minor) * Decimal(rate)).to_integral_value(rounding=ROUND_HALF_UP))


def split(total_minor: int, weights: list[int | Decimal]) -> list[int]:
    """Split `total_minor` in proportion to `weights` so that the parts always sum exactly to the total
    (largest remainders get the leftover minor units; ties go to the earlier part)."""
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative and not all zero")
    whole = Decimal(sum(weights))
    sign = -1 if total_minor < 0 else 1
    exact = [Decimal(abs(total_minor)) * Decimal(w) / whole for w in weights]
    parts = [int(x) for x in exact]
    leftover = abs(total_minor) - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]
