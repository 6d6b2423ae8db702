"""The Train page: choose settings, train in a worker thread, watch loss and accuracy live.

Left: what will train (dataset, backbone), the preset and advanced settings, and the Train /
Pause / Cancel buttons. Right: the run's progress, its current figures as numbers, the live
curves, and the zero-shot-versus-adapted summary when it ends. The finished `TrainingRun`
stays on the page as `last_run` (and is announced by `runFinished`) for export and evaluation.
"""

from __future__ import annotations

import sys
import threading
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.app_state import AppState
from mma_studio.ui.later_turn import run_in_a_later_turn
from mma_studio.ui.long_lived_objects import freeze_long_lived_objects
from mma_studio.ui.train.live_plots import LivePlots
from mma_studio.ui.train.metric_tiles import MetricTiles
from mma_studio.ui.train.run_progress import RunProgress, format_duration
from mma_studio.ui.train.run_summary import RunSummary
from mma_studio.ui.train.settings_panel import SettingsPanel
from mma_studio.ui.weights_messages import MODEL_NOT_LOADED, weights_missing
from mma_studio.ui.widgets.banner import Banner
from mma_studio.ui.widgets.fit_scroll_area import FitScrollArea
from mma_studio.ui.widgets.naming import named
from mma_studio.ui.widgets.page_style import CARD_STYLE, card, title_label
from mma_studio.ui.widgets.plain_text import plain_label
from mma_studio.ui.workers.training_worker import TrainingJob, TrainRequest

ENGINE_MODULE = "mma_studio.core.pipeline"
HOW_IT_WORKS = (
    "<b>How training works.</b> CLIP stays frozen: each image is encoded once and cached. A small "
    "adapter then learns from the <i>base</i> classes, and the epoch with the best base validation "
    "accuracy is kept. <i>New</i> classes are never trained on: their accuracy shows whether the "
    "adapter still generalises beyond what it saw."
)
FIGURES_INTERVAL_MS = 100
SETUP_COLUMN_WIDTH = 300  # the settings column; narrower in a small window, so the charts keep room
NARROW_SETUP_COLUMN_WIDTH = 260
NARROW_PAGE_WIDTH = 900  # below it the settings column narrows, so both charts fit side by side

PAGE_STYLE = (
    CARD_STYLE
    + """
QLabel[role="tileCaption"] { color: palette(placeholder-text); font-size: 8.5pt; }
QLabel[role="tileValue"] { font-size: 17pt; font-weight: 600; }
QLabel[role="tileDetail"] { color: palette(placeholder-text); font-size: 8.5pt; }
QLabel[role="tableHeader"] { color: palette(placeholder-text); font-weight: 600; }
QLabel#settingsSectionLabel { color: palette(placeholder-text); font-size: 8.5pt; text-transform: uppercase; }
QFrame[tile="true"] {
    background: palette(base);
    border: 1px solid palette(midlight);
    border-radius: 8px;
}
QPushButton#trainButton {
    background: #2563eb; color: white; border: none; border-radius: 7px;
    padding: 9px 18px; font-size: 11pt; font-weight: 600;
}
QPushButton#trainButton:hover { background: #1d4ed8; }
QPushButton#trainButton:disabled { background: #bfdbfe; color: #f8fafc; }
QPushButton#pauseButton, QPushButton#cancelButton, QPushButton#compareMethodsButton {
    border: 1px solid palette(mid); border-radius: 7px; padding: 8px 14px; background: palette(button);
}
QPushButton#pauseButton:disabled, QPushButton#cancelButton:disabled,
QPushButton#compareMethodsButton:disabled { color: palette(placeholder-text); border-color: palette(midlight); }
QPushButton#cancelButton:enabled { color: #b91c1c; }
QPushButton[segment] {
    border: 1px solid palette(mid); padding: 6px 10px; background: palette(button); border-radius: 0px;
}
QPushButton[segment="first"] { border-top-left-radius: 7px; border-bottom-left-radius: 7px; }
QPushButton[segment="last"] { border-top-right-radius: 7px; border-bottom-right-radius: 7px; }
QPushButton[segment="middle"], QPushButton[segment="last"] { border-left: none; }
QPushButton[segment]:checked { background: #2563eb; color: white; border-color: #2563eb; }
QFrame#errorBanner { background: #fef2f2; border: 1px solid #fecaca; border-radius: 8px; }
QFrame#errorBanner QLabel { color: #991b1b; }
QFrame#noticeBanner { background: #fffbeb; border: 1px solid #fde68a; border-radius: 8px; }
QFrame#noticeBanner QLabel { color: #92400e; }
"""
)


