"""Charts drawn on the server: the figures a page already has, laid out as SVG shapes for
`templates/_charts.html` (no script, no external asset, nothing the Content-Security-Policy refuses).

A chart is categories (periods, stages, buckets) × series (accrued, paid, …). `columns` draws vertical bars by
category, grouped or stacked; `bars` draws one horizontal bar per category. Every chart keeps its figures: the
macro always puts a table of them behind it, formatted by `fmt` (an integer count by default, or money).

Each chart is drawn twice: `WIDE` for a box of 34rem or more, and `NARROW` (`chart.narrow`) for a phone or a
narrow column, where the wide drawing would scale its text down to 6–7 px. The narrow one is drawn for its width
(360 units for ~340 px) with larger type, every third month named when there are twelve, and bar labels on their
own line above each bar; the page's style shows the one that fits its box (a container query: no script).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import escape

from markupsafe import Markup

#: series colours: distinguishable by people with the common colour-vision deficiencies (Okabe–Ito)
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")



@dataclass(frozen=True)
class Geometry:
    """Where a drawing puts things, in SVG units."""
    width: int
    height: int
    #: columns: the plot's left edge (tick labels before it; further right for longer ones), the room under it
    #: for category names, above it, and after it (for the last category's name)
    left: int
    bottom: int
    top: int
    right: int
    #: bars: one row per category; its label beside the bar (label_width > 0) or on a line of its own above it
    row: int
    label_width: int
    bar_width: int
    #: font sizes: tick and category labels of columns, labels and figures of bars
    small: int
    text: int
    #: columns: name only about four categories when there are more than `crowded`
    crowded: int
    label_chars: int


WIDE = Geometry(width=640, height=220, left=70, bottom=24, top=10, right=0, row=24, label_width=210, bar_width=330,
                small=10, text=12, crowded=99, label_chars=32)
NARROW = Geometry(width=360, height=230, left=44, bottom=28, top=12, right=20, row=42, label_width=0, bar_width=230,
                  small=13, text=14, crowded=6, label_chars=40)
WIDTH, HEIGHT = WIDE.width, WIDE.height


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]
    #: figures shown as given instead of formatted values (a series of notes, such as conversion rates: a
    #: horizontal bar chart draws its first series and writes these beside each bar)
    texts: Sequence[str] | None = None

    def text(self, i: int, fmt: Callable[[int], str]) -> str:
        return self.texts[i] if self.texts is not None else fmt(self.values[i])


@dataclass(frozen=True)
class Shape:
    x: float
    y: float
    width: float
    height: float
    colour: str
    #: what a pointer over the shape shows: "category · series: value"
    title: str


@dataclass
class Chart:
    id: str
    title: str
    #: one sentence saying what the chart shows (its accessible description)
    desc: str
    categories: Sequence[str]
    series: Sequence[Series]
    kind: str = "columns"
    stacked: bool = False
    fmt: Callable[[int], str] = str
    #: a CSV of the same figures, when the page has one
    csv_url: str | None = None
    #: the heading of the table's first column ("Month", "Stage", …)
    category_heading: str = ""
    shapes: list[Shape] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    #: columns: (x, name) under the plot; bars: (y, name) of each row's label
    labels: list[tuple[float, str]] = field(default_factory=list)
    values: list[tuple[float, float, str]] = field(default_factory=list)
    height: int = HEIGHT
    geometry: Geometry = WIDE
    #: columns: the plot's left edge in this drawing
    left: int = WIDE.left
    #: the same chart drawn for a narrow box (`NARROW`), with its own shapes
    narrow: Chart | None = None

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    @property
    def legend(self) -> list[tuple[str, str]]:
        drawn = self.series if self.kind == "columns" else self.series[:1]
        return [(s.label, PALETTE[i % len(PALETTE)]) for i, s in enumerate(drawn)]

    @cached_property
    def shapes_markup(self) -> Markup:
        """The SVG's shapes and texts, written here rather than in a template loop (home pages are hot: this
        is several times cheaper than Jinja for the hundred or so elements of a chart)."""
        g, ink = self.geometry, 'fill="#1f2d3a"'
        out = []
        if self.kind == "bars":
            out += [f'<text x="0" y="{y}" font-size="{g.text}" {ink}>{escape(_short(t, g.label_chars))}</text>'
                    for y, t in self.labels]
        else:
            for y, t in self.ticks:
                out.append(f'<line x1="{self.left - 4}" x2="{g.width}" y1="{y}" y2="{y}" stroke="#d0d7de" '
                           f'stroke-width="1"></line><text x="{self.left - 8}" y="{y + 4}" font-size="{g.small}" '
                           f'text-anchor="end" {ink}>{escape(t)}</text>')
        # a pointer's tooltip on each shape; a phone has no pointer, and the table behind the chart has the figures
        tip = g is WIDE
        out += [f'<rect x="{r.x}" y="{r.y}" width="{r.width}" height="{r.height}" fill="{r.colour}">'
                + (f'<title>{escape(r.title)}</title></rect>' if tip else '</rect>') for r in self.shapes]
        if self.kind == "bars":
            out += [f'<text x="{x}" y="{y}" font-size="{g.text}" {ink}>{escape(t)}</text>' for x, y, t in self.values]
        else:
            out += [f'<text x="{x}" y="{self.height - 8}" font-size="{g.small}" text-anchor="middle" {ink}>'
                    f'{escape(t)}</text>' for x, t in self.labels]
        return Markup("".join(out))

    @cached_property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The table behind the chart: one row per category, one formatted figure per series."""
        return [(c, [s.text(i, self.fmt) for s in self.series]) for i, c in enumerate(self.categories)]


