"""Where a run stands: the stage (loading model, extracting, training), a bar, images/s and ETA.

Fed with `Progress` events from the engine; stages without a known total show a busy bar.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget

STAGE_TITLES = {
    "scan": "Checking images",
    "load_model": "Loading model",
    "extract": "Extracting features",
    "train": "Training",
    "evaluate": "Evaluating",
    "predict": "Predicting",
}

STAGE_UNITS = {  # what `Progress.done` counts in each stage, for the rate label
    "scan": "images",
    "extract": "images",
    "train": "samples",
    "evaluate": "images",
    "predict": "images",
}

# Keep the bar range integer-friendly and fine-grained regardless of the stage's total.
BAR_STEPS = 1000


def format_duration(seconds: float | None) -> str:
    """`75` -> `1:15`, `3725` -> `1:02:05`; empty for an unknown duration."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(rate: float | None, unit: str) -> str:
    if rate is None or not math.isfinite(rate) or rate <= 0:
        return ""
    if rate >= 100:
        return f"{rate:,.0f} {unit}/s"
    return f"{rate:.1f} {unit}/s"


class RunProgress(QWidget):
    """Stage title, progress bar and the speed / time-left line of the current run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runProgress")
        self.stage_label = QLabel("", self)
        self.stage_label.setObjectName("stageLabel")
        self.stage_label.setAccessibleName("stageLabel")
        font = self.stage_label.font()
        font.setBold(True)
        self.stage_label.setFont(font)
        self.detail_label = QLabel("", self)
        self.detail_label.setObjectName("progressDetailLabel")
        self.detail_label.setAccessibleName("progressDetailLabel")
        self.detail_label.setTextFormat(Qt.TextFormat.PlainText)
        self.speed_label = QLabel("", self)
        self.speed_label.setObjectName("speedLabel")
        self.speed_label.setAccessibleName("speedLabel")
        self.speed_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar = QProgressBar(self)
        self.bar.setObjectName("runProgressBar")
        self.bar.setAccessibleName("runProgressBar")
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(8)

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(12)
        layout.setVerticalSpacing(6)
        layout.addWidget(self.stage_label, 0, 0)
        layout.addWidget(self.detail_label, 0, 1)
        layout.addWidget(self.speed_label, 0, 2)
        layout.addWidget(self.bar, 1, 0, 1, 3)
        layout.setColumnStretch(1, 1)

        self.stage: str | None = None
        self._paused = False
        self.idle = True  # nothing run yet: the page says whether it is ready (`show_idle`)

    def reset(self, title: str = "") -> None:
        self.stage = None
        self._paused = False
        self.idle = not title
        self.stage_label.setText(title)
        self.detail_label.setText("")
        self.speed_label.setText("")
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(0)

    def show_idle(self, title: str) -> None:
        """Before any run: what the page can do now ("Ready to train", or why not)."""
        if self.idle:
            self.stage_label.setText(title)

    def show_epoch(self, event) -> None:
        """The training stage from an `EpochEvent`: the same event the figure tiles show, so the
        header and the tiles never name different epochs (progress events are rate-limited)."""
        self.stage = "train"
        self.idle = False
        title = STAGE_TITLES["train"]
        self.stage_label.setText(f"{title} (paused)" if self._paused else title)
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setValue(round(min(1.0, event.epoch / event.epochs) * BAR_STEPS) if event.epochs else 0)
        self.detail_label.setText(f"epoch {event.epoch:,} of {event.epochs:,}")
        self._show_speed(event.samples_per_s, "samples", event.eta_s, event.epoch < event.epochs)

    def _show_speed(self, rate, unit: str, eta_s, unfinished: bool) -> None:
        """Speed and time left; nothing while paused (nothing is moving, no time is passing)."""
        if self._paused:
            self.speed_label.setText("")
            return
        parts = [format_rate(rate, unit)]
        eta = format_duration(eta_s) if (eta_s or 0) >= 1 else ""
        if eta and unfinished:
            parts.append(f"{eta} left")
        self.speed_label.setText("  ·  ".join(part for part in parts if part))

    def show_progress(self, progress) -> None:
        """Show one `Progress` event."""
        self.stage = progress.stage
        self.idle = False
        title = STAGE_TITLES.get(progress.stage, progress.stage.replace("_", " ").capitalize())
        self.stage_label.setText(f"{title} (paused)" if self._paused else title)
        fraction = progress.fraction
        if fraction is None:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, BAR_STEPS)
            self.bar.setValue(round(fraction * BAR_STEPS))
        counts = ""
        if progress.total:
            counts = f"{progress.done:,} of {progress.total:,}"
        if progress.stage == "train":  # the engine's message repeats the epoch number
            detail = f"epoch {counts}" if counts else ""
        elif progress.message and counts:
            detail = f"{progress.message} · {counts}"
        else:
            detail = progress.message or counts
        self.detail_label.setText(detail)
        self._show_speed(
            progress.rate,
            STAGE_UNITS.get(progress.stage, "items"),
            progress.eta_s,
            fraction is not None and fraction < 1.0,
        )

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        title = self.stage_label.text().removesuffix(" (paused)")
        self.stage_label.setText(f"{title} (paused)" if paused else title)
        if paused:
            self.speed_label.setText("")  # the next event after resuming brings a fresh speed

    def finish(self, title: str, *, complete: bool = True, detail: str = "", fraction: float | None = None) -> None:
        """The run ended: a full bar, or one at `fraction` for a stopped run, and a closing message."""
        self._paused = False
        self.stage = "finished"
        self.idle = False
        self.stage_label.setText(title)
        self.detail_label.setText(detail)
        self.speed_label.setText("")
        self.bar.setRange(0, BAR_STEPS)
        if complete:
            self.bar.setValue(BAR_STEPS)
        elif fraction is not None:
            self.bar.setValue(round(max(0.0, min(1.0, fraction)) * BAR_STEPS))
