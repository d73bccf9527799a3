"""bench/growth: how the cost grows from 10,000 to 100,000 to 1,000,000 orders.

    .venv/bin/python -m bench.growth

Reads the newest result of ``bench.scale`` for each size (``bench/results/scale-<N>*.json``;
run ``bench.scale --orders N`` first), prints one table (p95 of every read, the writes, the
generation) and writes it to its section of docs/benchmarks.md with a chart of the reads
(docs/benchmarks-growth.svg). Nothing is measured here: it puts the scale runs side by side.
"""

import json
import re
from html import escape
from pathlib import Path

from bench import common

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (10_000, 100_000, 1_000_000)
CHART = common.DOCS.parent / "benchmarks-growth.svg"
# A read's name without the dates it was run with (they change with every run).
DATES = re.compile(r"\d{4}-\d\d-\d\d(T[\d:.]+Z?)?")


def newest(size: int) -> dict | None:
    runs = sorted(RESULTS.glob(f"scale-{size}.json")) + sorted(RESULTS.glob(f"scale-{size}-*.json"))
    if not runs:
        return None
    path = max(runs, key=lambda p: p.stat().st_mtime)
    data = json.loads(path.read_text())
    data["file"] = path.name
    return data


def _name(row: list) -> str:
    # The KPIs were oms.kpis before they moved to reports/: older runs line up with newer ones.
    return DATES.sub("<date>", row[0]).replace("oms.kpis.", "reports.kpis.", 1)


def _number(text) -> float | None:
    try:
        return float(str(text).replace(",", ""))
    except ValueError:
        return None


def table_rows(runs: dict[int, dict]) -> list[list]:
    """One row per read (p95 ms at each size, growth 10k → 1M), then writes and generation."""
    reads: dict[str, dict[int, float]] = {}
    targets: dict[str, str] = {}
    for size, run in runs.items():
        for row in run.get("reads", []):
            name = _name(row)
            reads.setdefault(name, {})[size] = _number(row[2])
            targets[name] = row[3]
    rows = []
    for name, by_size in reads.items():
        first, last = by_size.get(SIZES[0]), by_size.get(SIZES[-1])
        growth = f"× {last / first:.1f}" if first and last else ""
        cells = [f"{by_size[s]:.1f}" if by_size.get(s) is not None else "–" for s in SIZES]
        rows.append([f"{name} (p95 ms)", targets[name], *cells, growth])
    writes: dict[str, dict[int, str]] = {}
    for size, run in runs.items():
        for row in run.get("writes", []):
            writes.setdefault(row[0], {})[size] = row[2]
            targets[row[0]] = row[3]
    for name, by_size in writes.items():
        rows.append([name, targets[name], *(by_size.get(s, "–") for s in SIZES), ""])
    rows.append(
        [
            "generation (s) / database size (MB)",
            "< 600 s",
            *(
                f"{runs[s]['generate_seconds']:.0f} / {runs[s]['size_mb']:,.0f}"
                if s in runs and runs[s].get("generate_seconds")
                else (f"earlier run / {runs[s]['size_mb']:,.0f}" if s in runs else "–")
                for s in SIZES
            ),
            "",
        ]
    )
    return rows


def chart(runs: dict[int, dict]) -> str:
    """SVG: p95 of each list and detail read against the number of orders (10k, 100k, 1M at
    equal steps: a log scale), one line per read."""
    series: dict[str, list[tuple[int, float]]] = {}
    for size in SIZES:
        for row in runs.get(size, {}).get("reads", []):
            value = _number(row[2])
            if value is not None and row[3] in ("< 100", "< 50"):  # the lists and pages
                series.setdefault(_name(row), []).append((size, value))
    width, height, left, right, top, bottom = 900, 420, 60, 400, 20, 40
    peak = max([v for points in series.values() for _, v in points] + [100])
    y_max = 50 * (int(peak // 50) + 1)

    def x(size: int) -> float:
        return left + SIZES.index(size) * (width - left - right) / (len(SIZES) - 1)

    def y(value: float) -> float:
        return top + (1 - value / y_max) * (height - top - bottom)

    palette = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
        "#000000",
        "#aec7e8",
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for tick in range(0, y_max + 1, 50):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{"#c00" if tick == 100 else "#ddd"}"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    for size in SIZES:
        parts.append(
            f'<text x="{x(size):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{size:,} orders</text>"
        )
    parts.append(
        f'<text x="12" y="{top + 10}" transform="rotate(-90 12 {top + 10})" text-anchor="end">'
        "p95 ms (red: 100 ms target of the lists)</text>"
    )
    for i, (name, points) in enumerate(sorted(series.items())):
        colour = palette[i % len(palette)]
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>' for s, v in points
        ]
        ly = top + 14 * i + 10
        parts.append(
            f'<rect x="{width - right + 12}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{width - right + 28}" y="{ly + 1}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    runs = {size: run for size in SIZES if (run := newest(size)) is not None}
    if not runs:
        raise SystemExit("No bench.scale results yet: run `python -m bench.scale --orders 10000`.")
    CHART.write_text(chart(runs))
    sources = ", ".join(f"`{runs[s]['file']}`" for s in SIZES if s in runs)
    body = (
        "## bench/growth: 10,000 → 100,000 → 1,000,000 orders\n\n"
        f"The newest `bench.scale` run of each size side by side ({sources}); each column was "
        "measured on its own day and machine load (see its section). Reads: p95 over the "
        "run's requests.\n\n"
        + common.table(
            table_rows(runs), ["figure", "target", *(f"{s:,}" for s in SIZES), "10k → 1M"]
        )
        + f"\n\n![p95 of the reads against the number of orders]({CHART.name})\n"
    )
    print(body)
    common.docs_write("growth", body)


if __name__ == "__main__":
    main()
