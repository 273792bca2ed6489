"""The programme's view of the KPIs: the same tables with every group smaller than 5 volunteers withheld, so that no
figure the programme reads (nor any sum or difference of them) gives away a group of 1 to 4 volunteers.

The rule (README "Programme view"):
1. **Small cells**: a count of 1 to 4 is shown as "< 5" (0 is shown: it is nobody).
2. **Stages**: in a funnel row, a stage whose count differs from the previous shown stage by 1 to 4 is withheld
   too (the difference is a group: those who stopped there); a share (conversion, rate) whose numerator or
   denominator is withheld is withheld; a duration's quartiles are withheld when fewer than 5 measured it.
   A count whose complement in its whole (sent but not opened, failed but not recovered) is 1 to 4 is withheld.
3. **Totals**: where rows add up to a total row (a breakdown of one month's funnel by zone, step, language), the
   cells withheld in each column must together be at least 2 cells summing to at least 5 (and to more than the
   number of small cells among them), so the total minus the shown cells cannot be split back: the smallest
   shown cells are withheld ("·") until that holds, the total itself when nothing is left. Countries are
   checked the same way within their zone, against the zone's cell; a country of a withheld zone is withheld.
4. **No sums across views**: the programme reads one month at a time (its breakdowns), and the months of the
   year without a total over them, so two views never differ by a withheld cell.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

from .kpis import UNKNOWN, Kpis, Table

#: the smallest group shown
MIN_GROUP = 5


@dataclass(frozen=True)
class Withheld:
    #: "small" (a group of 1 to 4: shown "< 5") or "complement" (withheld so that a small one cannot be worked out)
    reason: str

    def __str__(self) -> str:
        return "< 5" if self.reason == "small" else "·"


SMALL, COMPLEMENT = Withheld("small"), Withheld("complement")


def is_withheld(value) -> bool:
    return isinstance(value, Withheld)


def _small(n) -> bool:
    return isinstance(n, int) and 0 < n < MIN_GROUP


class _Grid:
    """The table's raw figures and what is withheld; row -1 is the total row."""

    def __init__(self, table: Table):
        self.table = table
        self.raw = {i: list(values) for i, (_k, values) in enumerate(table.rows)}
        if table.total is not None:
            self.raw[-1] = list(table.total)
        self.hidden: dict[tuple[int, int], Withheld] = {}

    def hide(self, r: int, c: int, why: Withheld) -> bool:
        if (r, c) in self.hidden:
            return False
        self.hidden[(r, c)] = why
        return True

    def shown(self, r: int, c: int) -> bool:
        return (r, c) not in self.hidden


def _primary(g: _Grid) -> None:
    for r, values in g.raw.items():
        for c in g.table.counts:
            if _small(values[c]):
                g.hide(r, c, SMALL)


def _chains(g: _Grid) -> bool:
    changed = False
    for r, values in g.raw.items():
        before = None
        for c in g.table.chain:
            if not g.shown(r, c):
                continue
            if before is not None and _small(before - values[c]):
                changed |= g.hide(r, c, COMPLEMENT)
                continue
            before = values[c]
        for num, den in g.table.rates.values():
            if g.shown(r, num) and g.shown(r, den) and isinstance(values[num], int) and _small(values[den] - values[num]):
                changed |= g.hide(r, num, COMPLEMENT)
    return changed


def _block(g: _Grid, c: int, rows: list[int], total: int | None, total_hidden: bool) -> bool:
    """Column `c` over `rows`, adding up to `total`: withhold more until the withheld cells cannot be split back."""
    if total_hidden:
        return any([g.hide(r, c, COMPLEMENT) for r in rows])
    changed = False
    while True:
        hidden = [r for r in rows if not g.shown(r, c)]
        if not hidden:
            return changed
        s = sum(g.raw[r][c] for r in hidden)
        smalls = sum(1 for r in hidden if g.hidden[(r, c)] is SMALL)
        if len(hidden) >= 2 and s >= MIN_GROUP and s > smalls:
            return changed
        visible = sorted((r for r in rows if g.shown(r, c)), key=lambda r: (g.raw[r][c], r))
        if not visible:
            return (g.hide(-1, c, COMPLEMENT) if total is not None and -1 in g.raw else False) or changed
        changed |= g.hide(visible[0], c, COMPLEMENT)


