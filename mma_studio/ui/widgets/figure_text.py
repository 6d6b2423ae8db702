"""How an accuracy figure reads on the Train page's tiles and result card and the Evaluate
page's tiles: one wording, so the same run reads the same on every page. Qt-free and light:
the Evaluate page uses it without pulling in the Train page's plots (pyqtgraph)."""

from __future__ import annotations

import math

DASH = "—"  # a figure that does not exist (no new classes, a run without one)


def is_number(value) -> bool:
    """A figure to show: not missing and not NaN."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def percent(value: float | None) -> str:
    """An accuracy as a percentage with one decimal: `83.4%`, or a dash."""
    return f"{100 * value:.1f}%" if is_number(value) else DASH


def points(delta: float | None) -> str:
    """An accuracy change in percentage points, signed: `+4.2 pts` (empty when missing)."""
    return f"{100 * delta:+.1f} pts" if is_number(delta) else ""
