"""Projects in the window: File > New, Open…, Save, Save As…, Open Recent Project, autosave,
the modified marker and the title.

A project remembers the data (folders, relative to the project file), the base/new split and
display names, the backbone, the training settings and every run with its figures and curves
(`core.project` writes it atomically). Reopening rescans the data in a worker and restores the
rest, including the last run's curves on the Train page; each run's adapter is kept in the run
store (`core.run_store`), so the last run's results come back on the Evaluate and Demo pages
too, evaluated again from the feature cache in a worker.

Every change is saved without asking, a moment after it happens (debounced). A project that
was never saved under a name is kept in the user data folder (`Autosaved/`) once it holds
data, so closing the window never loses work; Save As moves it where the user wants and it
appears in Open Recent Project either way.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from mma_studio.core.project_store import (
    AUTOSAVED_KEEP,
    PortableRuns,
    absolute_data_fixes,
    absolute_ui_state,
    autosave_folder,
    new_autosave_path,
    note_exported_adapter,
    portable_data,
    portable_data_fixes,
    portable_ui_state,
    prune_autosaved,
    record_finished_run,
    remove_autosaved_copy,
    with_project_suffix,
)
from mma_studio.ui.app_state import BackboneSelection
from mma_studio.ui.recent_projects import (
    LAST_PROJECT_DIR_KEY,
    RECENT_PROJECTS_KEY,
    clear_recent_projects,
    forget_recent_project,
    recent_projects,
    remember_recent_project,
    reopen_last_project_enabled,
)
from mma_studio.ui.widgets.plain_text import plain_tooltip
from mma_studio.ui.window_state import capture_window_state, restore_window_state
from mma_studio.ui.workers.background_task import BackgroundTask
from mma_studio.ui.workers.project_scan import rescan_project_data_task

# After a run: the automatic data check waits this long, for the pages to show the results.
HEALTH_CHECK_AFTER_RUN_DELAY_MS = 1000
AUTOSAVE_DELAY_MS = 1500
PROJECT_FILTER = "MMA Studio projects (*.mmaproj);;All files (*)"
__all__ = ["AUTOSAVED_KEEP", "RECENT_PROJECTS_KEY", "ProjectController", "autosave_folder", "recent_projects"]


class ProjectController(QObject):
    """Owns the open project file and its runs; the main window shows its actions and title."""

    titleChanged = Signal()
    projectOpened = Signal(object)  # Path, once the data has been rescanned and the app is idle again
    projectOpenFailed = Signal(str)  # the reason (naming the file), when a project file cannot be read
    projectSaved = Signal(object)  # Path
    runsChanged = Signal()
    statusMessage = Signal(str, int)

    def __init__(self, window, parent: QObject | None = None) -> None:
        super().__init__(parent or window)
        self.window = window
        self.state = window.state
        self.path: Path | None = None  # the project file (a named one, or the autosaved copy)
        self.is_autosaved_copy = False  # `path` lies in the Autosaved folder (never named by the user)
        self.runs: list = []  # RunRecord, paths absolute (made relative when written)
        self.dirty = False
        self.last_error = ""
        self._restoring = False
        self._settings: dict = {}  # the project's training settings until the Train page exists
        self._scan_task: BackgroundTask | None = None
        self._run_tasks: list[BackgroundTask] = []  # keeping a run's adapter, showing a past run again
        self._read_tasks: list[BackgroundTask] = []  # reading a project file (never on the GUI thread)
        self._read_serial = 0  # bumped per Open: the result of an earlier, slower read is dropped
        self._generation = 0  # bumped when another project opens: a late restore is dropped
        self._pending_roles: tuple | None = None
        self._opened_pending = False  # projectOpened waits for the scan's thread to finish
        self._saved_snapshot = ""  # the project as last written or opened: equal again means clean
        self._portable_runs = PortableRuns()  # each run's split as written, made once per run and folder
        self.extra: dict = {}  # what the opened file holds that this version does not know: written back
        self._pending_ui_state: dict = {}  # the opened project's window state, shown once its data is back
        self._written_ui_state: tuple | None = None  # (project file, the window state) as last written
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_DELAY_MS)
        # The timer's autosave writes in a worker (the project holds every image path of every
        # run's split: serialising and syncing it took ~100 ms of GUI time at 1,200 images).
        self._autosave.timeout.connect(lambda: self.autosave_now(background=True))
        self._changes = 0  # counts edits, so a background write knows whether it saved the last one
        self._background_write: BackgroundTask | None = None
        self._write_again = False
        # The data check after a run starts once the results are on screen (`add_run`).
        self._health_after_run = QTimer(self)
        self._health_after_run.setSingleShot(True)
        self._health_after_run.setInterval(HEALTH_CHECK_AFTER_RUN_DELAY_MS)
        self._health_after_run.timeout.connect(self._start_health_after_run)
        self._health_after_run_args: tuple | None = None

        self.new_action = self._action(
            "&New Project",
            "newProjectAction",
            QKeySequence.StandardKey.New,
            self.new_project,
            "Start an empty project (the current one is saved)",
        )
        self.open_action = self._action(
            "Open &Project…",
            "openProjectAction",
            QKeySequence("Ctrl+Shift+O"),
            self.choose_project,
            "Open an MMA Studio project (.mmaproj)",
        )
        self.save_action = self._action(
            "&Save Project",
            "saveProjectAction",
            QKeySequence.StandardKey.Save,
            self.save,
            "Save the project (it is also saved automatically)",
        )
        self.save_as_action = self._action(
            "Save Project &As…",
            "saveProjectAsAction",
            QKeySequence("Ctrl+Shift+S"),
            self.choose_save_path,
            "Save the project under a new name",
        )
        self.runs_action = self._action(
            "Project &Runs…",
            "projectRunsAction",
            QKeySequence("Ctrl+Shift+R"),
            self.show_runs,
            "Every run of this project, with its figures",
        )
        self.recent_menu = QMenu("Open Recent Pro&ject")
        self.recent_menu.setObjectName("recentProjectsMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)

        self.state.datasetChanged.connect(self._on_changed)
        self.state.rolesChanged.connect(self._on_changed)
        self.state.backboneChanged.connect(self._on_changed)
        # Exclusions, class moves and kept findings: undoable (Ctrl+Z), saved with the project.
        from mma_studio.ui.data_fixes_controller import DataFixesController

        self.data_fixes = DataFixesController(self.state, self)
        self.data_fixes.statusMessage.connect(self.statusMessage)
        self.undo_action = self.data_fixes.undo_stack.createUndoAction(self.window, "&Undo")
        self.undo_action.setObjectName("undoDataFixAction")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.data_fixes.undo_stack.createRedoAction(self.window, "&Redo")
        self.redo_action.setObjectName("redoDataFixAction")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.window.addActions([self.undo_action, self.redo_action])  # shortcuts work without a menu
        self._pending_fixes: dict = {}
        self.state.fixesChanged.connect(self._on_changed)
        self.state.busyChanged.connect(self._update_actions)
        self._update_actions()

    def _action(self, text, name, shortcut, slot, tip) -> QAction:
        action = QAction(text, self.window)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # ================================================================== hooks the window calls
    def attach_train_page(self, page) -> None:
        """Follow the Train page once it exists: settings edits and finished runs."""
        page.settings.changed.connect(self._on_changed)
        page.runFinished.connect(self.add_run)
        page.trainingStarted.connect(self._cancel_health_after_run)
        if self._settings:
            page.restore_settings_values(self._settings)
        if self.runs and not page.is_training() and page.last_run is None:
            last = self.runs[-1]
            page.show_history(last.zero_shot, last.history, last.summary)

    def add_run(self, run) -> None:
        """A run finished on the Train page: record it (figures, curves, split, settings) and
        keep its adapter in the run store, in a worker, so a reopened project can show it."""
        from mma_studio.core.run_store import RunStore, new_run_id

        run_id = new_run_id()
        self.runs.append(record_finished_run(run, run_id))
        self.runsChanged.emit()
        self._on_changed()
        # The run extracted every image: the data check reads the cache. It starts once the
        # pages have shown the results: its torch work, beside the GUI thread's (the tables of
        # 200 classes), left the GUI thread waiting for a CPU on two cores (issue 12 §6).
        cache_dir = getattr(getattr(self.window, "train_page", None), "cache_dir", None)
        self._health_after_run_args = (run, cache_dir, self.state.data.scan)
        self._health_after_run.start()
        # The store is made in the worker too: finding its folder imports platformdirs.
        task = self._start_run_task(lambda on_progress, token: RunStore().save(run, run_id))
        task.failed.connect(
            lambda message: self.statusMessage.emit(
                f"The run is in the project, but its adapter could not be kept for reopening: {message}", 10000
            )
        )

    def _start_health_after_run(self) -> None:
        run, cache_dir, scan = self._health_after_run_args or (None, None, None)
        self._health_after_run_args = None
        health = getattr(getattr(self.window, "data_page", None), "health", None)
        if run is None or health is None or self.state.data.scan is not scan or self.state.busy:
            return  # the data changed (another project, a rescan) or a new run began meanwhile
        health.check_after_run(run, cache_dir)

    def _cancel_health_after_run(self) -> None:
        self._health_after_run.stop()
        self._health_after_run_args = None
        health = getattr(getattr(self.window, "data_page", None), "health", None)
        if health is not None:
            health.cancel_automatic()  # a new run starts: the last run's data check gives way

    def _start_run_task(self, fn) -> BackgroundTask:
        task = BackgroundTask(fn, self)
        self._run_tasks.append(task)
        task.finished.connect(lambda: self._run_tasks.remove(task) if task in self._run_tasks else None)
        task.finished.connect(task.deleteLater)
        task.start()
        return task

    def restore_last_run(self) -> BackgroundTask | None:
        """Show the project's last run again (Evaluate and Demo pages), when its adapter is
        still in the run store: evaluated in a worker, dropped if another project opens first
        or a new run is shown by then."""
        return self._restore_run(len(self.runs) - 1, replace=False)

    def show_run_results(self, index: int) -> BackgroundTask | None:
        """Project Runs > Show Results: that run on the Evaluate and Demo pages (and its curves)."""
        task = self._restore_run(index, replace=True)
        if task is not None:
            self.show_run_curves(index)
            self.statusMessage.emit("Evaluating the run again on its test images…", 0)
        return task

    def _restore_run(self, index: int, *, replace: bool) -> BackgroundTask | None:
        from mma_studio.core.run_restore import restore_task
        from mma_studio.core.run_store import RunStore

        record = self.runs[index] if 0 <= index < len(self.runs) else None
        store = RunStore()
        if record is None or not isinstance(record.split, dict) or not store.has(record.run_id):
            return None
        page = self.window.train_page
        cache_dir = getattr(page, "cache_dir", None) if page is not None else None
        if cache_dir is None:
            from mma_studio.ui.dialogs.settings_dialog import configured_cache_dir

            cache_dir = configured_cache_dir()
        generation = self._generation
        task = self._start_run_task(restore_task(copy.deepcopy(record), store.path(record.run_id), cache_dir))

        def shown(run) -> None:
            if generation == self._generation and self.window.show_restored_run(run, replace=replace):
                which = "The run's" if replace else "The last run's"
                self.statusMessage.emit(f"{which} results are on the Evaluate page (Ctrl+3)", 6000)
                if replace:
                    self.window.show_page(2)

        task.succeeded.connect(shown)
        task.failed.connect(
            lambda message: (
                generation == self._generation
                and self.statusMessage.emit(
                    f"The run's figures and curves are shown; its test images could not be evaluated again: {message}",
                    12000,
                )
            )
        )
        return task

    def note_export(self, run, adapter_path: Path | str) -> None:
        """The adapter of `run` was exported to `adapter_path`: the project remembers where."""
        if note_exported_adapter(self.runs, getattr(run, "finished_at", None), adapter_path) is not None:
            self.runsChanged.emit()
            self._on_changed()

    def holds_work(self) -> bool:
        """Whether the project has data or runs that new data would replace."""
        return self.state.data.scan is not None or bool(self.runs)

    def title_name(self) -> str:
        """The project's name for the window title, or "" when it has no name of its own."""
        if self.path is None or self.is_autosaved_copy:
            return ""
        return self.path.stem

    def flush(self) -> None:
        """Write pending changes now (the window is closing), and what the window shows when
        it changed since the last write (the page, the Demo), so reopening finds it again."""
        if self._autosave.isActive() or self.dirty:
            self._autosave.stop()
            self.autosave_now()
        elif (
            self.path is not None
            and not self._restoring
            and self._read_tasks == []
            and (self.path, capture_window_state(self.window)) != self._written_ui_state
        ):
            self._write(self.path, quiet=True)

    def reopen_last_project(self) -> bool:
        """At launch: open the most recent project, when the user has not turned this off in
        Settings. False when there is none (the first-run screen stays)."""
        if not reopen_last_project_enabled():
            return False
        recent = recent_projects()
        return bool(recent) and self.open_project(recent[0])

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        ok = True
        for task in list(self._run_tasks) + list(self._read_tasks):
            ok = task.cancel_and_wait(timeout_ms) and ok
        if self._scan_task is not None:
            ok = self._scan_task.cancel_and_wait(timeout_ms) and ok
        return ok

    # ================================================================== new / open / save
    def new_project(self) -> bool:
        if not self._can_switch():
            return False
        self.flush()
        self._restoring = True
        self._generation += 1
        self.window.forget_runs()
        self.path = None
        self.is_autosaved_copy = False
        self.runs = []
        self.extra = {}
        self._pending_ui_state, self._written_ui_state = {}, None
        self.state.clear_scan()
        self.data_fixes.reset()
        self._restoring = False
        page = self.window.train_page
        if page is not None and not page.is_training():
            page.show_history(None, [])
        self.dirty = False
        self._saved_snapshot = self._snapshot()
        self.runsChanged.emit()
        self._changed_title()
        self.statusMessage.emit("New project: drop a dataset to begin.", 5000)
        return True

    def choose_project(self) -> None:
        start = QSettings().value(LAST_PROJECT_DIR_KEY, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.window, "Open Project", str(start), PROJECT_FILTER)
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path | str) -> bool:
        """Open a project file: read in a worker, then restored here; its data is rescanned in
        another worker. The file is read off the GUI thread (a slow disk, or a file that is not
        what it seems, never freezes the window; the engine refuses pipes and devices and caps
        the size). False when the current project cannot be left; a file that cannot be read
        is reported by `projectOpenFailed` and a message, and the window stays as it was."""
        path = Path(path).absolute()
        if not self._can_switch():
            return False
        self._read_serial += 1
        serial = self._read_serial

        def read(on_progress, token):
            from mma_studio.core.project import ProjectError
            from mma_studio.core.project_store import open_project_file

            try:
                return open_project_file(path)
            except ProjectError as exc:
                return exc  # an expected refusal, not a crash: no traceback

        task = BackgroundTask(read, self)
        task.succeeded.connect(lambda result: self._on_project_read(path, result, serial))
        task.failed.connect(lambda message: self._on_project_read(path, RuntimeError(message), serial))
        task.finished.connect(lambda: self._forget_read_task(task))
        self._read_tasks.append(task)
        self.statusMessage.emit(f"Opening {path.name}…", 0)
        task.start()
        return True

    def _forget_read_task(self, task: BackgroundTask) -> None:
        if task in self._read_tasks:
            self._read_tasks.remove(task)
        task.deleteLater()

    def is_reading_project(self) -> bool:
        return bool(self._read_tasks)

    def _on_project_read(self, path: Path, opened, serial: int) -> None:
        """The project file has been read (or refused): restore it, unless another Open has
        started since (its result wins)."""
        if serial != self._read_serial:
            return
        if isinstance(opened, Exception):
            self.statusMessage.emit("", 0)
            self._show_error("The project could not be opened", str(opened))
            self.projectOpenFailed.emit(str(opened))
            return
        self.flush()
        QSettings().setValue(LAST_PROJECT_DIR_KEY, str(path.parent))
        self._restoring = True
        self._generation += 1
        self.window.forget_runs()
        project, data = opened.project, opened.data
        self.path = path
        self.is_autosaved_copy = path.parent == autosave_folder()
        self.runs = opened.runs
        self.extra = dict(project.extra)
        self._pending_fixes = dict(project.data_fixes)
        self._pending_ui_state = absolute_ui_state(project.ui_state, path)
        self._written_ui_state = (path, dict(self._pending_ui_state))  # shown as stored: nothing to write back
        self.runsChanged.emit()

        selection = _backbone_selection(project.backbone)
        if selection is not None and selection != self.state.backbone:
            self.state.set_backbone(selection)
        self._settings = dict(project.settings)
        page = self.window.ensure_train_page()
        if page is not None and not page.is_training():
            if project.settings:
                page.restore_settings_values(project.settings)
            last = self.runs[-1] if self.runs else None
            page.show_history(
                last.zero_shot if last else None, last.history if last else [], last.summary if last else None
            )

        self._pending_roles = (
            list(project.base_classes),
            list(project.new_classes),
            dict(project.display_names),
            list(data.missing),
        )
        remember_recent_project(path)
        self.dirty = False
        self._changed_title()
        if data.empty:
            self.state.clear_scan()
            self._finish_restore(None)
            return
        task = BackgroundTask(rescan_project_data_task(data.root, data.folders, data.class_files), self)
        task.succeeded.connect(self._finish_restore)
        task.failed.connect(self._on_restore_failed)
        task.cancelled.connect(lambda: self._on_restore_failed("Cancelled: the project opened without its data."))
        task.finished.connect(self._on_restore_task_finished)
        self._scan_task = task
        self.state.set_busy(True)
        self.statusMessage.emit(f"Opening {path.name}: scanning its data…", 0)
        task.start()

    def save(self) -> bool:
        """Save to the project file; a project without a name asks for one."""
        if self.path is None or self.is_autosaved_copy:
            return self.choose_save_path()
        return self._write(self.path)

    def choose_save_path(self) -> bool:
        start = QSettings().value(LAST_PROJECT_DIR_KEY, str(Path.home()))
        name = self.title_name() or self._suggested_name()
        path = self.ask_save_path(str(Path(start) / f"{name}.mmaproj"))
        if not path:
            return False
        return self.save_as(Path(path))

    def ask_save_path(self, suggestion: str) -> str:
        """Ask where to save (a method so tests can answer it)."""
        path, _ = QFileDialog.getSaveFileName(self.window, "Save Project As", suggestion, PROJECT_FILTER)
        return path

    def save_as(self, path: Path | str) -> bool:
        path = with_project_suffix(path)
        previous = self.path if self.is_autosaved_copy else None
        if not self._write(path):
            return False
        self.path = path
        self.is_autosaved_copy = False
        self._saved_snapshot = self._snapshot()
        QSettings().setValue(LAST_PROJECT_DIR_KEY, str(path.parent))
        remember_recent_project(path)
        if previous is not None and previous != path and remove_autosaved_copy(previous):
            forget_recent_project(previous)
        self._changed_title()
        return True

    def autosave_now(self, background: bool = False) -> None:
        """Write the project where it lives; an unnamed project with data goes to Autosaved/.
        `background`: serialise and write it in a worker (the timer's autosave); otherwise now."""
        if background and self._background_write is not None:
            self._write_again = True  # one write at a time, in order: this one follows
            return
        if not self.dirty or self._restoring:
            return
        if self.path is None:
            if self.state.data.scan is None and not self.runs:
                return  # nothing worth keeping yet
            folder = autosave_folder()
            self.path = new_autosave_path(folder)
            self.is_autosaved_copy = True
            for removed in prune_autosaved(folder, keep=AUTOSAVED_KEEP - 1):
                forget_recent_project(removed)
        if background:
            self._write_in_background(self.path)
        elif self._write(self.path, quiet=True) and self.is_autosaved_copy:
            remember_recent_project(self.path)

    def _write_in_background(self, path: Path) -> None:
        """`_write` for the autosave timer: the project is gathered here (cheap), then written
        (JSON, atomic write, sync) in a worker; the bookkeeping follows when it is done."""
        from mma_studio.core.project_store import portable_split, write_project_file

        ui_state = capture_window_state(self.window)
        # The runs' splits (every image path) are made relative to the file in the worker.
        project = self.current_project(path, ui_state=ui_state, absolute_splits=True)
        snapshot = self._snapshot()  # what this write holds, for telling later edits from none
        changes = self._changes

        def write(on_progress, token) -> None:
            for run in project.runs:
                run.split = portable_split(run.split, path)
            write_project_file(project, path)

        task = BackgroundTask(write, self)
        self._background_write = task
        self._run_tasks.append(task)  # `stop_and_wait` (closing) lets it finish before `flush`

        def written(_result) -> None:
            if path != self.path:
                return  # another project was opened meanwhile: its state is not this file's
            self._note_written(path, ui_state, snapshot, clean=changes == self._changes)
            if self.is_autosaved_copy:
                remember_recent_project(path)

        def failed(message: str) -> None:
            self.last_error = f"{path}: {message}. The previous version of the file is unchanged."
            self.statusMessage.emit(f"Autosave failed: {self.last_error}", 10000)

        def finished() -> None:
            self._background_write = None
            if task in self._run_tasks:
                self._run_tasks.remove(task)
            task.deleteLater()
            if self._write_again:
                self._write_again = False
                self.autosave_now(background=True)

        task.succeeded.connect(written)
        task.failed.connect(failed)
        task.finished.connect(finished)
        task.start()

    def current_project(
        self,
        project_file: Path,
        *,
        split_tokens: bool = False,
        ui_state: dict | None = None,
        absolute_splits: bool = False,
    ):
        """The project as it stands, with paths relative to `project_file`.

        `split_tokens`: each run's split is a number standing for it (for comparing two states
        of the project cheaply: the same number means the same split, as written).
        `ui_state`: what the window shows (`capture_window_state`), written with the project
        but not compared: switching pages does not make the project "modified".
        `absolute_splits`: each run's split as kept in memory (a worker makes it relative).
        """
        from mma_studio.core.project import Project

        data = self.state.data
        data_root, class_folders, class_files = portable_data(data.scan, project_file)
        page = self.window.train_page
        settings = page.settings_values() if page is not None and page.settings.loaded else dict(self._settings)
        name = project_file.stem if not self.is_autosaved_copy else "Untitled"
        return Project(
            name=name,
            data_root=data_root,
            class_folders=class_folders,
            class_files=class_files,
            display_names=dict(data.display_names),
            base_classes=list(data.base_classes),
            new_classes=list(data.new_classes),
            backbone=asdict(self.state.backbone),
            settings=settings,
            runs=self._portable_runs.records(self.runs, project_file, split_tokens, absolute_splits),
            data_fixes=portable_data_fixes(data.fixes, project_file),
            ui_state=portable_ui_state(ui_state, project_file) if ui_state else {},
            extra=dict(self.extra),
        )

    # ================================================================== runs and recent
    def show_runs(self):
        from mma_studio.ui.dialogs.runs_dialog import RunsDialog

        dialog = RunsDialog(self.runs, self.window)
        dialog.showCurvesRequested.connect(self.show_run_curves)
        dialog.showResultsRequested.connect(self.show_run_results)
        dialog.openAdapterRequested.connect(self.window.open_adapter_in_demo)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_run_curves(self, index: int) -> bool:
        page = self.window.ensure_train_page()
        if page is None or page.is_training() or not 0 <= index < len(self.runs):
            return False
        record = self.runs[index]
        page.show_history(record.zero_shot, record.history, record.summary)
        self.window.show_train_page()
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = recent_projects()
        for number, path in enumerate(paths, start=1):
            label = f"{path.stem} (autosaved)" if path.parent == autosave_folder() else path.stem
            action = self.recent_menu.addAction(f"&{number}  {label} — {path.parent}")
            action.setToolTip(plain_tooltip(str(path)))
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
            action.setEnabled(not self.state.busy)
        if not paths:
            self.recent_menu.addAction("No Recent Projects").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Menu", clear_recent_projects)

    # ================================================================== internals
    def _on_changed(self, *_args) -> None:
        if self._restoring:
            return
        self._changes += 1
        if self._snapshot() == self._saved_snapshot:  # e.g. a setting changed and changed back
            self._autosave.stop()
            if self.dirty:
                self.dirty = False
                self._changed_title()
            return
        if not self.dirty:
            self.dirty = True
            self._changed_title()
        self._autosave.start()

    def _snapshot(self) -> str:
        path = self.path or Path.cwd() / "Untitled.mmaproj"
        try:
            return json.dumps(self.current_project(path, split_tokens=True).to_dict(), sort_keys=True, default=str)
        except (TypeError, ValueError):
            return ""

    def _changed_title(self) -> None:
        self._update_actions()
        self.titleChanged.emit()

    def _update_actions(self, *_args) -> None:
        busy = self.state.busy
        for action in (self.new_action, self.open_action):
            action.setEnabled(not busy)

    def _can_switch(self) -> bool:
        page = self.window.train_page
        if self.state.busy or (page is not None and page.is_training()):
            self._show_error("Please wait", "A task is running: wait for it to finish (or cancel it) first.")
            return False
        return True

    def _suggested_name(self) -> str:
        scan = self.state.data.scan
        if scan is not None and scan.root is not None:
            return scan.root.name
        return "Untitled"

    def _write(self, path: Path, *, quiet: bool = False) -> bool:
        from mma_studio.core.project_store import write_project_file

        try:
            ui_state = capture_window_state(self.window)
            write_project_file(self.current_project(path, ui_state=ui_state), path)
        except OSError as exc:
            message = f"{path}: {exc.strerror or exc}. The previous version of the file is unchanged."
            if quiet:
                self.last_error = message
                self.statusMessage.emit(f"Autosave failed: {message}", 10000)
            else:
                self._show_error("The project could not be saved", message)
            return False
        self._note_written(path, ui_state, self._snapshot() if path == self.path else "")
        if not quiet:
            self.statusMessage.emit(f"Saved {path.name}", 4000)
        return True

    def _note_written(self, path: Path, ui_state: dict, snapshot: str, *, clean: bool = True) -> None:
        """`path` now holds the project as `snapshot` and the window as `ui_state`; `clean`:
        no edit came after what was written."""
        if clean:
            self.dirty = False
        self.last_error = ""
        self._written_ui_state = (path, ui_state)
        self._saved_snapshot = snapshot
        self._changed_title()
        self.projectSaved.emit(path)

    def _finish_restore(self, scan) -> None:
        from mma_studio.core.project_data import fit_roles_to_scan

        base, new, display_names, missing = self._pending_roles or ([], [], {}, [])
        self._pending_roles = None
        self._restoring = True
        try:
            if scan is not None:
                fitted = fit_roles_to_scan(scan, base, new, display_names)
                self.state.set_scan(fitted.scan, fitted.base, fitted.new)
                self.state.data.display_names.update(fitted.display_names)
                if display_names:
                    self.state.rolesChanged.emit()
                self._restore_data_fixes()
                if fitted.lost:
                    missing = missing + [f"class {name!r}" for name in fitted.lost]
            else:
                self.state.clear_scan()
        finally:
            self._restoring = False
        self.dirty = False
        self._saved_snapshot = self._snapshot()
        self._changed_title()
        if missing:
            self.statusMessage.emit(f"Opened {self.path.name}; not found: {', '.join(missing)}", 12000)
        else:
            self.statusMessage.emit(f"Opened {self.path.name}", 5000)
        run_task = self.restore_last_run()
        ui_state, self._pending_ui_state = self._pending_ui_state, {}
        restore_window_state(self.window, ui_state, run_task)
        self._announce_opened()

    def _restore_data_fixes(self) -> None:
        """The opened project's exclusions, moves and kept findings (paths made absolute)."""
        stored, self._pending_fixes = self._pending_fixes, {}
        try:
            fixes = absolute_data_fixes(stored, self.path)
        except TypeError as exc:
            self.statusMessage.emit(f"The project's data fixes were damaged and are not applied ({exc})", 10000)
            fixes = None
        self.data_fixes.reset(fixes)

    def _on_restore_failed(self, message: str) -> None:
        self._restoring = True
        self.state.clear_scan()
        self._restoring = False
        self._pending_roles = None
        self._show_error("The project's data could not be read", message)
        self._announce_opened()

    def _announce_opened(self) -> None:
        """projectOpened, once the app is no longer busy with the rescan (its thread ends after
        the result arrives): a listener sees a usable window, not `busy` for a moment longer."""
        if self._scan_task is not None:
            self._opened_pending = True
        else:
            self.projectOpened.emit(self.path)

    def _on_restore_task_finished(self) -> None:
        task, self._scan_task = self._scan_task, None
        if task is not None:
            task.deleteLater()
        self.state.set_busy(False)
        if self._opened_pending:
            self._opened_pending = False
            self.projectOpened.emit(self.path)

    def _show_error(self, title: str, message: str) -> None:
        self.last_error = message
        self.statusMessage.emit(f"{title}: {message}", 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, title, QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("projectErrorBox")
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages name files and folders
        box.setInformativeText(message)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()


def _backbone_selection(data: dict) -> BackboneSelection | None:
    if not isinstance(data, dict) or not data.get("model") or not data.get("pretrained"):
        return None
    return BackboneSelection(
        model=str(data["model"]),
        pretrained=str(data["pretrained"]),
        label=str(data.get("label") or ""),
        is_random=bool(data.get("is_random", False)),
        is_demo=bool(data.get("is_demo", False)),
    )
