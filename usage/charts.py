"""Stacked bar charts as plain geometry, drawn as inline SVG by the template.

No JavaScript: the server computes every rectangle, and the page shows the same
numbers in a table beside each chart.
"""

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

from usage.queries import Bucket

WIDTH = 760
HEIGHT = 240
LEFT = 64  # room for the value axis labels
BOTTOM = 28  # room for the time axis labels
TOP = 8
# Colour per model, in the order models are listed; distinct for colour-blind eyes.
PALETTE = ("#2f5bea", "#e08a00", "#1b9e77", "#c2185b", "#6a3d9a", "#7f7f7f")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: list[Bar]
    value_ticks: list[Tick]
    time_ticks: list[Tick]


def model_colors(models: list[str]) -> dict[str, str]:
    return {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(models)}


def stacked_chart(
    buckets: list[Bucket], models: list[str], measure: str, format_value
) -> Chart:
    """Stack `measure` ("requests" or "cost_micros") per model in each bucket."""
    colors = model_colors(models)
    totals = [sum(getattr(b, measure).values()) for b in buckets]
    top = _nice_ceiling(max(totals, default=0))
    plot_width = WIDTH - LEFT
    plot_height = HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(buckets), 1)
    gap = min(slot * 0.2, 4)

    bars = []
    for index, bucket in enumerate(buckets):
        base = HEIGHT - BOTTOM
        values = getattr(bucket, measure)
        for model in models:
            value = values.get(model, 0)
            if not value:
                continue
            height = value / top * plot_height
            base -= height
            bars.append(
                Bar(
                    x=round(LEFT + index * slot + gap / 2, 2),
                    y=round(base, 2),
                    width=round(slot - gap, 2),
                    height=round(height, 2),
                    color=colors[model],
                    title=f"{bucket.label} · {model}: {format_value(value)}",
                )
            )
    value_ticks = [
        Tick(
            round(HEIGHT - BOTTOM - plot_height * i / 4, 2), format_value(top * i // 4)
        )
        for i in range(5)
    ]
    every = max(1, len(buckets) // 8)
    time_ticks = [
        Tick(round(LEFT + (i + 0.5) * slot, 2), bucket.label)
        for i, bucket in enumerate(buckets)
        if i % every == 0
    ]
    return Chart(WIDTH, HEIGHT, LEFT, HEIGHT - BOTTOM, bars, value_ticks, time_ticks)


def _nice_ceiling(value: int) -> int:
    """A round axis top at or above `value`, in four whole steps of 1, 2 or 5 x 10^n."""
    quarter = max(1, -(-value // 4))
    magnitude = 1
    while magnitude * 10 <= quarter:
        magnitude *= 10
    step = next(s * magnitude for s in (1, 2, 5, 10) if s * magnitude >= quarter)
    return 4 * step


# The chart and its table are rendered here rather than in template loops: a
# 90-day range is thousands of cells, and this keeps the page within its budget.
def chart_svg(chart: Chart, chart_id: str, title: str) -> SafeString:
    parts = [
        f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height}" role="img" '
        f'aria-labelledby="{chart_id}-title" id="{chart_id}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
    ]
    for tick in chart.value_ticks:
        parts.append(
            f'<line x1="{chart.plot_left}" x2="{chart.width}" y1="{tick.position}" '
            f'y2="{tick.position}" stroke="#dde1e6" stroke-width="1"/>'
            f'<text x="{chart.plot_left - 6}" y="{tick.position}" dy="4" '
            f'text-anchor="end" font-size="11" fill="#5b6570">'
            f"{escape(tick.label)}</text>"
        )
    for bar in chart.bars:
        parts.append(
            f'<rect x="{bar.x}" y="{bar.y}" width="{bar.width}" '
            f'height="{bar.height}" fill="{bar.color}">'
            f"<title>{escape(bar.title)}</title></rect>"
        )
    for tick in chart.time_ticks:
        parts.append(
            f'<text x="{tick.position}" y="{chart.plot_bottom + 18}" '
            f'text-anchor="middle" font-size="11" fill="#5b6570">'
            f"{escape(tick.label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)


def series_table(
    buckets: list[Bucket], models: list[str], measure: str, unit: str, format_value
) -> SafeString:
    """The numbers behind a chart: one row per bucket, one column per model."""
    head = "".join(f'<th scope="col" class="num">{escape(m)}</th>' for m in models)
    rows = []
    for bucket in buckets:
        values = getattr(bucket, measure)
        cells = "".join(
            f'<td class="num">{format_value(values.get(m, 0))}</td>' for m in models
        )
        rows.append(
            f'<tr><th scope="row">{escape(bucket.label)}</th>{cells}'
            f'<td class="num">{format_value(sum(values.values()))}</td></tr>'
        )
    return mark_safe(  # noqa: S308  (labels and model names are escaped)
        f'<thead><tr><th scope="col">{escape(unit.capitalize())}</th>{head}'
        f'<th scope="col" class="num">Total</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>"
    )
