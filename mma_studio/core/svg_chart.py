"""Charts as SVG text: the CLI's plots without a plotting library.

matplotlib is not a dependency of MMA Studio (it would add tens of MB to the installers for
a few plots) and the CLI must not need Qt, so a chart is written as a small, hand-made SVG
that any browser or the README can show. The app draws the same `chart_data` with pyqtgraph.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from mma_studio.core.atomic_write import write_text_atomically
from mma_studio.core.chart_data import Chart, GroupedBars, Lines

PALETTE = ("#3b78c3", "#e08a2e", "#3a9e5f", "#9b59b6", "#c0392b", "#7f8c8d", "#16a085", "#d35400")
WIDTH, HEIGHT = 760, 420
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 48, 96


def _y(value: float, low: float, high: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))


def _axes(title: str, y_label: str, low: float, high: float) -> list[str]:
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            'font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>',
        (
            f'<text transform="translate(16 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">'
            f"{escape(y_label)}</text>"
        ),
    ]
    for step in range(6):
        value = low + (high - low) * step / 5
        y = _y(value, low, high)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{100 * value:.0f}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#555"/>')
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="#555"/>'
    )
    return parts


def _legend(names: list[str], dashed: frozenset[str] = frozenset()) -> list[str]:
    parts, x = [], LEFT
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="5 3"' if name in dashed else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{HEIGHT - 14}" y2="{HEIGHT - 14}" stroke="{colour}" '
            f'stroke-width="6"{dash}/>'
        )
        parts.append(f'<text x="{x + 24}" y="{HEIGHT - 10}">{escape(name)}</text>')
        x += 34 + 7 * len(name)
    return parts


def _range(values: list[float | None]) -> tuple[float, float]:
    kept = [v for v in values if v is not None]
    if not kept:
        return 0.0, 1.0
    low = max(0.0, (min(kept) // 0.1) * 0.1 - 0.1)
    return low, 1.0 if max(kept) > 0.9 else min(1.0, (max(kept) // 0.1) * 0.1 + 0.1)


def bars_svg(chart: GroupedBars) -> str:
    values: list[float | None] = [v for s in chart.series for v in s.values]
    values += [v for _, v in chart.references]
    low, high = _range(values)
    parts = _axes(chart.title, chart.y_label, low, high)
    plot_width = WIDTH - LEFT - RIGHT
    group_width = plot_width / max(1, len(chart.groups))
    bar_width = group_width * 0.8 / max(1, len(chart.series))
    for g, group in enumerate(chart.groups):
        x0 = LEFT + g * group_width + group_width * 0.1
        for s, series in enumerate(chart.series):
            value = series.values[g]
            if value is None:
                continue
            x, y = x0 + s * bar_width, _y(value, low, high)
            colour = PALETTE[s % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width - 2:.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{colour}"><title>{escape(series.name)} '
                f"{escape(group)}: {100 * value:.1f}%</title></rect>"
            )
            error = series.errors[g] if g < len(series.errors) else None
            if error:
                cx = x + (bar_width - 2) / 2
                top, bottom = _y(min(high, value + error), low, high), _y(max(low, value - error), low, high)
                parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top:.1f}" y2="{bottom:.1f}" stroke="#222"/>')
            if chart.winners.get(series.name) == g:
                star_y = (_y(min(high, value + error), low, high) if error else y) - 4
                parts.append(
                    f'<text x="{x + (bar_width - 2) / 2:.1f}" y="{star_y:.1f}" text-anchor="middle" '
                    'font-weight="bold">★</text>'
                )
        label_y = HEIGHT - BOTTOM + 16
        parts.append(
            f'<text x="{x0 + group_width * 0.4:.1f}" y="{label_y}" text-anchor="middle">{escape(group)}</text>'
        )
    names = [s.name for s in chart.series]
    for name, value in chart.references:
        colour = PALETTE[names.index(name) % len(PALETTE)] if name in names else "#555"
        y = _y(value, low, high)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-dasharray="6 4" stroke-width="1.5"><title>zero-shot {escape(name)}: '
            f"{100 * value:.1f}%</title></line>"
        )
    parts += _legend(names)
    if chart.references:
        parts.append(
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 34}" text-anchor="end" fill="#555">'
            "dashed: zero-shot CLIP · ★ best · bars: mean, lines: ± std</text>"
        )
    return "\n".join(parts + ["</svg>"]) + "\n"


def lines_svg(chart: Lines) -> str:
    low, high = _range([v for s in chart.series for v in s.values])
    parts = _axes(chart.title, chart.y_label, low, high)
    x_low, x_high = min(chart.x, default=0.0), max(chart.x, default=1.0)
    span = (x_high - x_low) or 1.0

    def x_of(value: float) -> float:
        return LEFT + 20 + (WIDTH - LEFT - RIGHT - 40) * (value - x_low) / span

    for value in chart.x:
        parts.append(
            f'<text x="{x_of(value):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{100 * value:.0f}%</text>'
        )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - BOTTOM + 36}" text-anchor="middle">'
        f"{escape(chart.x_label)}</text>"
    )
    for s, series in enumerate(chart.series):
        colour = PALETTE[s % len(PALETTE)]
        points = [(x_of(x), _y(v, low, high)) for x, v in zip(chart.x, series.values) if v is not None]
        dash = ' stroke-dasharray="6 4"' if series.name in chart.dashed else ""
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    parts += _legend([s.name for s in chart.series], frozenset(chart.dashed))
    return "\n".join(parts + ["</svg>"]) + "\n"


def chart_svg(chart: Chart) -> str:
    return bars_svg(chart) if isinstance(chart, GroupedBars) else lines_svg(chart)


def write_chart_svg(chart: Chart, path: Path | str) -> Path:
    return write_text_atomically(Path(path), chart_svg(chart))
