"""File > Export Adapter…: choose where the adapter file goes and what is saved beside it.

The adapter is one `.safetensors` file (the engine's format). Beside it, optionally, a model
card (Markdown), the metrics (JSON, and the confusion matrix as CSV) and a standalone ONNX
classifier (with its JSON and a `predict.py`) for the adapter's classes plus any added on the
Demo page. The dialog only gathers the request: the engine's `write_export_set` (the same call
`mma-studio export` makes) writes and checks the files on a worker thread (`export_worker`);
the dialog shows the progress and the outcome: "verified", a mismatch, or why nothing was saved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mma_studio.core.export import (
    ADAPTER_SUFFIX,
    PREDICT_SCRIPT,
    VERIFY_IMAGES,
    ExportRequest,
    ExportResult,
    companion_groups,
    file_size_text,
    onnx_unavailable_reason,
    planned_files,
    with_adapter_suffix,
)
from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.plain_text import escape_markup, plain_label, plain_tooltip
from mma_studio.ui.workers.export_worker import export_task

SETTINGS_FOLDER = "export/folder"
SETTINGS_MODEL_CARD = "export/modelCard"
SETTINGS_METRICS = "export/metrics"
SETTINGS_ONNX = "export/onnx"
SETTINGS_FLOAT16 = "export/onnxFloat16"
FILE_FILTER = f"MMA adapter (*{ADAPTER_SUFFIX})"

DIALOG_STYLE = """
QLabel[role="hint"] { color: palette(placeholder-text); }
QLabel#exportOnnxUnavailable { color: #b45309; }
QLabel#exportTitle { font-size: 13pt; font-weight: 600; }
QFrame#exportOutcome { border-radius: 8px; padding: 2px; }
QFrame#exportOutcome[outcome="verified"] { background: rgba(16, 185, 129, 0.14); border: 1px solid rgba(16, 185, 129, 0.55); }
QFrame#exportOutcome[outcome="mismatch"] { background: rgba(245, 158, 11, 0.16); border: 1px solid rgba(245, 158, 11, 0.6); }
QFrame#exportOutcome[outcome="error"] { background: rgba(239, 68, 68, 0.13); border: 1px solid rgba(239, 68, 68, 0.55); }
QPushButton#exportSaveButton {
    background: #2563eb; color: white; border: none; border-radius: 6px; padding: 7px 18px; font-weight: 600;
}
QPushButton#exportSaveButton:hover { background: #1d4ed8; }
QPushButton#exportSaveButton:disabled { background: #93c5fd; color: #eff6ff; }
"""


class ExportDialog(QDialog):
    """Export one `TrainingRun`. `exportSucceeded(ExportResult)` or `exportFailed(message)` ends it."""

    exportSucceeded = Signal(object)  # ExportResult: files written (verified or not: see .verified)
    exportFailed = Signal(str)  # nothing was saved; the reason
    exportFinished = Signal()  # the worker thread has stopped

    def __init__(
        self,
        run,
        parent: QWidget | None = None,
        *,
        suggested_name: str = "adapter",
        folder: Path | str | None = None,
        added_classes: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export Adapter")
        self.setStyleSheet(DIALOG_STYLE)
        self.setMinimumWidth(560)
        self.run = run
        adapter_classes = list(getattr(run, "prompt_names", []) or [])
        self.added_classes = [name for name in dict.fromkeys(added_classes or []) if name not in adapter_classes]
        self.onnx_classes = adapter_classes + self.added_classes
        self.onnx_unavailable = onnx_unavailable_reason()  # find_spec only: onnx is not imported here
        self.result: ExportResult | None = None
        self.error: str | None = None
        self._task = None
        self._close_when_done = False
        # Hooks tests replace: the save-file chooser, the replace question and the URL opener.
        self.ask_save_path: Callable[[str], str] = self._ask_save_path
        self.confirm_replace: Callable[[list[Path]], bool] = self._confirm_replace
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl

        settings = QSettings()
        start_folder = Path(folder) if folder else Path(str(settings.value(SETTINGS_FOLDER, "") or Path.home()))
        if not start_folder.is_dir():
            start_folder = Path.home()
        style = self.style()

        title = named(QLabel("Export the adapter", self), "exportTitle")
        intro = QLabel(self)
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")
        backbone = getattr(run, "backbone_metadata", {}) or {}
        described = backbone.get("description") or f"{run.settings.model} · {run.settings.pretrained}"
        intro.setText(
            f"One <b>{ADAPTER_SUFFIX}</b> file with the adapter's weights and everything needed to use it: "
            f"classes and roles, prompts, settings and figures. It works together with the backbone it was "
            f"trained on: <b>{escape_markup(described)}</b>."
        )

        self.path_edit = named(
            QLineEdit(str(start_folder / f"{suggested_name}{ADAPTER_SUFFIX}"), self), "exportPathEdit"
        )
        self.path_edit.setClearButtonEnabled(True)
        self.path_edit.textChanged.connect(self._refresh_plan)
        self.browse_button = named(
            QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Choose…", self), "exportBrowseButton"
        )
        self.browse_button.setToolTip("Choose where to save the adapter file")
        self.browse_button.clicked.connect(self.choose_path)
        path_row = QHBoxLayout()
        path_row.setSpacing(6)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)

        also = QLabel("Also save beside it:", self)
        # The boxes say what kind of file; the names (as long as the user's) are in the wrapping
        # line below, where a long name cannot run past the dialog's edge, and in the tooltips.
        self.model_card_check = named(QCheckBox("Model card (.md)", self), "exportModelCardCheck")
        self.model_card_check.setChecked(_bool(settings.value(SETTINGS_MODEL_CARD, True)))
        self.metrics_check = named(QCheckBox("Metrics (.metrics.json and .confusion.csv)", self), "exportMetricsCheck")
        self.metrics_check.setChecked(_bool(settings.value(SETTINGS_METRICS, True)))
        self.model_card_check.toggled.connect(self._refresh_plan)
        self.metrics_check.toggled.connect(self._refresh_plan)

        self.onnx_check = named(
            QCheckBox(f"Standalone ONNX model (.onnx, .onnx.json and {PREDICT_SCRIPT})", self), "exportOnnxCheck"
        )
        self._option_tips = {  # each box's tooltip, before the names of the files it adds
            "model_card": "Markdown: backbone and weights, classes with their roles, prompt templates, "
            "settings, zero-shot and adapted figures, date",
            "metrics": "JSON: zero-shot and adapted figures, per class too; CSV: the adapter's confusion "
            "matrix (rows: true class, columns: predicted)",
            "onnx": "One .onnx file with the image encoder, the adapter and the class embeddings: it runs "
            "with onnxruntime alone (no MMA Studio, no PyTorch), on any platform it supports",
        }
        self.onnx_check.setChecked(not self.onnx_unavailable and _bool(settings.value(SETTINGS_ONNX, False)))
        self.onnx_check.setEnabled(not self.onnx_unavailable)
        self.onnx_check.toggled.connect(self._refresh_plan)
        self.float16_check = named(
            QCheckBox("Float16 weights: half the size, probabilities within 0.01", self), "exportFloat16Check"
        )
        self.float16_check.setToolTip(
            "Weights stored as 16-bit floats and computed in 32-bit: top-1 and probabilities "
            "are checked against the app with a tolerance of 0.01 instead of 0.0001"
        )
        self.float16_check.setChecked(_bool(settings.value(SETTINGS_FLOAT16, False)))
        self.float16_check.toggled.connect(self._refresh_plan)
        self.onnx_classes_label = named(QLabel(self), "exportOnnxClassesLabel")
        self.onnx_classes_label.setProperty("role", "hint")
        self.onnx_classes_label.setWordWrap(True)
        self.onnx_classes_label.setText(self._classes_text())
        self.onnx_unavailable_label = plain_label(named(QLabel(self), "exportOnnxUnavailable"))
        self.onnx_unavailable_label.setWordWrap(True)
        self.onnx_unavailable_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.onnx_unavailable_label.setText(self.onnx_unavailable)
        self.onnx_unavailable_label.setVisible(bool(self.onnx_unavailable))
        self.float16_check.setVisible(not self.onnx_unavailable)
        self.onnx_classes_label.setVisible(not self.onnx_unavailable)
        onnx_details = QVBoxLayout()
        onnx_details.setContentsMargins(24, 0, 0, 0)
        onnx_details.setSpacing(4)
        onnx_details.addWidget(self.float16_check)
        onnx_details.addWidget(self.onnx_classes_label)
        onnx_details.addWidget(self.onnx_unavailable_label)
        self.files_label = plain_label(named(QLabel(self), "exportFilesLabel"))  # names files
        self.files_label.setProperty("role", "hint")
        self.files_label.setWordWrap(True)
        check_note = QLabel(
            f"After saving, the adapter file is loaded back from disk, as <code>mma-studio predict</code> would, and "
            f"must give the app's predictions on {VERIFY_IMAGES} test images; the ONNX model must give them through "
            f"onnxruntime and <code>{PREDICT_SCRIPT}</code>.",
            self,
        )
        check_note.setWordWrap(True)
        check_note.setProperty("role", "hint")

        self.progress = named(QProgressBar(self), "exportProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.setVisible(False)
        self.status_label = plain_label(named(QLabel("", self), "exportStatusLabel"))
        self.status_label.setWordWrap(True)
        self.status_label.setProperty("role", "hint")
        self.outcome = QFrame(self)
        self.outcome.setObjectName("exportOutcome")
        self.outcome_icon = QLabel(self.outcome)
        self.result_label = plain_label(named(QLabel(self.outcome), "exportResultLabel"))
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outcome_layout = QHBoxLayout(self.outcome)
        outcome_layout.setContentsMargins(10, 8, 10, 8)
        outcome_layout.addWidget(self.outcome_icon, 0, Qt.AlignmentFlag.AlignTop)
        outcome_layout.addWidget(self.result_label, 1)
        self.outcome.setVisible(False)

        self.show_folder_button = named(QPushButton("Show in Folder", self), "exportShowFolderButton")
        self.show_folder_button.setVisible(False)
        self.show_folder_button.clicked.connect(self.show_in_folder)
        self.close_button = named(QPushButton("Close", self), "exportCloseButton")
        self.close_button.clicked.connect(self.reject)
        self.save_button = named(QPushButton("Export", self), "exportSaveButton")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.start_export)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_folder_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(QLabel("Adapter file:", self))
        layout.addLayout(path_row)
        layout.addSpacing(4)
        layout.addWidget(also)
        layout.addWidget(self.model_card_check)
        layout.addWidget(self.metrics_check)
        layout.addWidget(self.onnx_check)
        layout.addLayout(onnx_details)
        layout.addWidget(self.files_label)
        layout.addWidget(check_note)
        layout.addSpacing(4)
        layout.addWidget(self.progress)
        layout.addWidget(self.status_label)
        layout.addWidget(self.outcome)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self._refresh_plan()

    # -- the plan ------------------------------------------------------------------------------
    def adapter_path(self) -> Path | None:
        text = self.path_edit.text().strip()
        if not text:
            return None
        return with_adapter_suffix(Path(text).expanduser())

    def set_adapter_path(self, path: Path | str) -> None:
        self.path_edit.setText(str(path))

    def choose_path(self) -> bool:
        """Ask for the adapter file's location; False if the user cancelled."""
        current = self.adapter_path()
        chosen = self.ask_save_path(str(current) if current else str(Path.home()))
        if not chosen:
            return False
        self.set_adapter_path(with_adapter_suffix(chosen))
        return True

    def _ask_save_path(self, current: str) -> str:
        path, _filter = QFileDialog.getSaveFileName(self, "Export Adapter", current, FILE_FILTER)
        return path

    def wants_onnx(self) -> bool:
        return self.onnx_check.isChecked() and not self.onnx_unavailable

    def _classes_text(self) -> str:
        adapter = len(self.onnx_classes) - len(self.added_classes)
        shown = ", ".join(self.onnx_classes[:12]) + (", …" if len(self.onnx_classes) > 12 else "")
        text = f"Classes in the model ({len(self.onnx_classes)}, in this order): {escape_markup(shown)}"
        if self.added_classes:
            text += (
                f" — the adapter's {adapter} and {len(self.added_classes)} added on the Demo page "
                f"({escape_markup(', '.join(self.added_classes[:6]))}{', …' if len(self.added_classes) > 6 else ''})"
            )
        return text + "."

    def _refresh_plan(self, *_args) -> None:
        path = self.adapter_path()
        groups = companion_groups(path or Path(f"adapter{ADAPTER_SUFFIX}"))
        for box, option in (
            (self.model_card_check, "model_card"),
            (self.metrics_check, "metrics"),
            (self.onnx_check, "onnx"),
        ):
            names = ", ".join(file.name for file in groups[option])
            box.setToolTip(plain_tooltip(f"{self._option_tips[option]}.\nSaves {names}"))
        if path is None:
            self.files_label.setText("Choose where to save the adapter file.")
        else:
            files = planned_files(
                path, self.model_card_check.isChecked(), self.metrics_check.isChecked(), self.wants_onnx()
            )
            existing = [f for f in files if f.exists()]
            text = f"Saves {len(files)} file{'s' if len(files) != 1 else ''}"
            size = self.estimated_size()
            if size is not None:
                text += f", about {file_size_text(size)},"
            text += f" in {path.parent}: {', '.join(f.name for f in files)}"
            if existing:
                text += f"; replaces {', '.join(f.name for f in existing)}"
            self.files_label.setText(text + ".")
        self._update_controls()

    def estimated_size(self) -> int | None:
        from mma_studio.core.export.export_size import estimated_export_bytes

        try:
            return estimated_export_bytes(
                self.run,
                model_card=self.model_card_check.isChecked(),
                metrics=self.metrics_check.isChecked(),
                onnx=self.wants_onnx(),
                float16=self.float16_check.isChecked(),
                onnx_class_count=len(self.onnx_classes),
            )
        except (AttributeError, TypeError):  # a run without an adapter module (never in the app)
            return None

    # -- running ------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self._task is not None and self._task.is_running()

    def start_export(self) -> bool:
        """Write the files and check them on a worker thread; False if it could not start."""
        if self.is_running():
            return False
        path = self.adapter_path()
        if path is None:
            return self.choose_path() and self.start_export()
        if not path.parent.is_dir():
            self._show_outcome("error", f"The folder {path.parent} does not exist. Choose another place.")
            return False
        onnx = self.wants_onnx()
        files = planned_files(path, self.model_card_check.isChecked(), self.metrics_check.isChecked(), onnx)
        existing = [f for f in files if f.exists()]
        if existing and not self.confirm_replace(existing):
            return False
        settings = QSettings()
        settings.setValue(SETTINGS_FOLDER, str(path.parent))
        settings.setValue(SETTINGS_MODEL_CARD, self.model_card_check.isChecked())
        settings.setValue(SETTINGS_METRICS, self.metrics_check.isChecked())
        if not self.onnx_unavailable:
            settings.setValue(SETTINGS_ONNX, self.onnx_check.isChecked())
            settings.setValue(SETTINGS_FLOAT16, self.float16_check.isChecked())

        request = ExportRequest(
            self.run,
            path,
            self.model_card_check.isChecked(),
            self.metrics_check.isChecked(),
            onnx=onnx,
            onnx_float16=onnx and self.float16_check.isChecked(),
            onnx_classes=tuple(self.onnx_classes) if onnx and self.added_classes else None,
        )
        self.result, self.error = None, None
        self.outcome.setVisible(False)
        self.show_folder_button.setVisible(False)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.status_label.setText(f"Saving {path.name}…")
        task = export_task(request, self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_succeeded)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)
        task.finished.connect(self._on_finished)
        self._task = task
        task.start()
        self._update_controls()
        return True

    def cancel(self) -> None:
        if self.is_running():
            self._task.cancel()
            self.status_label.setText("Stopping after the current step…")

    def wait(self, timeout_ms: int = 30_000) -> bool:
        return self._task is None or self._task.wait(timeout_ms)

    def _on_progress(self, progress) -> None:
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(progress.done)
        if progress.message:
            self.status_label.setText(f"{progress.message}…" if progress.message != "Done" else "")

    def _on_succeeded(self, result: ExportResult) -> None:
        self.result = result
        sizes = [f"adapter {file_size_text(result.written[0])}"] if result.written else []
        sizes += [f"ONNX model {file_size_text(p)}" for p in result.written if p.suffix == ".onnx"]
        saved = f"Saved {len(result.written)} file{'s' if len(result.written) != 1 else ''}"
        saved += f" ({', '.join(sizes)})" if sizes else ""
        self.status_label.setText(saved + " in " + str(result.written[0].parent) + "." if result.written else saved)
        outcome = "verified" if result.verified else "mismatch"
        text = result.describe_adapter() + (f"\n\n{result.describe_onnx()}" if result.onnx_requested else "")
        self._show_outcome(outcome, text)
        self.show_folder_button.setVisible(bool(result.written))
        self.exportSucceeded.emit(result)

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.status_label.setText("")
        self._show_outcome("error", f"{message} Nothing was saved.")
        self.exportFailed.emit(message)

    def _on_cancelled(self) -> None:
        self.error = "cancelled"
        self.status_label.setText("")
        self._show_outcome("error", "Export cancelled. Nothing was saved.")
        self.exportFailed.emit("cancelled")

    def _on_finished(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        self.progress.setVisible(False)
        self._update_controls()
        self.exportFinished.emit()
        if self._close_when_done:
            super().reject()

    def _show_outcome(self, outcome: str, text: str) -> None:
        icon = {
            "verified": QStyle.StandardPixmap.SP_DialogApplyButton,
            "mismatch": QStyle.StandardPixmap.SP_MessageBoxWarning,
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
        }[outcome]
        self.outcome_icon.setPixmap(self.style().standardIcon(icon).pixmap(20, 20))
        self.outcome.setProperty("outcome", outcome)
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        self.result_label.setText(text)
        self.result_label.setProperty("outcome", outcome)
        self.outcome.setVisible(True)
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        """Taller when the outcome needs it (word-wrapped labels do not ask a dialog to grow)."""
        layout = self.layout()
        layout.activate()
        needed = layout.heightForWidth(self.width()) if layout.hasHeightForWidth() else layout.sizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def outcome_kind(self) -> str:
        """ "verified", "mismatch", "error", or "" before any export."""
        return str(self.result_label.property("outcome") or "") if not self.outcome.isHidden() else ""

    def show_in_folder(self) -> bool:
        if not self.result or not self.result.written:
            return False
        return bool(self.open_url(QUrl.fromLocalFile(str(self.result.written[0].parent))))

    def _confirm_replace(self, existing: list[Path]) -> bool:
        names = "\n".join(f"  {path.name}" for path in existing)
        answer = QMessageBox.question(
            self,
            "Replace Files?",
            f"These files already exist in {existing[0].parent}:\n\n{names}\n\nReplace them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _update_controls(self) -> None:
        running = self.is_running()
        for widget in (self.path_edit, self.browse_button, self.model_card_check, self.metrics_check):
            widget.setEnabled(not running)
        self.onnx_check.setEnabled(not running and not self.onnx_unavailable)
        self.float16_check.setEnabled(not running and self.onnx_check.isChecked() and not self.onnx_unavailable)
        self.onnx_classes_label.setEnabled(self.onnx_check.isChecked())
        self.save_button.setEnabled(not running and self.adapter_path() is not None)
        self.save_button.setText("Export Again" if self.result is not None and not running else "Export")
        self.close_button.setText("Cancel" if running else "Close")

    def reject(self) -> None:
        """Close (or Esc): while the worker runs, cancel it and close once it has stopped."""
        if self.is_running():
            self._close_when_done = True
            self.cancel()
            return
        super().reject()


def _bool(value) -> bool:
    return str(value).lower() not in ("false", "0", "")
