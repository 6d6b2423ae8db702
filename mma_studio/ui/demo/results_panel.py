"""The Demo page's results: the top classes twice, side by side (frozen zero-shot CLIP, and CLIP
with the adapter), how many to list, and one sentence that compares the two columns.

A part of its own because it turns a prediction into what the user reads: the bars, whether the
two agree, and, when the image's folder names its class, that the adapter lost an image
zero-shot CLIP got right. The page decides when to classify and what to show meanwhile.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.plain_text import plain_label
from mma_studio.ui.widgets.topk_bars import BarRow, TopKBars

DEFAULT_TOP_K = 5
ZERO_SHOT_COLOR = "#6b7280"
ADAPTER_COLOR = "#2563eb"
NOTHING_YET = "Nothing classified yet."


class ResultsPanel(QWidget):
    """The two top-k columns, the top-k spin box (`top_k_spin.valueChanged` asks for a new
    classification) and the hint line above them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.zero_shot_bars = named(
            TopKBars("Zero-shot CLIP", "frozen CLIP, no adapter", ZERO_SHOT_COLOR), "zeroShotBars"
        )
        self.adapter_bars = named(
            TopKBars("CLIP + adapter", "with the Multi-Modal Adapter", ADAPTER_COLOR), "adapterBars"
        )
        self.top_k_spin = named(QSpinBox(), "topKSpin")
        self.top_k_spin.setRange(1, 10)
        self.top_k_spin.setValue(DEFAULT_TOP_K)
        self.top_k_spin.setPrefix("Top ")
        self.top_k_spin.setToolTip("How many classes each column lists")
        bars = QHBoxLayout()
        bars.setSpacing(24)
        bars.addWidget(self.zero_shot_bars, 1, Qt.AlignmentFlag.AlignTop)
        bars.addWidget(self.adapter_bars, 1, Qt.AlignmentFlag.AlignTop)
        top = QHBoxLayout()
        self.hint = plain_label(named(QLabel(), "demoResultHint"))  # names classes
        self.hint.setProperty("role", "hint")
        self.hint.setWordWrap(True)
        top.addWidget(self.hint, 1)
        top.addWidget(self.top_k_spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addLayout(bars)
        layout.addStretch(1)

    def top_k(self) -> int:
        return self.top_k_spin.value()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)

    def show_message(self, hint: str) -> None:
        """No prediction to show: both columns say so, the hint says what comes next."""
        self.zero_shot_bars.show_message(NOTHING_YET)
        self.adapter_bars.show_message(NOTHING_YET)
        self.hint.setText(hint)

    def show_prediction(self, prediction, roles: dict[str, str], class_count: int, truth: str | None) -> None:
        """`prediction`'s two top-k lists as bars (coloured by each class's role, "added" for names
        the user added), and the sentence comparing them; `truth` is the class the image's folder
        names, if any."""
        self.zero_shot_bars.set_rows(
            [
                BarRow(label, p, roles.get(label, "added"))
                for label, p in zip(prediction.zero_shot_labels, prediction.zero_shot_probabilities)
            ]
        )
        self.adapter_bars.set_rows(
            [
                BarRow(label, p, roles.get(label, "added"))
                for label, p in zip(prediction.labels, prediction.probabilities)
            ]
        )
        top_zero = prediction.zero_shot_labels[0] if prediction.zero_shot_labels else ""
        top_adapted = prediction.labels[0] if prediction.labels else ""
        if top_zero == top_adapted:
            hint = f"Both agree: “{top_adapted}” (out of {class_count} classes)."
        else:
            hint = f"The adapter says “{top_adapted}”, zero-shot CLIP “{top_zero}” (out of {class_count} classes)."
        if truth is not None and top_zero == truth and top_adapted != truth:
            # The image's folder names its class: when the adapter loses it, say so.
            hint = (
                f"Worse than zero-shot CLIP on this image: its folder says “{truth}”; zero-shot CLIP got it "
                f"right, the adapter says “{top_adapted}” (out of {class_count} classes)."
            )
        self.hint.setText(hint)