def _totals(g: _Grid, parent: _Grid | None) -> bool:
    t = g.table
    if not t.parts:
        return False
    changed = False
    rows = [i for i in g.raw if i != -1]
    for c in t.counts:
        if t.groups and parent is not None:
            zones = {k: i for i, (k, _v) in enumerate(parent.table.rows)}
            for zone_key, zi in zones.items():
                block = [i for i in rows if str(t.groups.get(t.rows[i][0]) or UNKNOWN) == zone_key]
                if block:
                    changed |= _block(g, c, block, parent.raw[zi][c], not parent.shown(zi, c))
        elif -1 in g.raw:
            changed |= _block(g, c, rows, g.raw[-1][c], not g.shown(-1, c))
    return changed


def _derived(g: _Grid) -> None:
    t = g.table
    for r, values in g.raw.items():
        for rate, (num, den) in t.rates.items():
            if not (g.shown(r, num) and g.shown(r, den)):
                g.hide(r, rate, COMPLEMENT)
        if t.durations and (not g.shown(r, 0) or (isinstance(values[0], int) and values[0] < MIN_GROUP)):
            for c in t.durations:
                g.hide(r, c, SMALL if _small(values[0]) else COMPLEMENT)


def _apply(g: _Grid) -> Table:
    out = copy.copy(g.table)
    rows = []
    for i, (k, values) in enumerate(g.table.rows):
        rows.append((k, [g.hidden.get((i, c), v) for c, v in enumerate(values)]))
    out.rows = rows
    if g.table.total is not None:
        out.total = [g.hidden.get((-1, c), v) for c, v in enumerate(g.table.total)]
    return out


def suppress(table: Table, parent: Table | None = None) -> Table:
    """The table as the programme may read it. `parent`: for a country table, the zone table (raw) it nests in."""
    g = _Grid(table)
    p = None
    if parent is not None:
        p = _Grid(parent)
        _primary(p)
        while _chains(p) | _totals(p, None):
            pass
    _primary(g)
    while _chains(g) | _totals(g, p):
        pass
    _derived(g)
    if table.key == "cross_selling" and not g.shown(0, 1):
        g.hide(0, 0, COMPLEMENT)  # holding any cover − holding both would be read back from the rate table
        _derived(g)
    return _apply(g)


def without_total(table: Table) -> Table:
    out = copy.copy(table)
    out.total, out.parts = None, False
    return out


def publish(year: Kpis, month: Kpis) -> Kpis:
    """What the programme reads for a month: the year to that month by month (no total over the months), and that
    month's breakdowns, each table suppressed as the module says."""
    tables = {}
    for key in ("funnel_by_month", "subscriptions_by_month", "subscription_rate"):
        tables[key] = suppress(without_total(year[key]))
    for key in ("funnel_by_zone", "funnel_by_step", "funnel_by_language", "cross_selling", "time_to_subscribe",
                "time_to_certificate", "payment_failures", "complaints", "campaign_rates"):
        tables[key] = suppress(month[key])
    tables["funnel_by_country"] = suppress(month["funnel_by_country"], parent=month["funnel_by_zone"])
    tables["drop_off"] = _drop_off(tables["funnel_by_zone"], month["drop_off"])
    ordered = {k: tables[k] for k in month.tables if k in tables}
    return Kpis(month.filters, ordered)


def _drop_off(published_zone: Table, raw: Table) -> Table:
    """From the month's funnel total as published: a stage pair is shown only when both of its stages are."""
    total = published_zone.total or []
    out = copy.copy(raw)
    rows = []
    for i, (k, values) in enumerate(raw.rows):
        before, after = total[i], total[i + 1]
        if is_withheld(before) or is_withheld(after):
            rows.append((k, [before, after, COMPLEMENT, COMPLEMENT]))
        else:
            rows.append((k, values))
    out.rows = rows
    return out