def _short(text: str, most: int = 32) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def columns(chart: Chart) -> Chart:
    """Vertical bars by category: side by side per series, or stacked (negative figures drawn as zero)."""
    _columns(chart, WIDE)
    chart.narrow = _columns(_copy(chart), NARROW)
    return chart


def _copy(chart: Chart) -> Chart:
    return Chart(chart.id, chart.title, chart.desc, chart.categories, chart.series, chart.kind, chart.stacked,
                 chart.fmt, chart.csv_url, chart.category_heading)


def _columns(chart: Chart, g: Geometry) -> Chart:
    chart.geometry, chart.height = g, g.height
    n = max(len(chart.categories), 1)
    totals = [sum(max(s.values[i], 0) for s in chart.series) if chart.stacked
              else max([max(s.values[i], 0) for s in chart.series] + [0]) for i in range(len(chart.categories))]
    top = max(totals + [1])
    plot_h = g.height - g.top - g.bottom
    ticks = (chart.fmt(top), chart.fmt(top // 2), chart.fmt(0))
    left = g.left if g is WIDE else max(g.left, round(max(map(len, ticks)) * g.small * 0.6) + 10)
    slot = (g.width - left - g.right) / n
    per = 1 if chart.stacked else max(len(chart.series), 1)
    bar = slot * 0.8 / per
    # a crowded axis names four categories or so, counting back from the last (the current month)
    every = -(-n // 4) if n > g.crowded else 1
    for i, category in enumerate(chart.categories):
        base = g.height - g.bottom
        for j, s in enumerate(chart.series):
            value = max(s.values[i], 0)
            h = plot_h * value / top
            x = left + slot * i + slot * 0.1 + (0 if chart.stacked else bar * j)
            y = base - h
            chart.shapes.append(Shape(round(x, 1), round(y, 1), round(bar, 1), round(h, 1),
                                      PALETTE[j % len(PALETTE)], f"{category} · {s.label}: {chart.fmt(s.values[i])}"))
            if chart.stacked:
                base = y
        if (n - 1 - i) % every == 0:
            chart.labels.append((round(left + slot * (i + 0.5), 1), category))
    chart.left = left
    chart.ticks = [(g.top, ticks[0]), (round(g.top + plot_h / 2, 1), ticks[1]), (g.height - g.bottom, ticks[2])]
    return chart


def bars(chart: Chart) -> Chart:
    """One horizontal bar per category (the first series), its figure at the end of the bar, followed by the
    second series' text when there is one."""
    chart.kind = "bars"
    _bars(chart, WIDE)
    chart.narrow = _bars(_copy(chart), NARROW)
    return chart


def _bars(chart: Chart, g: Geometry) -> Chart:
    chart.geometry = g
    values = chart.series[0].values if chart.series else []
    top = max(list(values) + [1])
    chart.height = g.row * len(chart.categories) + 8
    # beside the bar (wide), or on its own line above it (narrow: the bar then starts at the left edge)
    label_y, bar_y = (g.row - 6, 4) if g.label_width else (g.text, g.text + 5)
    bar_h = g.row - 8 if g.label_width else g.row - g.text - 11
    for i, category in enumerate(chart.categories):
        y = g.row * i
        w = g.bar_width * max(values[i], 0) / top
        chart.shapes.append(Shape(g.label_width, y + bar_y, round(w, 1), bar_h, PALETTE[0],
                                  f"{category}: {chart.fmt(values[i])}"))
        chart.labels.append((y + label_y, category))
        note = f" · {chart.series[1].text(i, chart.fmt)}" if len(chart.series) > 1 else ""
        value_y = y + g.row - 6 if g.label_width else y + bar_y + bar_h - 3
        chart.values.append((round(g.label_width + w + 6, 1), value_y, chart.fmt(values[i]) + note))
    return chart


def share_bars(id_: str, title: str, desc: str, pairs, heading: str, name, fmt: Callable[[float], str]) -> Chart:
    """Horizontal bars of shares (0..1) per row of `pairs` ((row, share)), `name(row)` naming each bar."""
    return bars(Chart(id_, title, desc, [name(row) for row, _share in pairs],
                      [Series(title, [round(10000 * share) for _row, share in pairs])],
                      fmt=lambda v: fmt(v / 10000) if v else "0%", category_heading=heading))
