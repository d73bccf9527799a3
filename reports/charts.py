"""Bar charts of the dashboard as plain inline SVG geometry (no JavaScript, no CDN);
``templates/reports/_chart.html`` draws them. Values and tick labels are written by a
``reports.formatting`` function (``plain`` unless the caller passes another)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reports.formatting import plain

PALETTE = ["#2456c7", "#e07b00", "#1e7b34", "#8e44ad", "#b3261e", "#00838f", "#6d4c41"]


def nice_max(value: float) -> tuple[float, float]:
    """A round axis maximum ≥ value and its tick step (1, 2 or 5 × 10^k, at most 5 ticks)."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * magnitude
        if step * 5 >= value:
            break
    return step * math.ceil(value / step), step


@dataclass
class Chart:
    title: str
    desc: str
    width: int = 720
    height: int = 260
    bars: list[dict[str, Any]] = field(default_factory=list)
    ticks: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    legend: list[dict[str, Any]] = field(default_factory=list)
    plot: dict[str, Any] = field(default_factory=dict)
    slug: str = ""


def bar_chart(
    *,
    slug: str,
    title: str,
    desc: str,
    categories: list[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    fmt: Callable[[float], str] = plain,
    axis_max: float | None = None,
) -> Chart:
    """Bars (one series) or stacked bars (several) over ``categories``; values ≥ 0.

    Returns the geometry; ``templates/reports/_chart.html`` draws it."""
    chart = Chart(title=title, desc=desc, slug=slug)
    left, right, top, bottom = 56, 12, 12, 48
    plot_w, plot_h = chart.width - left - right, chart.height - top - bottom
    chart.plot = {
        "x": left,
        "y": top,
        "w": plot_w,
        "h": plot_h,
        "bottom": top + plot_h,
        "cx": left + plot_w // 2,
        "cy": top + plot_h // 2,
    }
    n = max(len(categories), 1)
    totals = [sum(values[i] or 0 for _name, values in series) for i in range(len(categories))]
    top_value, step = nice_max(axis_max if axis_max is not None else max(totals, default=0))
    scale = plot_h / top_value
    ticks = int(round(top_value / step))
    for i in range(ticks + 1):
        value = step * i
        y = top + plot_h - value * scale
        chart.ticks.append({"y": round(y, 1), "label": fmt(value)})
    slot = plot_w / n
    bar_w = max(slot * 0.75, 1)
    every = max(1, math.ceil(n / 15))
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        base: float = top + plot_h
        for s, (name, values) in enumerate(series):
            value = values[i] or 0
            if value <= 0:
                continue
            h = value * scale
            base -= h
            tip = (
                f"{category}: {fmt(value)}"
                if len(series) == 1
                else (f"{category} – {name}: {fmt(value)}")
            )
            chart.bars.append(
                {
                    "x": round(x, 1),
                    "y": round(base, 1),
                    "w": round(bar_w, 1),
                    "h": round(h, 1),
                    "color": PALETTE[s % len(PALETTE)],
                    "tip": tip,
                }
            )
        if i % every == 0:
            chart.labels.append(
                {
                    "x": round(left + slot * i + slot / 2, 1),
                    "y": top + plot_h + 16,
                    "text": category,
                }
            )
    if len(series) > 1:
        chart.legend = [
            {"name": name, "color": PALETTE[s % len(PALETTE)]}
            for s, (name, _v) in enumerate(series)
        ]
    return chart
