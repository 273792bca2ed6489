"""A tariff version's content, as data: the formulas of one cover with their guarantee tables and monthly
premiums, the waiting periods per guarantee, the minimum commitment and the children's age limit.

Stored as a JSON document on the tariff version (`funnel.models.TariffVersion.grid`) and read back through
`parse_grid`, which refuses a grid that does not hold together (every problem at once, by path) — so the code
that prices a quote only ever sees a complete, typed `TariffGrid`. The JSON shape:

    {"currency": "EUR", "minimum_term_months": 12, "child_age_limit": 21,
     "waiting_periods": {"dental": 6, "maternity": 10},
     "formulas": [{"code": "essential",
                   "guarantees": [{"guarantee": "hospital", "percent": 100, "limit_minor": null, "basis": null}],
                   "premiums": {"1": {"volunteer": 1900, "spouse": 2100, "child": 1100}, "2": {...}, "3": {...}}}]}

A cover priced by formula alone (the prévoyance top-up) has `"premiums": {"volunteer": 900}` and no age limit.
Premiums are monthly, in minor units of `currency`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.i18n import N_

from .catalogue import FORMULA_LABELS, ZONES, Cover, Guarantee, LimitBasis, PersonCategory
from .errors import GridInvalid, UnknownFormula

REQUIRED = N_("Required.")
NOT_A_COUNT = N_("Give a whole number in the allowed range.")
NOT_AN_AMOUNT = N_("Give an amount in cents: a whole number, zero or more.")
UNKNOWN_ZONE = N_("Unknown zone: the zones are 1, 2 and 3.")
MAX_TERM_MONTHS = 24
MAX_WAITING_MONTHS = 24
MAX_CHILD_AGE = 30


@dataclass(frozen=True)
class GuaranteeLine:
    guarantee: Guarantee
    #: the share of the costs left after the mandatory plan that the top-up repays, in percent (None: a set amount)
    percent: int | None
    #: the ceiling, or the lump sum paid, in minor units (None: no ceiling)
    limit_minor: int | None
    #: what the ceiling is counted over (None when there is no ceiling)
    basis: LimitBasis | None


@dataclass(frozen=True)
class Formula:
    code: str
    guarantees: tuple[GuaranteeLine, ...]
    #: monthly premium in minor units by (zone, person category); zone is None for a cover priced by formula alone
    premiums: Mapping[tuple[int | None, PersonCategory], int]

    @property
    def label(self) -> str:
        return FORMULA_LABELS[self.code]

    def monthly_premium(self, zone: int | None, category: PersonCategory) -> int:
        return self.premiums[(zone, category)]


@dataclass(frozen=True)
class TariffGrid:
    cover: Cover
    currency: str
    minimum_term_months: int
    #: a child is covered until the eve of this birthday (None: the cover insures no children)
    child_age_limit: int | None
    #: months of waiting per guarantee, when the volunteer subscribes after the first month of mission
    waiting_periods: Mapping[Guarantee, int]
    formulas: tuple[Formula, ...]

    def formula(self, code: str) -> Formula:
        for formula in self.formulas:
            if formula.code == code:
                return formula
        raise UnknownFormula(N_("This cover has no formula %(formula)s."), fields={"formula": [
            N_("Choose one of the formulas offered.")]}, formula=code)

    def to_data(self) -> dict:
        """The JSON document `parse_grid` reads back into an equal grid."""
        return {
            "currency": self.currency,
            "minimum_term_months": self.minimum_term_months,
            "child_age_limit": self.child_age_limit,
            "waiting_periods": {g.value: months for g, months in self.waiting_periods.items()},
            "formulas": [{"code": f.code,
                          "guarantees": [{"guarantee": line.guarantee.value, "percent": line.percent,
                                          "limit_minor": line.limit_minor,
                                          "basis": line.basis.value if line.basis else None}
                                         for line in f.guarantees],
                          "premiums": _premiums_data(self.cover, f.premiums)} for f in self.formulas],
        }


def _premiums_data(cover: Cover, premiums: Mapping) -> dict:
    if not cover.zoned:
        return {c.value: premiums[(None, c)] for c in cover.categories}
    return {str(z): {c.value: premiums[(z, c)] for c in cover.categories} for z in ZONES}


class _Problems:
    """Problems found so far, by dotted path; `raise_if_any` refuses the grid with all of them."""

    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.fields.setdefault(path, []).append(message)

    def count(self, data: Mapping, key: str, path: str, low: int, high: int) -> int | None:
        value = data.get(key)
        if value is None:
            self.add(path, REQUIRED)
        elif not _is_int(value) or not low <= value <= high:
            self.add(path, NOT_A_COUNT)
        else:
            return value
        return None

    def raise_if_any(self) -> None:
        if self.fields:
            raise GridInvalid(N_("The tariff grid is not complete or not consistent."), fields=self.fields)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _amount(problems: _Problems, value, path: str) -> int | None:
    if value is None:
        problems.add(path, REQUIRED)
    elif not _is_int(value) or value < 0:
        problems.add(path, NOT_AN_AMOUNT)
    else:
        return value
    return None


def parse_grid(cover: Cover, data) -> TariffGrid:
    """The grid `data` describes for `cover`, or GridInvalid naming every problem by path."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        problems.add("grid", REQUIRED)
        problems.raise_if_any()
    currency = data.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        problems.add("currency", N_("Give a three-letter currency code such as EUR."))
    term = problems.count(data, "minimum_term_months", "minimum_term_months", 1, MAX_TERM_MONTHS)
    age_limit = None
    if PersonCategory.child in cover.categories:
        age_limit = problems.count(data, "child_age_limit", "child_age_limit", 1, MAX_CHILD_AGE)
    elif data.get("child_age_limit") is not None:
        problems.add("child_age_limit", N_("This cover insures the volunteer only: it has no age limit."))
    waiting = _waiting_periods(problems, cover, data.get("waiting_periods", {}))
    formulas = _formulas(problems, cover, data.get("formulas"))
    problems.raise_if_any()
    return TariffGrid(cover=cover, currency=currency, minimum_term_months=term, child_age_limit=age_limit,
                      waiting_periods=waiting, formulas=formulas)


