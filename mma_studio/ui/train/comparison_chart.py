"""The comparison's grouped bar chart: base / new / HM per method, zero-shot CLIP as dashed lines.

Draws a `core.chart_data.GroupedBars` with pyqtgraph (the CLI writes the same data as SVG):
one bar per figure per method, ± std as error bars, a star over the best bar of each figure.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mma_studio.ui.train.live_plots import BASE_COLOR, HM_COLOR, NEW_COLOR

STAR_COLOR = "#f59e0b"  # amber: readable on the light and the dark background

SERIES_COLORS = {"base": BASE_COLOR, "new": NEW_COLOR, "HM": HM_COLOR}
GROUP_WIDTH = 0.8


class ComparisonChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        palette = self.palette()
        foreground = palette.color(QPalette.ColorRole.Text)
        self.plot = pg.PlotWidget(parent=self, background=palette.color(QPalette.ColorRole.Base))
        self.plot.setObjectName("comparisonChart")
        self.plot.setAccessibleName("Comparison chart")
        self.plot.setMinimumHeight(220)
        item = self.plot.getPlotItem()
        item.setLabel("left", "accuracy (%)", color=foreground.name())
        item.showGrid(x=False, y=True, alpha=0.15)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().setMouseEnabled(x=False, y=False)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen(foreground)
        self.legend = QLabel(self)
        self.legend.setObjectName("comparisonChartLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend.setProperty("role", "hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        self.bars: list[pg.BarGraphItem] = []
        self.reference_lines: list[pg.InfiniteLine] = []
        self.stars: list[pg.TextItem] = []

    def clear(self) -> None:
        self.plot.getPlotItem().clear()
        self.bars, self.reference_lines, self.stars = [], [], []
        self.legend.clear()

    def show_chart(self, chart) -> None:
        """Draw a `GroupedBars` (values are fractions; drawn in percent)."""
        self.clear()
        item = self.plot.getPlotItem()
        count = max(1, len(chart.series))
        width = GROUP_WIDTH / count
        tops = []
        for s, series in enumerate(chart.series):
            color = SERIES_COLORS.get(series.name, "#6b7280")
            xs = [g - GROUP_WIDTH / 2 + width * (s + 0.5) for g in range(len(chart.groups))]
            heights = [100 * v if v is not None else 0.0 for v in series.values]
            bars = pg.BarGraphItem(x=xs, height=heights, width=width * 0.9, brush=color, pen=pg.mkPen(None))
            item.addItem(bars)
            self.bars.append(bars)
            errors = [100 * (e or 0.0) for e in (series.errors or [0.0] * len(xs))]
            if any(errors):
                item.addItem(
                    pg.ErrorBarItem(
                        x=np.array(xs),
                        y=np.array(heights),
                        height=2 * np.array(errors),
                        beam=width * 0.3,
                        pen=pg.mkPen(self.palette().color(QPalette.ColorRole.Text)),
                    )
                )
            tops += [h + e for h, e in zip(heights, errors)]
            winner = chart.winners.get(series.name)
            if winner is not None:
                star = pg.TextItem("★", color=STAR_COLOR, anchor=(0.5, 1.0))
                star.setPos(xs[winner], heights[winner] + errors[winner])
                item.addItem(star)
                self.stars.append(star)
        for name, value in chart.references:
            line = pg.InfiniteLine(
                pos=100 * value,
                angle=0,
                movable=False,
                pen=pg.mkPen(SERIES_COLORS.get(name, "#6b7280"), width=1.5, style=Qt.PenStyle.DashLine),
            )
            line.setToolTip(f"zero-shot CLIP {name}: {100 * value:.1f}%")
            item.addItem(line)
            self.reference_lines.append(line)
        drawn = [100 * v for s in chart.series for v in s.values if v is not None]
        drawn += [100 * v for _, v in chart.references]
        low = max(0.0, 10 * (min(drawn, default=0.0) // 10) - 10)
        item.setYRange(low, min(108.0, max(tops + drawn, default=100.0) + 8), padding=0)
        item.setXRange(-0.6, len(chart.groups) - 0.4, padding=0)
        item.getAxis("bottom").setTicks([[(g, label) for g, label in enumerate(chart.groups)]])
        entries = [
            f'<span style="color:{SERIES_COLORS.get(s.name, "#6b7280")}; font-weight:bold">■</span>&nbsp;{s.name}'
            for s in chart.series
        ]
        entries.append("<b>- -</b>&nbsp;zero-shot&nbsp;CLIP")
        entries.append(f'<span style="color:{STAR_COLOR}">★</span>&nbsp;best')
        self.legend.setText(" &nbsp; ".join(entries))