class TrainPage(QWidget):
    """Settings, the Train / Pause / Cancel controls, live progress, figures and curves."""

    trainingStarted = Signal()
    trainingStopped = Signal()  # the worker thread has stopped, whatever the outcome
    downloadWeightsRequested = Signal()  # the chosen backbone's weights are missing: download them
    chooseWeightsRequested = Signal()  # … or use a weights file from this computer instead
    runFinished = Signal(object)  # TrainingRun: a run completed (or was cancelled mid-training)
    _engineImported = Signal(str)  # from the import thread: "" or the import error

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainPage")
        self.state = state
        self.last_run = None  # the latest TrainingRun (the next steps export and evaluate it)
        self.last_finished = None  # its FinishedEvent
        self.last_error: tuple[str, str] | None = None  # (title, message) of the last failure
        self.cache_dir = None  # feature cache folder for runs; None = the engine's user cache
        self._job: TrainingJob | None = None
        self._error_box: QMessageBox | None = None
        self._latest_epoch = None
        self._best_val: float | None = None
        self._figures_dirty = False
        self._shown_history: tuple = (None, [], None)  # the curves on the page, and the stored summary
        self._before_run = None  # (run, finished, curves) shown before the current run started
        self._announcing = None  # a finished run, until `runFinished` has told the other pages
        self._stopped_while_announcing = False
        self._run_has_figures = False
        self._started_at = 0.0
        self._engine_loading = False
        self._engineImported.connect(self._on_engine_imported)
        self.setStyleSheet(PAGE_STYLE)

        # ---- left column: what trains and how -------------------------------------------
        setup, setup_layout = card()
        setup.setObjectName("trainSettingsCard")
        setup_layout.addWidget(title_label("Settings"))
        self.backbone_note = named(QLabel(), "trainBackboneNote")
        self.backbone_note.setWordWrap(True)
        self.backbone_note.setProperty("role", "hint")
        setup_layout.addWidget(self.backbone_note)
        self.settings = SettingsPanel()
        setup_layout.addWidget(self.settings)
        setup_layout.addStretch(1)
        self.how_it_works = named(QLabel(HOW_IT_WORKS), "howTrainingWorksLabel")
        self.how_it_works.setWordWrap(True)
        self.how_it_works.setProperty("role", "hint")
        setup_layout.addWidget(self.how_it_works)

        scroll = QScrollArea()
        scroll.setObjectName("trainSetupScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(setup)

        self.train_button = named(QPushButton("Train adapter"), "trainButton")
        self.train_button.setToolTip("Extract features and train the adapter (Ctrl+Return)")
        self.train_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.train_button.clicked.connect(self.start_training)
        self.pause_button = named(QPushButton("Pause"), "pauseButton")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause or resume the run")
        self.pause_button.toggled.connect(self._on_pause_toggled)
        self.cancel_button = named(QPushButton("Cancel"), "cancelButton")
        self.cancel_button.setToolTip("Stop the run; training keeps the best adapter so far (Esc)")
        self.cancel_button.clicked.connect(self.cancel_training)
        self.compare_button = named(QPushButton("Compare Methods…"), "compareMethodsButton")
        self.compare_button.setToolTip(
            "Train zero-shot CLIP, a linear probe, CLIP-Adapter, Tip-Adapter(-F) and MMA on "
            "this split and compare them (evidence only: the export is MMA's)"
        )
        self.compare_button.clicked.connect(self.compare_methods)
        self.comparison_dialog = None  # ComparisonDialog, made on first use
        self.ready_label = plain_label(named(QLabel(), "trainReadyLabel"))  # names classes
        self.ready_label.setWordWrap(True)
        self.ready_label.setProperty("role", "hint")
        # Offered when the base classes hold too few images for the shots asked for.
        self.fit_sizes_button = named(QPushButton(), "fitSampleSizesButton")
        self.fit_sizes_button.setVisible(False)
        self.fit_sizes_button.clicked.connect(self.use_fitting_sample_sizes)
        self._fitting_sizes: tuple[int, int] | None = None
        self._weights_problem = False
        # Offered when the chosen backbone's weights are not on this computer.
        self.download_weights_button = named(QPushButton("Download"), "trainDownloadWeightsButton")
        self.download_weights_button.setToolTip("Download the model's weights now; they are kept for offline use")
        self.download_weights_button.clicked.connect(self.downloadWeightsRequested)
        self.choose_weights_button = named(QPushButton("Choose Weights File…"), "trainChooseWeightsButton")
        self.choose_weights_button.setToolTip("Use an open_clip weights file from this computer instead")
        self.choose_weights_button.clicked.connect(self.chooseWeightsRequested)
        self._weights_buttons = QWidget()
        weights_row = QHBoxLayout(self._weights_buttons)
        weights_row.setContentsMargins(0, 0, 0, 0)
        weights_row.setSpacing(8)
        weights_row.addWidget(self.download_weights_button)
        weights_row.addWidget(self.choose_weights_button)
        weights_row.addStretch(1)
        self._weights_buttons.setVisible(False)

        run_controls = QHBoxLayout()
        run_controls.setSpacing(8)
        run_controls.addWidget(self.pause_button, 1)
        run_controls.addWidget(self.cancel_button, 1)

        left = QVBoxLayout()
        left.setSpacing(8)
        left.addWidget(scroll, 1)
        left.addWidget(self.train_button)
        left.addLayout(run_controls)
        left.addWidget(self.compare_button)
        left.addWidget(self.ready_label)
        left.addWidget(self.fit_sizes_button)
        left.addWidget(self._weights_buttons)
        self._setup_column = QWidget()
        self._setup_column.setObjectName("trainSetupColumn")
        self._setup_column.setLayout(left)
        self._setup_column.setFixedWidth(SETUP_COLUMN_WIDTH)
        left.setContentsMargins(0, 0, 0, 0)
        left_widget = self._setup_column

        # ---- right column: the run ---------------------------------------------------------
        self.error_banner = Banner("errorBanner")
        self.notice_banner = Banner("noticeBanner")
        self.progress = RunProgress()
        self.tiles = MetricTiles()
        self.plots = LivePlots()
        self.loss_plot = self.plots.loss_plot
        self.accuracy_plot = self.plots.accuracy_plot
        plots_card, plots_layout = card()
        plots_card.setObjectName("plotsCard")
        plots_layout.addWidget(self.plots)
        self.summary = RunSummary()

        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(10)
        right.addWidget(self.error_banner)
        right.addWidget(self.notice_banner)
        right.addWidget(self.tiles)
        right.addWidget(plots_card, 1)
        right.addWidget(self.summary)
        right_widget = QWidget()
        right_widget.setObjectName("trainRunColumn")
        right_widget.setLayout(right)
        right_widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        plots_card.setMinimumHeight(270)
        # In a small window the run column scrolls instead of squeezing the charts flat.
        # (A resizable QScrollArea kept the charts at the height a larger window gave them.)
        right_scroll = FitScrollArea(right_widget)
        right_scroll.setObjectName("trainRunScroll")

        # ---- header: the page title and what will train --------------------------------------
        page_title = named(title_label("Train", "pageTitle"), "trainPageTitle")
        self.summary_label = named(QLabel(), "trainSummaryLabel")
        self.summary_label.setProperty("role", "hint")
        self.summary_label.setWordWrap(True)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(page_title)
        titles.addWidget(self.summary_label)
        # The run's progress sits in the header, level with the title: always in view.
        header = QHBoxLayout()
        header.setSpacing(24)
        header.addLayout(titles, 1)
        header.addWidget(self.progress, 1, Qt.AlignmentFlag.AlignBottom)

        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addWidget(left_widget)
        columns.addWidget(right_scroll, 1)
        body = QVBoxLayout(self)
        body.setContentsMargins(20, 16, 20, 16)
        body.setSpacing(12)
        body.addLayout(header)
        body.addLayout(columns, 1)

        # ---- actions (the main window can put them in its menus) --------------------------
        self.train_action = QAction("&Train Adapter", self)
        self.train_action.setShortcut(QKeySequence("Ctrl+Return"))
        self.train_action.triggered.connect(self.start_training)
        self.pause_action = QAction("&Pause / Resume Training", self)
        self.pause_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.pause_action.triggered.connect(self.pause_button.toggle)
        self.cancel_action = QAction("&Cancel Training", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.cancel_action.triggered.connect(self.cancel_training)
        for action in (self.train_action, self.pause_action, self.cancel_action):
            self.addAction(action)
        self.compare_action = QAction("Co&mpare Methods…", self)
        self.compare_action.triggered.connect(self.compare_methods)
        self.addAction(self.compare_action)

        self._figures_timer = QTimer(self)
        self._figures_timer.setInterval(FIGURES_INTERVAL_MS)
        self._figures_timer.timeout.connect(self._refresh_figures)

        state.datasetChanged.connect(self._refresh_setup)
        state.rolesChanged.connect(self._refresh_setup)
        state.backboneChanged.connect(self._refresh_setup)
        state.weightsChanged.connect(self._update_controls)
        state.busyChanged.connect(self._on_busy_changed)
        self.settings.changed.connect(self._on_settings_changed)
        self._refresh_setup()

    # -- public API ------------------------------------------------------------------------
    def is_training(self) -> bool:
        return self._job is not None and self._job.is_running()

    def start_training(self) -> bool:
        """Start a run with the current data, backbone and settings; False if it cannot start."""
        if self.is_training() or not self._ready_or_explain("Cannot train yet"):
            return False
        request = self.train_request()
        self.error_banner.hide()
        self.notice_banner.hide()
        # What the page showed, put back if this run ends before it has a figure of its own
        # (a backbone that cannot load, a cancel during extraction): a failed start never
        # wipes the previous run's curves and results.
        self._before_run = (self.last_run, self.last_finished, self._shown_history)
        self._run_has_figures = False
        self.summary.clear()
        self.plots.reset()
        self.tiles.reset()
        self.progress.reset("Starting…")
        self.last_run = None  # the page shows one run at a time: this one, once it ends
        self.last_error = None
        self.last_finished = None
        self._latest_epoch = None
        self._best_val = None

        job = TrainingJob(request, self)
        job.progress.connect(self._on_progress)
        job.zeroShot.connect(self._on_zero_shot)
        job.epoch.connect(self._on_epoch)
        job.trainingFinished.connect(self._on_training_finished)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.finished.connect(self._on_job_finished)
        self._job = job
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")
        self.pause_button.blockSignals(False)
        self._started_at = time.monotonic()
        job.start()
        self.state.set_busy(True)
        self._figures_timer.start()
        self._update_controls()
        self.trainingStarted.emit()
        return True

    def train_request(self) -> TrainRequest:
        """The data, roles, backbone and settings a run would use now (training and comparison alike)."""
        data = self.state.data
        selection = self.state.backbone
        return TrainRequest(
            scan=data.scan,
            model=selection.model,
            pretrained=selection.pretrained,
            base_classes=list(data.base_classes),
            new_classes=list(data.new_classes),
            display_names=dict(data.display_names),
            values=self.settings.values(),
            cache_dir=self.cache_dir,
            fixes=data.fixes,
        )

    def compare_methods(self) -> bool:
        """Open the Compare Methods window and run the comparison on this page's split and settings."""
        if self.is_training() or self.is_comparing() or not self._ready_or_explain("Cannot compare yet"):
            return False
        if self.comparison_dialog is None:
            from mma_studio.ui.dialogs.comparison_dialog import ComparisonDialog

            self.comparison_dialog = ComparisonDialog(self)
            self.comparison_dialog.view.runningChanged.connect(self._on_comparison_running)
        return self.comparison_dialog.start(self.train_request())

    def _ready_or_explain(self, not_ready_title: str) -> bool:
        """Whether the data, the page and the settings allow a run; if not, a message box says why."""
        problem = self._not_ready_reason()
        if problem:
            self._show_error(not_ready_title, problem, "")
            return False
        self.settings.ensure_loaded()
        problem = self.settings.check_values()
        if problem:
            self._show_error("These settings cannot train", problem, "")
            return False
        return True

    def is_comparing(self) -> bool:
        return self.comparison_dialog is not None and self.comparison_dialog.view.is_running()

    def _on_comparison_running(self, running: bool) -> None:
        self.state.set_busy(running)  # one long task at a time: Train waits for the comparison
        self._update_controls()

    def cancel_training(self) -> None:
        if self.is_training():
            self._job.cancel()
            self.progress.stage_label.setText("Stopping…")
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)

    def pause_training(self) -> None:
        if self.is_training() and not self.pause_button.isChecked():
            self.pause_button.setChecked(True)

    def resume_training(self) -> None:
        if self.is_training() and self.pause_button.isChecked():
            self.pause_button.setChecked(False)

    def request_stop_and_wait(self, timeout_ms: int) -> bool:
        """Cancel a running job and block until its thread stops; True if it stopped in time."""
        if self.is_comparing():
            stopped = self.comparison_dialog.view.cancel_and_wait(timeout_ms)
            if not stopped:
                return False
        job = self._job
        if job is None or not job.is_running():
            return True
        job.cancel()
        stopped = job.wait(timeout_ms)
        if stopped:
            self._figures_timer.stop()
            self.state.set_busy(False)
        return stopped

    def settings_values(self) -> dict:
        """The settings as a JSON-ready dict (for the window to persist between sessions)."""
        return self.settings.values()

    def restore_settings_values(self, values: dict) -> None:
        self.settings.set_values(values)

    def show_history(
        self, zero_shot: dict | None, history: list[dict], summary: dict | None = None, *, progress: bool = True
    ) -> int:
        """Draw a stored run's curves and figures (a reopened project's last run) without
        training: `ZeroShotEvent.to_dict()` and `EpochEvent.to_dict()` per epoch. Entries that
        do not make an event are skipped; returns the number of epochs drawn. With the run's
        `summary` (`TrainingRun.summary()`), its Result card and how it ended come back too
        (`progress=False` leaves the progress line as it is, e.g. saying why a run failed)."""
        from mma_studio.core.events import EpochEvent, ZeroShotEvent

        if self.is_training():
            return 0
        self.plots.reset()
        self.tiles.reset()
        if isinstance(zero_shot, dict) and zero_shot:
            try:
                event = ZeroShotEvent(**{key: zero_shot.get(key) for key in ("val_acc", "new_acc", "hm")})
            except TypeError:
                event = None
            if event is not None:
                self.plots.add_zero_shot(event)
                self.tiles.show_zero_shot(event)
        names = list(EpochEvent.__dataclass_fields__)
        last, best_val, drawn = None, None, 0
        for entry in history or []:
            try:
                event = EpochEvent(**{name: entry[name] for name in names})
            except (KeyError, TypeError):
                continue
            self.plots.add_epoch(event)
            best_val = event.val_acc if event.is_best else best_val
            last, drawn = event, drawn + 1
        if last is not None:
            self.plots.set_best_epoch(last.best_epoch)
            self.tiles.show_epoch(last, best_val)
        self.plots.flush()
        summary = summary if isinstance(summary, dict) else None
        self._shown_history = (zero_shot if isinstance(zero_shot, dict) else None, list(history or []), summary)
        self._show_stored_result(summary, last, progress)
        return drawn

    def _show_stored_result(self, summary: dict | None, last, progress: bool = True) -> None:
        """The Result card and the progress line of a stored run (no TrainingRun needed)."""
        from types import SimpleNamespace

        if not summary or not isinstance(summary.get("adapted"), dict):
            if self.last_run is None:
                self.summary.clear()
                if progress:
                    self.progress.reset()
                    self._update_controls()  # says whether the page is ready to train
            return
        epochs_run = summary.get("epochs_run") if isinstance(summary.get("epochs_run"), int) else 0
        best = summary.get("best_epoch") if isinstance(summary.get("best_epoch"), int) else 0
        cancelled = summary.get("cancelled") is True
        finished = SimpleNamespace(
            epochs_run=epochs_run,
            best_epoch=best,
            cancelled=cancelled,
            stopped_early=summary.get("stopped_early") is True,
        )
        stored = SimpleNamespace(
            zero_shot=summary.get("zero_shot") or {},
            adapted=summary["adapted"],
            history=[last] if last is not None else [],
            cancelled=cancelled,
        )
        self.summary.show_run(stored, finished)
        if not progress:
            return
        maximum = last.epochs if last is not None and last.epochs else epochs_run
        self.progress.finish(
            "Stopped: best adapter so far kept" if cancelled else "Training complete",
            complete=not cancelled,
            detail="the project's last run",
            fraction=epochs_run / maximum if maximum else 1.0,
        )

    def _restore_previous_results(self) -> None:
        """Show again what the page showed before a run that ended without a figure."""
        before, self._before_run = self._before_run, None
        if before is None or self._run_has_figures:
            return
        run, finished, (zero_shot, history, summary) = before
        if zero_shot is None and not history:
            return
        self.last_run = run
        self.show_history(zero_shot, history, None if run is not None else summary, progress=False)
        if run is not None:
            self.last_run, self.last_finished = run, finished
            self.summary.show_run(run, finished)

    # -- Qt events ---------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        narrow = event.size().width() < NARROW_PAGE_WIDTH
        self._setup_column.setFixedWidth(NARROW_SETUP_COLUMN_WIDTH if narrow else SETUP_COLUMN_WIDTH)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        # The settings' numbers come from the engine, which imports torch: import it on a
        # background thread the first time the page is shown, then fill the panel.
        if not self.settings.loaded and not self._engine_loading:
            if ENGINE_MODULE in sys.modules:
                self._on_engine_imported("")
            else:
                self._engine_loading = True
                self.settings.summary_label.setText("Loading the training engine…")
                threading.Thread(target=self._import_engine, name="import-engine", daemon=True).start()
                self._update_controls()

    def _import_engine(self) -> None:
        try:
            __import__(ENGINE_MODULE)
        except Exception as exc:  # reported on the page, never fatal
            self._engineImported.emit(f"{type(exc).__name__}: {exc}")
        else:
            self._engineImported.emit("")

    def _on_engine_imported(self, error: str) -> None:
        self._engine_loading = False
        if not error:
            try:
                self.settings.ensure_loaded()
            except Exception as exc:  # noqa: BLE001
                error = f"{type(exc).__name__}: {exc}"
        if error:
            self.error_banner.show_text(f"The training engine could not be loaded: {error}")
        self._update_controls()

    # -- worker signals ----------------------------------------------------------------------
    def _on_progress(self, progress) -> None:
        if progress.stage == "train" and progress.done:
            return  # the epoch's own event drives the header, with the tiles (`_refresh_figures`)
        self.progress.show_progress(progress)

    def _on_zero_shot(self, event) -> None:
        self._run_has_figures = True
        self.plots.add_zero_shot(event)
        self.tiles.show_zero_shot(event)

    def _on_epoch(self, event) -> None:
        self._run_has_figures = True
        self.plots.add_epoch(event)
        if event.is_best:
            self._best_val = event.val_acc
        self._latest_epoch = event
        self._figures_dirty = True

    def _on_training_finished(self, event) -> None:
        self.last_finished = event
        self.plots.set_best_epoch(event.best_epoch)

    def _on_succeeded(self, run) -> None:
        # Before the end-of-run work allocates: a full collection would walk the whole heap here.
        freeze_long_lived_objects()
        self._before_run = None
        self.last_run = run
        self._shown_history = (run.zero_shot_event.to_dict(), [event.to_dict() for event in run.history], None)
        self._refresh_figures()
        finished = self.last_finished
        cancelled = bool(getattr(run, "cancelled", False))
        history = list(getattr(run, "history", []) or [])
        self.progress.finish(
            "Stopped: best adapter so far kept" if cancelled else "Training complete",
            complete=not cancelled,
            detail=f"in {format_duration(time.monotonic() - self._started_at)}",
            fraction=len(history) / history[-1].epochs if history else 0.0,
        )
        self.summary.show_run(run, finished)
        notices = []
        skipped = list(getattr(run, "failed_images", []) or [])
        if skipped:
            first_path, first_reason = skipped[0]
            more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
            notices.append(
                f"{len(skipped)} image{'s' if len(skipped) != 1 else ''} could not be read and were left out: "
                f"{first_path} ({first_reason}){more}."
            )
        notices.extend(getattr(run, "warnings", []) or [])  # e.g. features not cached: the disk is full
        if notices:
            self.notice_banner.show_text("\n".join(notices))
        # The pages and the project take the run one event-loop turn later: this page's result
        # and the others' work (Evaluate's tables, the run's record) were one ~100 ms stall at
        # 20,000 images; split, the window paints and handles input in between (issue 12 §6).
        self._announcing = run
        run_in_a_later_turn(self, self._announce_run)

    def _announce_run(self) -> None:
        run, self._announcing = self._announcing, None
        if run is not None:
            self.runFinished.emit(run)
        if self._stopped_while_announcing:  # the job ended meanwhile: "stopped" follows the run
            self._stopped_while_announcing = False
            self._on_job_finished()

    def _on_failed(self, title: str, message: str, details: str) -> None:
        self.last_error = (title, message)
        self.progress.finish(f"Failed: {title}", complete=False)
        if title == MODEL_NOT_LOADED:  # one message, in view: the banner says it all in plain words
            self.error_banner.show_text(message)
            return
        self.error_banner.show_text(f"{title}. {message.splitlines()[0] if message else ''}".strip())
        self._show_error(title, message, details)

    def _on_cancelled(self) -> None:
        self.progress.finish("Cancelled before training started", complete=False)
        self.notice_banner.show_text(
            "Cancelled. No adapter was trained; the extracted features stay cached for the next run."
        )

    def _on_job_finished(self) -> None:
        if self._announcing is not None:
            self._stopped_while_announcing = True  # after the run is announced (`_announce_run`)
            return
        job, self._job = self._job, None
        self._figures_timer.stop()
        self._refresh_figures()
        self._restore_previous_results()
        if job is not None:
            job.deleteLater()
        self.state.set_busy(False)
        self._update_controls()
        self.trainingStopped.emit()

    # -- helpers -----------------------------------------------------------------------------
    def _on_busy_changed(self, _busy: bool) -> None:
        self._update_controls()

    def _on_pause_toggled(self, paused: bool) -> None:
        job = self._job
        if job is None:
            return
        if paused:
            job.pause()
        else:
            job.resume()
        self.pause_button.setText("Resume" if paused else "Pause")
        self.progress.set_paused(paused)

    def _refresh_figures(self) -> None:
        if self._figures_dirty and self._latest_epoch is not None:
            self._figures_dirty = False
            self.tiles.show_epoch(self._latest_epoch, self._best_val)
            if self.progress.stage in (None, "train"):  # not once evaluation or the end is shown
                self.progress.show_epoch(self._latest_epoch)

    def _on_settings_changed(self) -> None:
        values = self.settings.values()
        if values:
            self.state.set_sample_needs(
                values.get("shots", self.state.shots), values.get("val_per_class", self.state.val_per_class)
            )
        self._update_controls()

    def _show_error(self, title: str, message: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, title, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("trainErrorBox")
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages name files and classes
        box.setInformativeText(message)
        if details:
            box.setDetailedText(details)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._error_box = box
        box.open()  # not exec(): the event loop (and the worker's last signals) keep flowing

    def _not_ready_reason(self) -> str | None:
        data = self.state.data
        if data.scan is None or not getattr(data.scan, "classes", None):
            return "Add a dataset on the Data page first: a folder with one sub-folder of images per class."
        if self.state.busy and not self.is_training():
            return "Wait for the current task (scan or download) to finish."
        if self._engine_loading and not self.settings.loaded:
            return "Loading the training engine…"
        classes = len(data.scan.classes)
        if classes < 2:
            return "At least two classes are needed to train a classifier."
        if data.base_classes is not None and data.base_classes and len(data.base_classes) < 2:
            return "Mark at least two classes as base classes: the adapter trains on base classes only."
        if self.state.weights_missing:
            self._weights_problem = True
            label = self.state.backbone.label or f"{self.state.backbone.model} · {self.state.backbone.pretrained}"
            return self.state.weights_note or weights_missing(label)
        return self._too_few_images_reason()

    def _too_few_images_reason(self) -> str | None:
        """Base classes smaller than shots + validation, said before a run fails on them."""
        values = self.settings.values() if self.settings.loaded else {}
        shots = int(values.get("shots", self.state.shots))
        val = int(values.get("val_per_class", self.state.val_per_class))
        base = set(self.state.data.base_classes or [])
        short = sorted(
            (len(c.images), c.display_name or c.name)
            for c in self.state.data.scan.classes
            if c.name in base and len(c.images) < shots + val
        )
        if not short:
            return None
        from mma_studio.core.split import fitting_sample_sizes

        self._fitting_sizes = fitting_sample_sizes(short[0][0], shots, val)
        names = ", ".join(f"'{name}' has {count}" for count, name in short[:3])
        more = f" and {len(short) - 3} more" if len(short) > 3 else ""
        reason = f"Each base class needs {shots + val} images ({shots} shots + {val} for validation): {names}{more}."
        if self._fitting_sizes is None:
            return reason + " Add images to these classes, or make them new classes on the Data page."
        return reason + " Add images, or train with fewer shots:"

    def use_fitting_sample_sizes(self) -> None:
        """The fix offered under the message: the largest shots the smallest base class allows."""
        if self._fitting_sizes is not None:
            shots, val = self._fitting_sizes
            self.settings.set_values({"shots": shots, "val_per_class": val})

    def _refresh_setup(self) -> None:
        data = self.state.data
        scan = data.scan
        selection = self.state.backbone
        model = selection.label or f"{selection.model} · {selection.pretrained}"
        if scan is None or not getattr(scan, "classes", None):
            self.summary_label.setText(f"No dataset yet · model: {model}")
        else:
            base, new = len(data.base_classes), len(data.new_classes)
            images = scan.image_count
            roles = f": {base} base to train on, {new} new held out" if base or new else ""
            self.summary_label.setText(f"{len(scan.classes)} classes{roles} · {images:,} images · model: {model}")
        if selection.is_random:
            note = "Random weights, for testing the app only: accuracy will stay near chance."
        elif selection.is_demo:
            note = "Demo model trained on toy shapes: fine for the example dataset, not for real photos."
        else:
            note = ""
        self.backbone_note.setText(note)
        self.backbone_note.setVisible(bool(note))
        self._update_controls()

    def _update_controls(self) -> None:
        training = self.is_training()
        self._fitting_sizes = None  # set by `_too_few_images_reason` when it has a fix to offer
        self._weights_problem = False  # set by `_not_ready_reason` when the weights are missing
        problem = None if training else self._not_ready_reason()
        self.train_button.setEnabled(not training and problem is None)
        self.train_action.setEnabled(not training and problem is None)
        self.compare_button.setEnabled(not training and problem is None)
        self.compare_action.setEnabled(not training and problem is None)
        self.pause_button.setEnabled(training and not (self._job and self._job.token.cancelled))
        self.cancel_button.setEnabled(training and not (self._job and self._job.token.cancelled))
        self.pause_action.setEnabled(self.pause_button.isEnabled())
        self.cancel_action.setEnabled(self.cancel_button.isEnabled())
        self.settings.setEnabled(not training)
        if not training and self.pause_button.isChecked():
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)
        fit = problem is not None and self._fitting_sizes is not None
        if fit:
            shots, val = self._fitting_sizes
            self.fit_sizes_button.setText(f"Use {shots} Shots + {val} Validation")
        self.fit_sizes_button.setVisible(fit)
        weights = problem is not None and self._weights_problem
        self._weights_buttons.setVisible(weights)
        self.download_weights_button.setEnabled(weights and not self.state.weights_downloading)
        self.progress.show_idle("Not ready to train" if problem else "Ready to train")
        if training:
            self.ready_label.setText("Training runs in the background; the window stays usable.")
        elif problem:
            self.ready_label.setText(problem)
        else:
            data = self.state.data
            base = len(data.base_classes)
            new = len(data.new_classes)
            text = f"Ready: trains on {base} base classes" if base else "Ready to train"
            if new:
                text += f"; {new} new classes measure generalisation to classes never trained on."
            self.ready_label.setText(text)