def _waiting_periods(problems: _Problems, cover: Cover, data) -> dict[Guarantee, int]:
    if not isinstance(data, Mapping):
        problems.add("waiting_periods", REQUIRED)
        return {}
    waiting = {}
    for code, months in data.items():
        path = f"waiting_periods.{code}"
        guarantee = _guarantee(problems, cover, code, path)
        if not _is_int(months) or not 0 <= months <= MAX_WAITING_MONTHS:
            problems.add(path, NOT_A_COUNT)
        elif guarantee is not None:
            waiting[guarantee] = months
    return waiting


def _guarantee(problems: _Problems, cover: Cover, code, path: str) -> Guarantee | None:
    try:
        guarantee = Guarantee(code)
    except ValueError:
        problems.add(path, N_("Unknown guarantee."))
        return None
    if guarantee.cover is not cover:
        problems.add(path, N_("This guarantee belongs to the other cover."))
        return None
    return guarantee


def _formulas(problems: _Problems, cover: Cover, data) -> tuple[Formula, ...]:
    if not isinstance(data, list) or not data:
        problems.add("formulas", N_("Give at least one formula."))
        return ()
    formulas, seen = [], set()
    for i, item in enumerate(data):
        path = f"formulas.{i}"
        if not isinstance(item, Mapping):
            problems.add(path, REQUIRED)
            continue
        code = item.get("code")
        if code not in FORMULA_LABELS:
            problems.add(f"{path}.code", N_("Unknown formula."))
        elif code in seen:
            problems.add(f"{path}.code", N_("This formula is listed twice."))
        seen.add(code)
        lines = _guarantee_lines(problems, cover, item.get("guarantees"), f"{path}.guarantees")
        premiums = _premiums(problems, cover, item.get("premiums"), f"{path}.premiums")
        formulas.append(Formula(code=code, guarantees=lines, premiums=premiums))
    return tuple(formulas)


def _guarantee_lines(problems: _Problems, cover: Cover, data, path: str) -> tuple[GuaranteeLine, ...]:
    if not isinstance(data, list) or not data:
        problems.add(path, N_("Give at least one guarantee."))
        return ()
    lines, seen = [], set()
    for i, item in enumerate(data):
        here = f"{path}.{i}"
        if not isinstance(item, Mapping):
            problems.add(here, REQUIRED)
            continue
        guarantee = _guarantee(problems, cover, item.get("guarantee"), f"{here}.guarantee")
        if guarantee in seen:
            problems.add(f"{here}.guarantee", N_("This guarantee is listed twice."))
        seen.add(guarantee)
        percent, limit, basis = item.get("percent"), item.get("limit_minor"), item.get("basis")
        if percent is not None and (not _is_int(percent) or not 1 <= percent <= 1000):
            problems.add(f"{here}.percent", NOT_A_COUNT)
        if limit is not None:
            _amount(problems, limit, f"{here}.limit_minor")
        if percent is None and limit is None:
            problems.add(here, N_("Give a share of the costs, an amount, or both."))
        try:
            basis = LimitBasis(basis) if basis is not None else None
        except ValueError:
            problems.add(f"{here}.basis", N_("Unknown basis."))
        if limit is not None and basis is None:
            problems.add(f"{here}.basis", N_("Say what the amount is counted over."))
        lines.append(GuaranteeLine(guarantee=guarantee, percent=percent, limit_minor=limit,
                                   basis=basis if limit is not None else None))
    return tuple(lines)


def _premiums(problems: _Problems, cover: Cover, data, path: str) -> dict[tuple[int | None, PersonCategory], int]:
    if not isinstance(data, Mapping):
        problems.add(path, REQUIRED)
        return {}
    if not cover.zoned:
        return _by_category(problems, cover, None, data, path)
    premiums = {}
    for zone in ZONES:
        row = data.get(str(zone))
        if not isinstance(row, Mapping):
            problems.add(f"{path}.{zone}", REQUIRED)
            continue
        premiums.update(_by_category(problems, cover, zone, row, f"{path}.{zone}"))
    for key in data:
        if key not in {str(z) for z in ZONES}:
            problems.add(f"{path}.{key}", UNKNOWN_ZONE)
    return premiums


def _by_category(problems: _Problems, cover: Cover, zone, row: Mapping, path: str) -> dict:
    premiums = {}
    for category in cover.categories:
        amount = _amount(problems, row.get(category.value), f"{path}.{category.value}")
        if amount is not None:
            premiums[(zone, category)] = amount
    for key in row:
        if key not in {c.value for c in cover.categories}:
            problems.add(f"{path}.{key}", N_("This cover does not insure this person category."))
    return premiums
