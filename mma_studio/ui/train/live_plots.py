"""Live training curves: loss, and base / new / HM accuracy against their zero-shot baselines.

Training events arrive from the worker thread as fast as the engine produces them; drawing
each one would let a fast run flood the GUI thread. Events are only buffered here, and a
timer redraws the curves at most `MAX_REDRAW_HZ` times a second when something changed.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QBoxLayout, QLabel, QVBoxLayout, QWidget

MAX_REDRAW_HZ = 20
REDRAW_INTERVAL_MS = 1000 // MAX_REDRAW_HZ
SIDE_BY_SIDE_MIN_WIDTH = 480  # two charts of 240 px: stacked, the second fell below the fold at 1024x640
MAX_SYMBOL_POINTS = 40  # beyond this many epochs the curves are drawn as plain lines (cheaper, clearer)
TOP_MARGIN_POINTS = 1.5  # headroom above the accuracy axis's top, in percentage points

# One colour per figure, shared by the curve, its zero-shot line and the figure tiles.
LOSS_COLOR = "#7c3aed"
BASE_COLOR = "#2563eb"
NEW_COLOR = "#ea580c"
HM_COLOR = "#059669"
BEST_COLOR = "#6b7280"
STAR_COLOR = "#facc15"

ACCURACY_SERIES = (  # (key, legend label, colour)
    ("val", "Base (val)", BASE_COLOR),
    ("new", "New", NEW_COLOR),
    ("hm", "HM", HM_COLOR),
)


def _percent(value: float | None) -> float:
    """Accuracy fraction -> percent; NaN for a missing figure (pyqtgraph leaves a gap)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return 100.0 * float(value)


def _make_plot(object_name: str, title: str, y_label: str, parent: QWidget) -> pg.PlotWidget:
    palette = parent.palette()
    background = palette.color(QPalette.ColorRole.Base)
    foreground = palette.color(QPalette.ColorRole.Text)
    plot = pg.PlotWidget(parent=parent, background=background)
    plot.setObjectName(object_name)
    plot.setAccessibleName(object_name)
    plot.setAccessibleDescription(title)
    plot.setMinimumSize(240, 190)
    item = plot.getPlotItem()
    item.setTitle(title, color=foreground.name(), size="11pt")
    item.setLabel("bottom", "epoch", color=foreground.name())
    item.setLabel("left", y_label, color=foreground.name())
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    item.hideButtons()
    for axis in ("left", "bottom"):
        item.getAxis(axis).setTextPen(foreground)
        item.getAxis(axis).setPen(pg.mkPen(foreground.lighter(170) if foreground.lightness() < 128 else foreground))
    item.getViewBox().setMouseEnabled(x=False, y=False)
    return plot


def _legend_entry(swatch: str, color: str, label: str) -> str:
    # Non-breaking inside an entry, breakable between entries: the legend wraps as a whole.
    return f'<span style="color:{color}; font-weight:bold">{swatch}</span>&nbsp;{label.replace(" ", "&nbsp;")}'


def _make_legend(object_name: str, entries: list[tuple[str, str, str]], parent: QWidget) -> QLabel:
    """A legend under a chart, as text: it wraps with the width and never covers a curve."""
    legend = QLabel(parent)
    legend.setObjectName(object_name)
    legend.setAccessibleName(object_name)
    legend.setTextFormat(Qt.TextFormat.RichText)
    legend.setWordWrap(True)
    legend.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    legend.setText(" &nbsp;&nbsp; ".join(_legend_entry(*entry) for entry in entries))
    legend.entries = [label for _swatch, _color, label in entries]
    # Room for two lines under each chart, so side-by-side charts keep their axes level.
    legend.setMinimumHeight(2 * legend.fontMetrics().lineSpacing() + 2)
    legend.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
    return legend


