"""The Data page's "Health" view: the data doctor's findings with their images side by side,
each with the fix that fits it, in one click and never destructive.

Exclude leaves images out of the project, Move files them under another class, Keep dismisses
the finding; all three go through `AppState.request_data_fix`, so the project controller
records them in the project file as undoable steps (Ctrl+Z), and the next split uses them.
The check itself (`core.doctor.examine_dataset`) runs in a `BackgroundTask` with progress and
Cancel; thumbnails come from the page's `ThumbnailLoader` (decoded off the GUI thread).

After a training run the view checks by itself (`check_after_run`): the run has just cached
every image's features and holds the backbone, so the cheap parts (duplicates, conflicts,
leaks, outliers, zero-shot label errors) cost seconds and the findings are there when the
user looks. The adapter's out-of-fold label check trains 4 adapters, so it stays on the
button. The automatic check gives way: a new run cancels it, closing the window waits for it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mma_studio.ui.later_turn import TurnByTurn
from mma_studio.ui.widgets.plain_text import plain_tooltip
from mma_studio.ui.widgets.progress_row import ProgressRow
from mma_studio.ui.workers.background_task import BackgroundTask

THUMB = 72
SHOWN_IMAGES = 6  # per finding; a larger group says how many more
SHOWN_FINDINGS = 150  # rows listed; the rest are counted (the CLI lists them all)
ROWS_PER_TURN = 10  # rows built per event-loop turn (~2 ms each)

HEALTH_STYLE = """
QFrame#healthFinding { background: palette(base); border: 1px solid palette(midlight); border-radius: 8px; }
QLabel#healthKind { font-weight: 600; }
QLabel#healthThumb { border: 1px solid palette(mid); border-radius: 4px; background: palette(window); }
"""


def exclusion_for(finding) -> list[Path]:
    """Which images "Exclude" leaves out: one copy of a duplicate group stays (the first
    training copy of a leak, so the test set loses the copy it should not have)."""
    from mma_studio.core.doctor import CONFLICT, DUPLICATE, LABEL, LEAK, OUTLIER

    paths = list(finding.paths)
    if finding.kind == DUPLICATE:
        return paths[1:]
    if finding.kind == LEAK:
        in_test = [p for p, s in zip(paths, finding.sets) if s == "test"]
        return in_test if 0 < len(in_test) < len(paths) else paths[1:]
    if finding.kind in (CONFLICT, LABEL, OUTLIER):
        return paths
    return []


def is_resolved(finding, fixes, touched: set[str] | None = None) -> bool:
    """Kept, or every image it is about was excluded or moved since the check. `touched`: the
    excluded and moved paths, when the caller asks about many findings."""
    if fixes is None:
        return False
    if finding.key in fixes.kept:
        return True
    if touched is None:
        touched = touched_paths(fixes)
    needed = [str(p) for p in (exclusion_for(finding) or finding.paths)]
    return bool(needed) and all(p in touched for p in needed)


def touched_paths(fixes) -> set[str]:
    return {str(p) for p in fixes.excluded} | {str(p) for p in fixes.moved} if fixes is not None else set()


def run_settings_for(state):
    """The `RunSettings` the check uses: the chosen backbone, roles, names and sample sizes."""
    from mma_studio.core.pipeline import RunSettings

    data = state.data
    return RunSettings(
        model=state.backbone.model,
        pretrained=state.backbone.pretrained,
        shots=state.shots,
        val_per_class=state.val_per_class,
        base_classes=list(data.base_classes) or None,
        new_classes=list(data.new_classes) if data.base_classes else None,
        display_names=dict(data.display_names),
    )


def health_task(scan, settings, fixes, cache_dir: Path | None, *, backbone=None, label_source: str = "auto"):
    def run(on_progress, token):
        from mma_studio.core.doctor import examine_dataset
        from mma_studio.core.feature_cache import FeatureCache

        cache = FeatureCache(cache_dir) if cache_dir is not None else FeatureCache()
        return examine_dataset(
            scan,
            settings,
            fixes=fixes,
            cache=cache,
            backbone=backbone,
            label_source=label_source,
            on_progress=on_progress,
            token=token,
        )

    return run


class FindingRow(QFrame):
    """One finding: what it is, its images, and its actions."""

    def __init__(self, finding, state, thumbnails, parent: QWidget | None = None) -> None:
        from mma_studio.core.doctor import CONFLICT, KIND_TITLES, LABEL, SPREAD

        super().__init__(parent)
        self.setObjectName("healthFinding")
        self.finding = finding
        self._state = state
        self._thumbnails = thumbnails
        self.thumb_labels: dict[str, QLabel] = {}

        kind = QLabel(f"{KIND_TITLES[finding.kind]} · score {finding.score:.2f}", self)
        kind.setObjectName("healthKind")
        message = QLabel(finding.message, self)
        message.setWordWrap(True)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        images = QHBoxLayout()
        images.setSpacing(6)
        for index, path in enumerate(finding.paths[:SHOWN_IMAGES]):
            label = QLabel(self)
            label.setObjectName("healthThumb")
            label.setFixedSize(THUMB + 2, THUMB + 2)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            where = f" · {finding.sets[index]}" if finding.sets and finding.sets[index] else ""
            label.setToolTip(plain_tooltip(f"{path}\nclass: {state.display_name(finding.classes[index])}{where}"))
            label.setAccessibleName(f"Image {Path(path).name}")
            self.thumb_labels[str(path)] = label
            images.addWidget(label)
        if len(finding.paths) > SHOWN_IMAGES:
            images.addWidget(QLabel(f"+{len(finding.paths) - SHOWN_IMAGES} more", self))
        images.addStretch(1)
        self.refresh_thumbnails()

        actions = QHBoxLayout()
        actions.setSpacing(6)
        self.exclude_button = self.move_button = None
        if exclusion_for(finding):
            count = len(exclusion_for(finding))
            self.exclude_button = QPushButton(
                "Exclude" if count == len(finding.paths) else f"Exclude {count} cop" + ("y" if count == 1 else "ies"),
                self,
            )
            self.exclude_button.setObjectName("healthExcludeButton")
            self.exclude_button.setToolTip("Leave these images out of the project (the files stay where they are)")
            self.exclude_button.clicked.connect(self.exclude)
            actions.addWidget(self.exclude_button)
        if finding.kind in (LABEL, CONFLICT) or (finding.kind != SPREAD and len(finding.paths) == 1):
            self.move_button = QToolButton(self)
            self.move_button.setObjectName("healthMoveButton")
            self.move_button.setText("Move to…")
            self.move_button.setMinimumWidth(self.move_button.fontMetrics().horizontalAdvance("Move to…") + 36)
            self.move_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
            self.move_button.setToolTip("File these images under another class (recorded in the project)")
            # Filled when it opens: a menu of every class (200) for each of 150 findings was
            # 30,000 actions, 0.4 s of the GUI thread when a check's report arrived.
            menu = QMenu(self.move_button)
            menu.aboutToShow.connect(self.fill_move_menu)
            self.move_button.setMenu(menu)
            actions.addWidget(self.move_button)
        self.keep_button = QPushButton("Keep", self)
        self.keep_button.setObjectName("healthKeepButton")
        self.keep_button.setToolTip("Nothing is wrong here: dismiss this finding")
        self.keep_button.clicked.connect(self.keep)
        actions.addWidget(self.keep_button)
        actions.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        layout.addWidget(kind)
        layout.addWidget(message)
        layout.addLayout(images)
        layout.addLayout(actions)

    def fill_move_menu(self) -> QMenu | None:
        """The "Move to…" menu with an action per other class, the suggestion first (made
        the first time it opens)."""
        menu = self.move_button.menu() if self.move_button is not None else None
        if menu is None or menu.actions():
            return menu
        for name in self._move_targets():
            action = menu.addAction(
                self._state.display_name(name) + ("  (suggested)" if name == self.finding.suggested_class else "")
            )
            action.setData(name)
            action.triggered.connect(lambda _checked=False, n=name: self.move_to(n))
        return menu

    def _move_targets(self) -> list[str]:
        scan = self._state.data.scan
        names = list(scan.class_names) if scan is not None else []
        own = set(self.finding.classes) if len(set(self.finding.classes)) == 1 else set()
        suggested = self.finding.suggested_class
        ordered = ([suggested] if suggested in names else []) + [n for n in names if n != suggested]
        return [n for n in ordered if n not in own]

    def refresh_thumbnails(self, path: str | None = None) -> None:
        for key, label in self.thumb_labels.items():
            if path is not None and key != path:
                continue
            pixmap = self._thumbnails.thumbnail(key, THUMB) if self._thumbnails is not None else None
            if pixmap is None:
                label.setText("…")
            elif pixmap.isNull():
                label.setText("?")
            else:
                label.setPixmap(pixmap)

    def exclude(self) -> None:
        self._state.request_data_fix("exclude", exclusion_for(self.finding))

    def move_to(self, class_name: str) -> None:
        self._state.request_data_fix("move", list(self.finding.paths), class_name)

    def keep(self) -> None:
        self._state.request_data_fix("keep", self.finding.key)


class HealthView(QWidget):
    """Findings of the last check; `check()` runs a new one."""

    checkFinished = Signal(bool)  # True when a report arrived
    statusMessage = Signal(str, int)

    def __init__(self, state, thumbnails, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("healthView")
        self._state = state
        self._thumbnails = thumbnails
        self._task: BackgroundTask | None = None
        self._automatic = False  # the running check is the one after a training run
        self.report = None
        self._open: list = []  # the report's findings not yet resolved (made by `_refresh_rows`)
        self.rows: list[FindingRow] = []
        self._rows_by_path: dict[str, list[FindingRow]] = {}  # a thumbnail's path -> the rows showing it
        self._rows_later = TurnByTurn(self)  # the rows past the first few (`_refresh_rows`)
        self.cache_dir: Path | None = None  # None: the configured cache (tests point it elsewhere)

        self.summary = QLabel(self)
        self.summary.setObjectName("healthSummary")
        self.summary.setWordWrap(True)
        self.check_button = QPushButton("Check Data Health", self)
        self.check_button.setObjectName("checkHealthButton")
        self.check_button.setToolTip(
            "Look for duplicates, leaks between training and test, likely label errors "
            "and outliers, from the image features (cached after the first time)"
        )
        self.check_button.clicked.connect(self.check)
        self.progress_row = ProgressRow("health", "data health check", self.cancel, self)
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignTop)

        self._list = QWidget(self)
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(0, 0, 4, 0)
        self._list_layout.setSpacing(8)
        self._list_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("healthFindings")
        scroll.setWidget(self._list)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet(HEALTH_STYLE)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.progress_row)
        layout.addWidget(scroll, 1)

        if thumbnails is not None:
            thumbnails.thumbnailReady.connect(self._on_thumbnail)
        state.datasetChanged.connect(self._on_dataset_changed)
        state.backboneChanged.connect(self._on_dataset_changed)
        state.fixesChanged.connect(self._refresh_rows)
        self._show_summary()

    # --- the check ---------------------------------------------------------------------------
    def check(self) -> bool:
        """The full check (the button): label errors from the adapter's out-of-fold
        predictions when every class has enough images."""
        scan = self._state.data.scan
        if scan is None or self._task is not None:
            return False
        self._start(
            health_task(scan, run_settings_for(self._state), self._state.data.fixes, self._cache_folder()),
            automatic=False,
        )
        return True

    def check_after_run(self, run=None, cache_dir: Path | None = None) -> bool:
        """A training run has just extracted every image: check the cheap parts now, with the
        run's backbone, settings and feature cache (module doc). Not while a check runs."""
        scan = self._state.data.scan
        if scan is None or self._task is not None:
            return False
        settings = getattr(run, "settings", None) or run_settings_for(self._state)
        self._start(
            health_task(
                scan,
                settings,
                self._state.data.fixes,
                self._cache_folder(cache_dir),
                backbone=getattr(run, "backbone", None),
                label_source="zero-shot",
            ),
            automatic=True,
        )
        return True

    def _cache_folder(self, given: Path | None = None) -> Path | None:
        """`given`, else this view's folder, else the one chosen in Settings (None: the default)."""
        folder = given if given is not None else self.cache_dir
        if folder is None:
            from mma_studio.ui.dialogs.settings_dialog import configured_cache_dir

            folder = configured_cache_dir()
        return folder

    def cancel_automatic(self) -> None:
        """A new run starts: the check after the last one gives way (a check the user asked
        for goes on)."""
        if self._task is not None and self._automatic:
            self.cancel()

    def _start(self, fn, *, automatic: bool) -> None:
        task = BackgroundTask(fn, self)
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_report)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)
        task.finished.connect(self._on_task_finished)
        self._task = task
        self._automatic = automatic
        self.check_button.setEnabled(False)
        self.progress_row.start("Checking the data…")
        task.start()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.progress_row.cancelling()

    def is_busy(self) -> bool:
        return self._task is not None

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        return self._task.cancel_and_wait(timeout_ms) if self._task is not None else True

    def _on_progress(self, progress) -> None:
        self.progress_row.show_count(progress.done, progress.total)
        what = {"extract": "Reading image features", "load_model": "Loading the model"}.get(progress.stage)
        text = what or (progress.message[:1].upper() + progress.message[1:] if progress.message else "Checking")
        if progress.stage == "extract" and progress.total:
            text += f": {progress.done:,} of {progress.total:,}"
        self.progress_row.progress.setFormat(text)

    def _on_report(self, report) -> None:
        self.report = report
        self._refresh_rows()
        self.checkFinished.emit(True)

    def _on_failed(self, message: str) -> None:
        self._finish_message(f"The check failed: {message}")
        self.checkFinished.emit(False)

    def _on_cancelled(self) -> None:
        if self._automatic:
            self._show_summary()  # it gave way to a new run or a closing window: nothing to say
        else:
            self._finish_message("Cancelled: the last findings are still shown.")

    def _finish_message(self, text: str) -> None:
        self.summary.setText(text)
        self.statusMessage.emit(text, 8000)

    def _on_task_finished(self) -> None:
        if self._task is not None:
            self._task.deleteLater()
        self._task = None
        self._automatic = False
        self.progress_row.setVisible(False)
        self.check_button.setEnabled(self._state.data.scan is not None)

    # --- the list ------------------------------------------------------------------------------
    def open_findings(self) -> list:
        """The report's findings not kept, excluded or moved yet."""
        return list(self._open)

    def _refresh_rows(self) -> None:
        """The report or the fixes changed (the only two things the open findings follow)."""
        for row in self.rows:
            row.setParent(None)
            row.deleteLater()
        self.rows = []
        self._rows_by_path = {}
        fixes = self._state.data.fixes
        touched = touched_paths(fixes)
        findings = (
            [f for f in self.report.findings if not is_resolved(f, fixes, touched)] if self.report is not None else []
        )
        self._open = findings
        # A few rows now, the rest a batch per turn, so the window paints and takes input
        # between (150 rows at once were ~0.3 s of the GUI thread); a refresh drops the rest.
        listed = findings[:SHOWN_FINDINGS]
        batches = [listed[i : i + ROWS_PER_TURN] for i in range(0, len(listed), ROWS_PER_TURN)]
        self._rows_later.cancel()
        if batches:
            self._build_rows(batches[0])
            self._rows_later.start(lambda batch=batch: self._build_rows(batch) for batch in batches[1:])
        self._show_summary()

    def rows_built(self) -> bool:
        """Every finding listed has its row (they are built a few per event-loop turn)."""
        return not self._rows_later.pending()

    def _build_rows(self, findings: list) -> None:
        for finding in findings:
            row = FindingRow(finding, self._state, self._thumbnails, self._list)
            self._list_layout.insertWidget(self._list_layout.count() - 1, row)
            self.rows.append(row)
            for path in row.thumb_labels:
                self._rows_by_path.setdefault(path, []).append(row)

    def _show_summary(self) -> None:
        from mma_studio.core.data_fixes import fixes_summary

        scan = self._state.data.scan
        self.check_button.setEnabled(scan is not None and self._task is None)
        fixed = fixes_summary(self._state.data.fixes)
        fixed_text = f" Fixed so far: {fixed} (the split follows; Ctrl+Z undoes)." if fixed else ""
        if scan is None:
            self.summary.setText("Add a dataset to check it for duplicates, leaks and label errors.")
        elif self.report is None:
            self.summary.setText(
                "Check the data for duplicates, images shared by training and test, likely "
                "label errors and outliers (after each training run this happens by itself)." + fixed_text
            )
        else:
            open_count = len(self._open)
            shown = f" (the first {SHOWN_FINDINGS} are listed)" if open_count > SHOWN_FINDINGS else ""
            verdict = (
                f"<b>{open_count} finding{'s' if open_count != 1 else ''}</b>{shown}"
                if open_count
                else "<b>No problems found.</b>"
            )
            more = (
                " Check Data Health also asks the adapter (out-of-fold predictions) about labels."
                if self.report.label_source == "zero-shot"
                else ""
            )  # examine.ZERO_SHOT_SOURCE
            self.summary.setText(
                f"{verdict} in {self.report.image_count:,} images · label errors from {self.report.label_source} "
                f"· {self.report.seconds:.1f} s.{more}{fixed_text}"
            )

    def _on_thumbnail(self, path: str) -> None:
        for row in self._rows_by_path.get(path, ()):
            row.refresh_thumbnails(path)

    def _on_dataset_changed(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.report = None
        self._refresh_rows()
