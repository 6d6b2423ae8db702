"""What a comparison or study chart shows, apart from how it is drawn.

The app draws these with pyqtgraph; the CLI writes them as SVG (`core/svg_chart.py`), so
both show the same bars, the same error bars and the same dashed zero-shot lines.
Values are fractions (0..1); None is a missing bar or point.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Series:
    name: str
    values: list[float | None]
    errors: list[float | None] = field(default_factory=list)  # ± one std; empty = none


@dataclass
class GroupedBars:
    """One group of bars per method (`groups`), one bar per series (base, new, HM)."""

    title: str
    groups: list[str]
    series: list[Series]
    references: list[tuple[str, float]] = field(default_factory=list)  # (series name, value): dashed lines
    winners: dict[str, int] = field(default_factory=dict)  # series name -> index of the best group
    y_label: str = "accuracy (%)"


@dataclass
class Lines:
    """One line per series over a numeric x axis (e.g. the share of base classes)."""

    title: str
    x: list[float]
    series: list[Series]
    x_label: str = ""
    y_label: str = "accuracy (%)"
    dashed: list[str] = field(default_factory=list)  # series drawn dashed (e.g. zero-shot)


Chart = GroupedBars | Lines
