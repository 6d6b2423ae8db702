"""Training settings: a preset (Fast / Balanced / Best) and every advanced knob behind it.

The numbers come from the engine (`RunSettings` defaults and `PRESETS` in
`mma_studio.core.pipeline`), never from this file. The engine imports torch, so the panel
fills itself on first use (`ensure_loaded()`, called when the page is first shown or a run
starts) rather than at construction: the window appears before torch is imported.

`values()` returns a plain dict shaped like `RunSettings` (without the data and backbone
fields, which belong to other pages): the training worker turns it into `RunSettings`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.widgets.naming import named

PRESET_NAMES = ("Fast", "Balanced", "Best")
CUSTOM = "Custom"

ADAPT_LABELS = {"both": "Text and image", "text": "Text only", "image": "Image only"}
MASK_LABELS = {"cross-modal": "Cross-modal", "full": "Full"}
PROJECTION_LABELS = {"linear": "Linear", "mlp": "Small MLP"}
DEVICE_LABELS = {"auto": "Automatic", "cpu": "CPU", "cuda": "CUDA GPU", "mps": "Apple GPU"}
FIELD_MIN_WIDTH = 84


class ScientificSpinBox(QDoubleSpinBox):
    """A float field for learning rates and weight decay: shows `5e-3`, steps by ×2 / ÷2."""

    def __init__(self, minimum: float, maximum: float, allow_zero: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._allow_zero = allow_zero
        self.setDecimals(12)
        self.setRange(0.0 if allow_zero else minimum, maximum)
        self._positive_minimum = minimum
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        if value == 0:
            return "0"
        return f"{value:.3g}" if 1e-3 <= abs(value) < 1e3 else f"{value:.2g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: N802
        from PySide6.QtGui import QValidator

        stripped = text.strip()
        if stripped in {"", "-", ".", "e", "e-"} or stripped.endswith(("e", "e-", "e+")):
            return QValidator.State.Intermediate, text, pos
        try:
            value = float(stripped)
        except ValueError:
            return QValidator.State.Invalid, text, pos
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        value = self.value()
        if value == 0:
            value = self._positive_minimum if steps > 0 else 0.0
        else:
            value *= 2.0**steps
            if value < self._positive_minimum:
                value = 0.0 if self._allow_zero else self._positive_minimum
        self.setValue(min(self.maximum(), value))

    def stepEnabled(self):  # noqa: N802
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.value() < self.maximum():
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self.value() > self.minimum():
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags


def _field(widget: QWidget) -> QWidget:
    """Form fields take the column's width instead of their text's: the settings column is narrow."""
    widget.setMinimumWidth(FIELD_MIN_WIDTH)
    widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    return widget


def _spin(name: str, minimum: int, maximum: int, tip: str, step: int = 1, special: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)
    if special:
        box.setSpecialValueText(special)
    return _field(named(box, name, tip))


def _combo(name: str, labels: dict[str, str], tip: str) -> QComboBox:
    box = QComboBox()
    for key, label in labels.items():
        box.addItem(label, key)
    return _field(named(box, name, tip))


def _select(combo: QComboBox, key: str) -> None:
    index = combo.findData(key)
    if index >= 0:
        combo.setCurrentIndex(index)


def _section(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("settingsSectionLabel")
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setContentsMargins(0, 8, 0, 0)
    return label


def early_stopping_words(patience: int, min_steps: int = 0) -> str:
    """The engine's early-stopping rule in words (`core.training.fit_features`): an epoch that
    ties the best base validation accuracy counts as progress, so only epochs below the best
    count, and the count must also cover `min_steps` optimiser steps."""
    words = f"stops once base validation accuracy stays below its best for {patience} epochs in a row"
    if min_steps:
        words += f" and at least {min_steps} training steps"
    return words


def describe_values(values: dict) -> str:
    """One line that says what a preset does, made from its numbers."""
    training = values.get("training", {})
    adapter = values.get("adapter", {})
    parts = [f"{values.get('shots', '?')} shots per class", f"up to {training.get('epochs', '?')} epochs"]
    if training.get("lr") is not None:
        parts.append(f"lr {training['lr']:g}")
    if training.get("patience"):
        parts.append(early_stopping_words(training["patience"], training.get("min_patience_steps") or 0))
    if values.get("augment_views"):
        parts.append(f"{values['augment_views']} augmented views")
    if adapter.get("adapt") and adapter["adapt"] != "both":
        parts.append(ADAPT_LABELS[adapter["adapt"]].lower())
    return " · ".join(parts)


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-15)
        except (TypeError, ValueError):
            return False
    return a == b


class SettingsPanel(QWidget):
    """Preset buttons, a one-line summary and (behind a toggle) the advanced form."""

    changed = Signal()  # any value changed (preset or field)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPanel")
        self._loaded = False
        self._updating = False
        self._presets: dict[str, dict] = {}
        self._pending_values: dict | None = None
        self._carried: dict = {}  # the last preset or saved values, incl. fields without a widget
        self._preset = PRESET_NAMES[1]

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)

        preset_row = QHBoxLayout()
        preset_row.setSpacing(0)
        self._preset_group = QButtonGroup(self)
        self._preset_group.setExclusive(True)
        self.preset_buttons: dict[str, QPushButton] = {}
        for index, name in enumerate(PRESET_NAMES):
            button = QPushButton(name)
            named(button, f"preset{name}Button", f"Use the {name} preset")
            button.setCheckable(True)
            button.setProperty(
                "segment", "first" if index == 0 else "last" if index == len(PRESET_NAMES) - 1 else "middle"
            )
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self._preset_group.addButton(button, index)
            self.preset_buttons[name] = button
            preset_row.addWidget(button, 1)
        self._preset_group.idClicked.connect(lambda index: self.apply_preset(PRESET_NAMES[index]))
        outer.addLayout(preset_row)

        self.summary_label = named(QLabel(""), "presetSummaryLabel")
        self.summary_label.setWordWrap(True)
        self.summary_label.setProperty("role", "hint")
        outer.addWidget(self.summary_label)

        self.advanced_toggle = named(QToolButton(), "advancedToggle", "Show or hide every training setting")
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        outer.addWidget(self.advanced_toggle)

        self.advanced = QFrame()
        self.advanced.setObjectName("advancedSettings")
        self.advanced.setVisible(False)
        form = QFormLayout(self.advanced)
        form.setContentsMargins(4, 0, 0, 0)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addWidget(self.advanced)

        # Data
        self.shots = _spin(
            "shotsSpin", 1, 1024, "Training images per base class (exactly this many, drawn with the seed)"
        )
        self.val_per_class = _spin(
            "valPerClassSpin", 0, 1024, "Validation images per base class, used to pick the best epoch"
        )
        self.seed = _spin("seedSpin", 0, 2**31 - 1, "Seed for sampling shots and initialising the adapter")
        self.augment_views = _spin(
            "augmentViewsSpin",
            0,
            64,
            "Augmented views of each training image, encoded once and cached (0 = none)",
            special="None",
        )
        # Optimisation
        self.epochs = _spin("epochsSpin", 1, 10000, "Maximum number of epochs (early stopping may end sooner)")
        self.learning_rate = _field(named(ScientificSpinBox(1e-7, 10.0), "learningRateSpin", "Adam learning rate"))
        self.weight_decay = _field(
            named(ScientificSpinBox(1e-9, 1.0, allow_zero=True), "weightDecaySpin", "Adam weight decay")
        )
        self.batch_size = _spin("batchSizeSpin", 1, 65536, "Images per optimisation step", step=32)
        self.patience = _spin(
            "patienceSpin",
            0,
            10000,
            "Stop once base validation accuracy has stayed below its best for this many epochs in a row. An epoch "
            "that equals the best counts as progress (and is the one kept: it has trained longer); the count must "
            "also cover the preset's minimum number of training steps, so a small dataset (one step per epoch) "
            "is not stopped after a handful of steps.",
            special="Never",
        )
        self.patience.setSuffix(" epochs")
        # Adapter
        self.blend = _field(
            named(QDoubleSpinBox(), "blendSpin", "λ: how much of the adapter's output is blended into the embeddings")
        )
        self.blend.setRange(0.0, 1.0)
        self.blend.setDecimals(2)
        self.blend.setSingleStep(0.05)
        self.blend.setKeyboardTracking(False)
        self.bottleneck_dim = _spin(
            "bottleneckSpin",
            0,
            4096,
            "Width of the adapter's attention (must be divisible by the heads)",
            step=8,
            special="Auto (D/4)",
        )
        self.heads = _spin("headsSpin", 1, 64, "Attention heads")
        self.adapt = _combo("adaptCombo", ADAPT_LABELS, "Which embeddings receive the adapter's output")
        self.mask = _combo("maskCombo", MASK_LABELS, "Which tokens may attend to which")
        self.projection = _combo("projectionCombo", PROJECTION_LABELS, "Shape of the down- and up-projections")
        self.device = _combo("deviceCombo", DEVICE_LABELS, "Where feature extraction and training run")

        form.addRow(_section("Data"))
        form.addRow("Shots / class", self.shots)
        form.addRow("Validation / class", self.val_per_class)
        form.addRow("Augmented views", self.augment_views)
        form.addRow("Seed", self.seed)
        form.addRow(_section("Optimisation"))
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Early stopping", self.patience)
        form.addRow(_section("Adapter"))
        form.addRow("Adapt", self.adapt)
        form.addRow("Blend λ", self.blend)
        form.addRow("Bottleneck", self.bottleneck_dim)
        form.addRow("Heads", self.heads)
        form.addRow("Attention mask", self.mask)
        form.addRow("Projection", self.projection)
        form.addRow(_section("Hardware"))
        form.addRow("Device", self.device)

        for box in (
            self.shots,
            self.val_per_class,
            self.seed,
            self.augment_views,
            self.epochs,
            self.batch_size,
            self.patience,
            self.bottleneck_dim,
            self.heads,
        ):
            box.valueChanged.connect(self._on_field_changed)
        for box in (self.learning_rate, self.weight_decay, self.blend):
            box.valueChanged.connect(self._on_field_changed)
        for box in (self.adapt, self.mask, self.projection, self.device):
            box.currentIndexChanged.connect(self._on_field_changed)
        self.setEnabled(True)

    # -- loading the engine's numbers -------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._loaded

    def ensure_loaded(self) -> None:
        """Fill presets and defaults from the engine (imports torch the first time)."""
        if self._loaded:
            return
        from mma_studio.core.pipeline import PRESETS, RunSettings, apply_preset

        self._presets = {
            name: settings_to_values(apply_preset(RunSettings(), name)) for name in PRESET_NAMES if name in PRESETS
        }
        self._loaded = True
        # Start from a preset, then lay saved values over it: a saved dict may be partial
        # (older version, hand-edited), and the fields it lacks must still hold real numbers.
        self.apply_preset(self._preset if self._preset in self._presets else PRESET_NAMES[1])
        if self._pending_values is not None:
            values, self._pending_values = self._pending_values, None
            self.set_values(values)

    def preset_values(self, name: str) -> dict:
        self.ensure_loaded()
        return self._presets[name]

    # -- values in and out -------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        if not self._loaded:
            self._preset = name
            return
        self._preset = name
        self._carried = self._presets[name]
        self._show_values(self._presets[name])
        self._show_preset(self.current_preset())
        self.changed.emit()

    def current_preset(self) -> str:
        """The preset the fields equal, or "Custom"."""
        if not self._loaded:
            return self._preset
        values = self.values()
        for name in PRESET_NAMES:
            if name in self._presets and _values_equal(self._presets[name], values):
                return name
        return CUSTOM

    def values(self) -> dict:
        """The settings as a dict shaped like `RunSettings` (`adapter`, `training` nested)."""
        if not self._loaded:
            return dict(self._pending_values or {})
        return _merge(self._carried, self._widget_values())

    def _widget_values(self) -> dict:
        return {
            "shots": self.shots.value(),
            "val_per_class": self.val_per_class.value(),
            "seed": self.seed.value(),
            "augment_views": self.augment_views.value(),
            "device": self.device.currentData(),
            "training": {
                "epochs": self.epochs.value(),
                "lr": self.learning_rate.value(),
                "weight_decay": self.weight_decay.value(),
                "batch_size": self.batch_size.value(),
                "patience": self.patience.value(),
                "seed": self.seed.value(),
            },
            "adapter": {
                "bottleneck_dim": self.bottleneck_dim.value() or None,
                "heads": self.heads.value(),
                "blend": round(self.blend.value(), 6),
                "adapt": self.adapt.currentData(),
                "mask": self.mask.currentData(),
                "projection": self.projection.currentData(),
            },
        }

    def set_values(self, values: dict) -> None:
        """Show saved values (unknown keys ignored, missing keys keep their current value)."""
        if not self._loaded:
            self._pending_values = dict(values)
            return
        merged = _merge(self.values(), values)
        self._carried = merged
        self._show_values(merged)
        self._preset = self.current_preset()
        self._show_preset(self._preset)
        self.changed.emit()

    def check_values(self) -> str | None:
        """A message when the values cannot train, else None (checked before a run starts)."""
        bottleneck = self.bottleneck_dim.value()
        heads = self.heads.value()
        if bottleneck and bottleneck % heads:
            return f"The bottleneck dimension ({bottleneck}) must be divisible by the number of heads ({heads})."
        return None

    # -- internals ---------------------------------------------------------------------------
    def _show_values(self, values: dict) -> None:
        self._updating = True
        try:
            training = values.get("training", {})
            adapter = values.get("adapter", {})
            self.shots.setValue(int(values.get("shots", self.shots.value())))
            self.val_per_class.setValue(int(values.get("val_per_class", self.val_per_class.value())))
            self.seed.setValue(int(values.get("seed", training.get("seed", self.seed.value()))))
            self.augment_views.setValue(int(values.get("augment_views", self.augment_views.value())))
            _select(self.device, values.get("device", self.device.currentData()))
            self.epochs.setValue(int(training.get("epochs", self.epochs.value())))
            self.learning_rate.setValue(float(training.get("lr", self.learning_rate.value())))
            self.weight_decay.setValue(float(training.get("weight_decay", self.weight_decay.value())))
            self.batch_size.setValue(int(training.get("batch_size", self.batch_size.value())))
            self.patience.setValue(int(training.get("patience", self.patience.value())))
            self.bottleneck_dim.setValue(int(adapter.get("bottleneck_dim") or 0))
            self.heads.setValue(int(adapter.get("heads", self.heads.value())))
            self.blend.setValue(float(adapter.get("blend", self.blend.value())))
            _select(self.adapt, adapter.get("adapt", self.adapt.currentData()))
            _select(self.mask, adapter.get("mask", self.mask.currentData()))
            _select(self.projection, adapter.get("projection", self.projection.currentData()))
        finally:
            self._updating = False

    def _on_field_changed(self, *_args) -> None:
        if self._updating or not self._loaded:
            return
        self._preset = self.current_preset()
        self._show_preset(self._preset)
        self.changed.emit()

    def _show_preset(self, preset: str) -> None:
        """Check the button of `preset` (the one the fields equal, or none for "Custom") and say
        in one line what the values do."""
        self._preset_group.setExclusive(False)
        for name, button in self.preset_buttons.items():
            button.setChecked(name == preset)
        self._preset_group.setExclusive(True)
        prefix = "Custom settings: " if preset == CUSTOM else f"{preset}: "
        self.summary_label.setText(prefix + describe_values(self.values()))

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)


def _merge(base: dict, update: dict) -> dict:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _values_equal(preset: dict, values: dict) -> bool:
    """True when every field the panel shows equals the preset's value."""
    for key, value in values.items():
        if isinstance(value, dict):
            if not _values_equal(preset.get(key, {}), value):
                return False
        elif key in preset and not _same(preset[key], value):
            return False
    return True


def settings_to_values(settings) -> dict:
    """`RunSettings` -> the dict the panel works with: the fields it shows, plus the engine's
    other training and adapter fields (e.g. `min_patience_steps`), carried along unchanged."""
    adapter = {k: v for k, v in settings.adapter.to_dict().items() if k not in ("embed_dim", "logit_scale")}
    adapter["bottleneck_dim"] = settings.adapter.bottleneck_dim or None
    training = settings.training.to_dict()
    return {
        "shots": settings.shots,
        "val_per_class": settings.val_per_class,
        "seed": settings.seed,
        "augment_views": settings.augment_views,
        "device": settings.device,
        "training": training,
        "adapter": adapter,
    }