def _epoch_tick_step(last_epoch: int) -> int:
    """Whole-epoch tick spacing giving at most ~10 labels: 1, 2, 5, 10, 20, 50, ..."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if last_epoch / step <= 10:
                return step
        magnitude *= 10


class LivePlots(QWidget):
    """The two training charts side by side: `lossPlot` and `accuracyPlot`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("livePlots")
        layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        self._layout = layout

        self.loss_plot = _make_plot("lossPlot", "Training loss", "cross-entropy", self)
        self.accuracy_plot = _make_plot("accuracyPlot", "Accuracy", "accuracy (%)", self)
        self.loss_legend = _make_legend(
            "lossLegend", [("━━", LOSS_COLOR, "Training loss"), ("┆", BEST_COLOR, "Best epoch")], self
        )
        self.accuracy_legend = _make_legend(
            "accuracyLegend",
            [(("━━", color, label)) for _key, label, color in ACCURACY_SERIES]
            + [("╺╺", BEST_COLOR, "Zero‑shot (dashed)"), ("★", STAR_COLOR, "Best epoch")],
            self,
        )
        for plot, legend in ((self.loss_plot, self.loss_legend), (self.accuracy_plot, self.accuracy_legend)):
            chart = QVBoxLayout()
            chart.setSpacing(4)
            chart.addWidget(plot, 1)
            chart.addWidget(legend)
            layout.addLayout(chart, 1)

        loss_item = self.loss_plot.getPlotItem()
        self._loss_curve = loss_item.plot(
            [],
            [],
            name="Training loss",
            pen=pg.mkPen(LOSS_COLOR, width=2.5),
            symbol="o",
            symbolSize=5,
            symbolBrush=LOSS_COLOR,
            symbolPen=None,
        )
        accuracy_item = self.accuracy_plot.getPlotItem()
        self._accuracy_curves: dict[str, pg.PlotDataItem] = {}
        self._zero_shot_lines: dict[str, pg.InfiniteLine] = {}
        for key, label, color in ACCURACY_SERIES:
            self._accuracy_curves[key] = accuracy_item.plot(
                [],
                [],
                name=label,
                pen=pg.mkPen(color, width=2.5),
                symbol="o",
                symbolSize=5,
                symbolBrush=color,
                symbolPen=None,
                connect="finite",
            )
            line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine))
            line.setZValue(-5)
            line.hide()
            accuracy_item.addItem(line, ignoreBounds=False)
            self._zero_shot_lines[key] = line

        self._best_markers = pg.ScatterPlotItem(
            size=14,
            symbol="star",
            pen=pg.mkPen("#111827", width=1),
            brush=pg.mkBrush(STAR_COLOR),
            name="Best epoch",
        )
        accuracy_item.addItem(self._best_markers)
        self._best_lines = []
        for plot in (self.loss_plot, self.accuracy_plot):
            # The accuracy chart marks the best epoch with its star: a "best" label there would
            # sit on the star whenever the best epoch is the last one (the right edge).
            label = (
                {
                    "label": "best",
                    "labelOpts": {"position": 0.95, "color": BEST_COLOR, "movable": False, "anchors": [(1, 0), (1, 0)]},
                }
                if plot is self.loss_plot
                else {}
            )
            line = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen(BEST_COLOR, width=1, style=Qt.PenStyle.DotLine),
                **label,
            )
            line.setZValue(-10)
            line.hide()
            plot.getPlotItem().addItem(line, ignoreBounds=True)
            self._best_lines.append(line)

        # Before a run the axes are empty: say what will appear there rather than show bare axes.
        self.empty_notes = []
        for plot in (self.loss_plot, self.accuracy_plot):
            note = pg.TextItem(
                "Curves appear here when training starts",
                anchor=(0.5, 0.5),
                color=plot.palette().color(QPalette.ColorRole.PlaceholderText),
            )
            note.setZValue(20)
            plot.getPlotItem().addItem(note, ignoreBounds=True)
            self.empty_notes.append(note)

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer)

        self.redraw_count = 0
        self.redraw_times: list[float] = []  # time.perf_counter() of every redraw (for the rate check)
        self.reset()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        # Side by side when there is room for two readable charts, else one above the other.
        wide = event.size().width() >= SIDE_BY_SIDE_MIN_WIDTH
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self._layout.direction() != direction:
            self._layout.setDirection(direction)

    # -- data in -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the previous run's points."""
        self._epochs: list[int] = []
        self._loss: list[float] = []
        self._series: dict[str, list[float]] = {key: [] for key, _, _ in ACCURACY_SERIES}
        self._zero_shot: dict[str, float] = {}
        self._best_epoch: int | None = None
        self._with_symbols = True
        self._x_extent: int | None = None
        self._dirty = True
        self._schedule()

    def add_zero_shot(self, event) -> None:
        """A `ZeroShotEvent`: the dashed baselines."""
        self._zero_shot = {
            key: _percent(value) for key, value in (("val", event.val_acc), ("new", event.new_acc), ("hm", event.hm))
        }
        self._dirty = True
        self._schedule()

    def add_epoch(self, event) -> None:
        """An `EpochEvent`: one more point on every curve."""
        self._epochs.append(int(event.epoch))
        self._loss.append(float(event.train_loss))
        self._series["val"].append(_percent(event.val_acc))
        self._series["new"].append(_percent(event.new_acc))
        self._series["hm"].append(_percent(event.hm))
        self._best_epoch = int(event.best_epoch) if event.best_epoch else None
        self._dirty = True
        self._schedule()

    def set_best_epoch(self, epoch: int | None) -> None:
        """The epoch whose adapter is kept (from `FinishedEvent`)."""
        self._best_epoch = epoch or None
        self._dirty = True
        self._schedule()

    @property
    def point_count(self) -> int:
        """Epochs buffered so far (drawn at the next redraw)."""
        return len(self._epochs)

    def drawn_point_count(self) -> int:
        """Epochs actually on screen in the loss curve."""
        x_data, _ = self._loss_curve.getData()
        return 0 if x_data is None else len(x_data)

    def flush(self) -> None:
        """Draw pending points now, outside the rate limit (screenshots, tests). Runs never
        call it: their last points are drawn by the timer within one interval."""
        if self._dirty:
            self._redraw()

    # -- drawing ---------------------------------------------------------------------------
    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _on_timer(self) -> None:
        if not self._dirty:
            self._timer.stop()  # idle: no wake-ups between runs
            return
        # A timer that fired late fires its next tick early to catch up; skip such a tick so
        # two redraws are never closer than the interval.
        if self.redraw_times and time.perf_counter() - self.redraw_times[-1] < 0.95 * REDRAW_INTERVAL_MS / 1000:
            return
        self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        self.redraw_count += 1
        self.redraw_times.append(time.perf_counter())
        epochs = self._epochs
        with_symbols = len(epochs) <= MAX_SYMBOL_POINTS
        if with_symbols != self._with_symbols:
            self._with_symbols = with_symbols
            self._loss_curve.setSymbol("o" if with_symbols else None)
            for curve in self._accuracy_curves.values():
                curve.setSymbol("o" if with_symbols else None)
        x = np.asarray(epochs, dtype=float)
        self._loss_curve.setData(x, np.asarray(self._loss, dtype=float))
        for key, curve in self._accuracy_curves.items():
            y = np.asarray(self._series[key], dtype=float)
            if not np.isfinite(y).any():  # e.g. no new classes: nothing to draw (and no NaN bounds)
                curve.setData([], [])
            else:
                curve.setData(x, y)
        for key, line in self._zero_shot_lines.items():
            value = self._zero_shot.get(key, math.nan)
            if math.isnan(value):
                line.hide()
            else:
                line.setValue(value)
                line.show()
        best = self._best_epoch
        if best is not None and best in epochs:
            index = epochs.index(best)
            for line in self._best_lines:
                line.setValue(best)
                line.show()
            value = self._series["val"][index]
            self._best_markers.setData([best], [value] if not math.isnan(value) else [self._series["hm"][index]])
        else:
            for line in self._best_lines:
                line.hide()
            self._best_markers.setData([], [])
        self._fit_ranges()
        empty = not epochs and not self._zero_shot
        for note, plot in zip(self.empty_notes, (self.loss_plot, self.accuracy_plot)):
            note.setVisible(empty)
            if empty:
                (x0, x1), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
                note.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _fit_ranges(self) -> None:
        last_epoch = max(self._epochs[-1] if self._epochs else 1, 5)
        if last_epoch != self._x_extent:  # relayout the axes only when the extent changes
            self._x_extent = last_epoch
            step = _epoch_tick_step(last_epoch)
            for plot in (self.loss_plot, self.accuracy_plot):
                plot.getPlotItem().setXRange(0.5, last_epoch + 0.8, padding=0)
                plot.getPlotItem().getAxis("bottom").setTickSpacing(step, step)
        values = [v for series in self._series.values() for v in series if not math.isnan(v)]
        values += [v for v in self._zero_shot.values() if not math.isnan(v)]
        if values:
            low = max(0.0, math.floor((min(values) - 5) / 10) * 10)
            high = min(100.0, math.ceil((max(values) + 5) / 10) * 10)
            # A little room above 100%: a curve at 100% would otherwise lie on the frame.
            self.accuracy_plot.getPlotItem().setYRange(low, max(high, low + 10) + TOP_MARGIN_POINTS, padding=0)
        else:
            self.accuracy_plot.getPlotItem().setYRange(0, 100 + TOP_MARGIN_POINTS, padding=0)
        if self._loss:
            finite = [v for v in self._loss if math.isfinite(v)]
            if finite:
                top = max(finite)
                self.loss_plot.getPlotItem().setYRange(0, top * 1.1 if top > 0 else 1, padding=0)
        else:
            self.loss_plot.getPlotItem().setYRange(0, 1, padding=0)
