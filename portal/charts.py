"""Charts drawn on the server: the figures a page already has, laid out as SVG shapes for
`templates/_charts.html` (no script, no external asset, nothing the Content-Security-Policy refuses).

A chart is categories (periods, stages, buckets) × series (accrued, paid, …). `columns` draws vertical bars by
category, grouped or stacked; `bars` draws one horizontal bar per category. Every chart keeps its figures: the
macro always puts a table of them behind it, formatted by `fmt` (an integer count by default, or money).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from html import escape

from markupsafe import Markup

#: series colours: distinguishable by people with the common colour-vision deficiencies (Okabe–Ito)
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00")

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 70, 24, 10
ROW, LABEL_WIDTH, BAR_WIDTH = 24, 210, 330


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
    labels: list[tuple[float, str]] = field(default_factory=list)
    values: list[tuple[float, float, str]] = field(default_factory=list)
    height: int = HEIGHT

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
        ink = 'fill="#1f2d3a"'
        out = []
        if self.kind == "bars":
            out += [f'<text x="0" y="{y}" font-size="12" {ink}>{escape(_short(t))}</text>' for y, t in self.labels]
        else:
            for y, t in self.ticks:
                out.append(f'<line x1="66" x2="640" y1="{y}" y2="{y}" stroke="#d0d7de" stroke-width="1"></line>'
                           f'<text x="62" y="{y + 4}" font-size="10" text-anchor="end" {ink}>{escape(t)}</text>')
        out += [f'<rect x="{r.x}" y="{r.y}" width="{r.width}" height="{r.height}" fill="{r.colour}">'
                f'<title>{escape(r.title)}</title></rect>' for r in self.shapes]
        if self.kind == "bars":
            out += [f'<text x="{x}" y="{y}" font-size="12" {ink}>{escape(t)}</text>' for x, y, t in self.values]
        else:
            out += [f'<text x="{x}" y="{self.height - 8}" font-size="10" text-anchor="middle" {ink}>{escape(t)}</text>'
                    for x, t in self.labels]
        return Markup("".join(out))

    @cached_property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The table behind the chart: one row per category, one formatted figure per series."""
        return [(c, [s.text(i, self.fmt) for s in self.series]) for i, c in enumerate(self.categories)]


def _short(text: str, most: int = 32) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def columns(chart: Chart) -> Chart:
    """Vertical bars by category: side by side per series, or stacked (negative figures drawn as zero)."""
    n = max(len(chart.categories), 1)
    totals = [sum(max(s.values[i], 0) for s in chart.series) if chart.stacked
              else max([max(s.values[i], 0) for s in chart.series] + [0]) for i in range(len(chart.categories))]
    top = max(totals + [1])
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / n
    per = 1 if chart.stacked else max(len(chart.series), 1)
    bar = slot * 0.8 / per
    for i, category in enumerate(chart.categories):
        base = HEIGHT - BOTTOM
        for j, s in enumerate(chart.series):
            value = max(s.values[i], 0)
            h = plot_h * value / top
            x = LEFT + slot * i + slot * 0.1 + (0 if chart.stacked else bar * j)
            y = base - h
            chart.shapes.append(Shape(round(x, 1), round(y, 1), round(bar, 1), round(h, 1),
                                      PALETTE[j % len(PALETTE)], f"{category} · {s.label}: {chart.fmt(s.values[i])}"))
            if chart.stacked:
                base = y
        chart.labels.append((round(LEFT + slot * (i + 0.5), 1), category))
    chart.ticks = [(TOP, chart.fmt(top)), (round(TOP + plot_h / 2, 1), chart.fmt(top // 2)),
                   (HEIGHT - BOTTOM, chart.fmt(0))]
    return chart


def bars(chart: Chart) -> Chart:
    """One horizontal bar per category (the first series), its figure at the end of the bar, followed by the
    second series' text when there is one."""
    chart.kind = "bars"
    values = chart.series[0].values if chart.series else []
    top = max(list(values) + [1])
    chart.height = ROW * len(chart.categories) + 8
    for i, category in enumerate(chart.categories):
        y = ROW * i + 4
        w = BAR_WIDTH * max(values[i], 0) / top
        chart.shapes.append(Shape(LABEL_WIDTH, y, round(w, 1), ROW - 8, PALETTE[0],
                                  f"{category}: {chart.fmt(values[i])}"))
        chart.labels.append((y + ROW - 10, category))
        note = f" · {chart.series[1].text(i, chart.fmt)}" if len(chart.series) > 1 else ""
        chart.values.append((round(LABEL_WIDTH + w + 6, 1), y + ROW - 10, chart.fmt(values[i]) + note))
    return chart


def share_bars(id_: str, title: str, desc: str, pairs, heading: str, name, fmt: Callable[[float], str]) -> Chart:
    """Horizontal bars of shares (0..1) per row of `pairs` ((row, share)), `name(row)` naming each bar."""
    return bars(Chart(id_, title, desc, [name(row) for row, _share in pairs],
                      [Series(title, [round(10000 * share) for _row, share in pairs])],
                      fmt=lambda v: fmt(v / 10000) if v else "0%", category_heading=heading))
