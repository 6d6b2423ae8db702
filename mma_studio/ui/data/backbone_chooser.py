"""Choose the frozen CLIP the adapter sits on: pretrained weights, the demo model, a local
file, or random weights for testing — each labelled for what it is.

The list comes from the engine's light catalogue (`core.backbone_catalogue`), which reads the
Hugging Face cache folders directly and imports neither open_clip nor torch: whether the
current choice's weights are on this computer is known when the chooser is built, and the
whole list a moment after the window is shown (`ensure_loaded()`, a worker of a few `stat`
calls), so the GUI thread never waits on an import (issue 12 §6). The architectures offered
for a weights file are read from open_clip's config folder when asked for. Downloads run
`load_backbone` in a worker with progress and cancel; failures (offline, hub unreachable)
show the engine's message with the local-file route.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mma_studio.core.backbone_catalogue import (
    catalogue_choices,
    list_architectures,
    local_file_label,
    recommended_choice,
    weights_present,
)
from mma_studio.ui.app_state import AppState, BackboneSelection
from mma_studio.ui.settings_lists import stored_strings
from mma_studio.ui.weights_messages import weights_failure
from mma_studio.ui.widgets.plain_text import escape_markup
from mma_studio.ui.widgets.progress_row import ProgressRow
from mma_studio.ui.workers.background_task import BackgroundTask

DEMO_MODEL = ("mma-tiny", "shapes")
LOCAL_KIND = "local"
SETTINGS_KEY = "backbone/selection"  # "model\npretrained\nlabel"
LOCAL_FILES_KEY = "backbone/localFiles"  # weights files chosen before: ["architecture\tpath", …]
MAX_REMEMBERED_FILES = 5

CHOICE_ROLE = Qt.ItemDataRole.UserRole + 1  # a ChoiceEntry on each combo item


class ChoiceEntry:
    """What one combo item stands for (a listed engine choice, or a picked local file)."""

    def __init__(
        self,
        model: str,
        pretrained: str,
        label: str,
        downloaded: bool,
        kind: str,
        presence_known: bool = True,
        note: str = "",
    ) -> None:
        self.model = model
        self.pretrained = pretrained
        self.label = label
        self.downloaded = downloaded  # the weights are on this computer
        self.kind = kind  # "pretrained", "demo", "random", "local" (the file route) or "file"
        # False for a pretrained tag the catalogue does not list: only loading it can tell
        self.presence_known = presence_known
        self.note = note  # why it is listed ("The paper's backbone."): tooltip and status line

    @classmethod
    def from_choice(cls, choice) -> ChoiceEntry:
        return cls(
            choice.model,
            choice.pretrained,
            choice.label,
            bool(choice.downloaded),
            choice.kind,
            note=getattr(choice, "note", ""),
        )

    @classmethod
    def from_selection(cls, selection: BackboneSelection) -> ChoiceEntry:
        if selection.is_demo:
            kind = "demo"
        elif selection.is_random:
            kind = "random"
        elif selection.pretrained.startswith(("file:", "local-dir:")):
            kind = "file"
        else:
            kind = "pretrained"
        present = weights_present(selection.model, selection.pretrained)  # a few stat calls
        label = selection.label or _default_label(selection)
        return cls(selection.model, selection.pretrained, label, present is not False, kind, present is not None)

    def key(self) -> tuple[str, str]:
        return (self.model, self.pretrained)

    def to_selection(self) -> BackboneSelection:
        return BackboneSelection(
            self.model,
            self.pretrained,
            self.label,
            is_random=self.kind == "random",
            is_demo=self.kind == "demo",
        )

    def item_text(self) -> str:
        if self.kind == "pretrained" and self.presence_known:
            return f"{self.label}  —  {'downloaded' if self.downloaded else 'not downloaded'}"
        if self.kind == "demo" and not self.downloaded:
            return f"{self.label}  —  missing from this installation"
        if self.kind == "file" and not self.downloaded:
            return f"{self.label}  —  file not found"
        return self.label


def _default_label(selection: BackboneSelection) -> str:
    if selection.pretrained.startswith("file:"):
        return local_file_label(selection.model, selection.pretrained[5:])
    return f"{selection.model} · {selection.pretrained}"


def _list_choices_task(local_files: list[tuple[str, str]]):
    def run(on_progress, token):
        choices = catalogue_choices(local_files=local_files)  # folder reads only: no open_clip, no torch
        return choices, recommended_choice(choices)

    return run


def remembered_local_files() -> list[tuple[str, str]]:
    """The weights files chosen before, newest first: (architecture, path) pairs."""
    pairs = []
    for item in stored_strings(LOCAL_FILES_KEY):
        model, _, path = item.partition("\t")
        if model and path:
            pairs.append((model, path))
    return pairs


def remember_local_file(model: str, path: str) -> None:
    pairs = [(model, path), *(pair for pair in remembered_local_files() if pair != (model, path))]
    QSettings().setValue(LOCAL_FILES_KEY, [f"{m}\t{p}" for m, p in pairs[:MAX_REMEMBERED_FILES]])


class DownloadFailed(Exception):
    """A download that failed, said in the app's words (see `weights_messages`)."""


def _download_task(model: str, pretrained: str, label: str):
    def run(on_progress, token):
        from mma_studio.core.backbone import BackboneLoadError, load_backbone

        try:
            backbone = load_backbone(model, pretrained, device="cpu", on_progress=on_progress, token=token)
        except BackboneLoadError as exc:
            raise DownloadFailed(weights_failure(label, exc.reason)) from None
        del backbone  # only the cached file matters here; training loads it again on its device
        return True

    return run


class BackboneChooser(QWidget):
    """A combo box (`backboneCombo`) plus status, download and local-file actions."""

    choicesLoaded = Signal()
    downloadFinished = Signal(bool)  # True when the weights are now available offline

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("backboneChooser")
        self._state = state
        self._choices_task: BackgroundTask | None = None
        self._download_task: BackgroundTask | None = None
        self._loaded = False
        self._shut_down = False  # set when the window closes: no new workers after that
        self._user_chose = False  # a choice made this session is never overridden by the recommendation
        # A selection made elsewhere before the list loads (Try an Example, a project, a test)
        # is a choice too: only the untouched default may be replaced by the recommendation.
        self._backbone_at_start = state.backbone
        self._architectures: list[str] = []  # read from open_clip's config folder when first asked for
        self._any_pretrained_cached = False
        self._download_failure = ""  # the last download's failure, in plain words, until another choice

        self.combo = QComboBox(self)
        self.combo.setObjectName("backboneCombo")
        self.combo.setAccessibleName("backboneCombo")
        self.combo.setAccessibleDescription(
            "Backbone model: the frozen CLIP model and weights the adapter is trained on"
        )
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.combo.activated.connect(self._on_activated)

        style = self.style()
        self.download_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_ArrowDown), "Download", self)
        self.download_button.setObjectName("backboneDownloadButton")
        self.download_button.setToolTip("Download these weights now (they are cached for later, offline use)")
        self.download_button.clicked.connect(self.start_download)

        self.status = QLabel(self)
        self.status.setObjectName("backboneStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setOpenExternalLinks(False)
        self.status.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.status.linkActivated.connect(self._on_link)

        self._progress_row = ProgressRow("backbone", "download", self.cancel_download, self)
        self.progress, self.cancel_button = self._progress_row.progress, self._progress_row.cancel_button
        self.cancel_button.setToolTip("Stop the download (it resumes where it stopped next time)")

        self.error_frame = QFrame(self)
        self.error_frame.setObjectName("backboneError")
        self.error_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.error_label = QLabel(self.error_frame)
        self.error_label.setObjectName("backboneErrorText")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error_icon = QLabel(self.error_frame)
        error_icon.setPixmap(style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(24, 24))
        error_icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.error_local_button = QPushButton("Choose Local Weights File…", self.error_frame)
        self.error_local_button.setToolTip("Use an open_clip weights file from this computer instead")
        self.error_local_button.setObjectName("backboneErrorLocalButton")
        self.error_local_button.clicked.connect(self.choose_local_file)
        self.error_demo_button = QPushButton("Use Demo Model", self.error_frame)
        self.error_demo_button.setToolTip("Switch to mma-tiny · shapes, which works offline")
        self.error_demo_button.setObjectName("backboneErrorDemoButton")
        self.error_demo_button.clicked.connect(self.select_demo)
        error_buttons = QVBoxLayout()  # stacked: the side panel is narrow
        error_buttons.setSpacing(4)
        error_buttons.addWidget(self.error_local_button, 0, Qt.AlignmentFlag.AlignLeft)
        error_buttons.addWidget(self.error_demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        error_text = QVBoxLayout()
        error_text.addWidget(self.error_label)
        error_text.addLayout(error_buttons)
        error_layout = QHBoxLayout(self.error_frame)
        error_layout.addWidget(error_icon)
        error_layout.addLayout(error_text, 1)
        self.error_frame.setVisible(False)

        download_row = QHBoxLayout()
        download_row.addWidget(self.download_button)
        download_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.combo)
        layout.addWidget(self.status)
        layout.addLayout(download_row)
        layout.addWidget(self._progress_row)
        layout.addWidget(self.error_frame)

        self._restore_selection()
        self._show_only_current()
        state.backboneChanged.connect(self._sync_from_state)
        state.busyChanged.connect(self._update_enabled)

    # --- listing ---------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """List the choices in a worker (the first call only); `choicesLoaded` when done."""
        if self._loaded or self._choices_task is not None or self._shut_down:
            return
        task = BackgroundTask(_list_choices_task(remembered_local_files()), self)
        task.succeeded.connect(self._on_choices)
        task.failed.connect(self._on_choices_failed)
        task.finished.connect(self._on_choices_task_finished)
        self._choices_task = task
        self.status.setText("Looking for models on this computer…")
        task.start()

    def is_loaded(self) -> bool:
        return self._loaded

    def _on_choices_task_finished(self) -> None:
        if self._choices_task is not None:
            self._choices_task.deleteLater()
        self._choices_task = None

    def _on_choices_failed(self, message: str) -> None:
        self._loaded = True
        self._show_only_current()
        self._show_error(f"The list of models could not be built: {message}")
        self.choicesLoaded.emit()

    def _on_choices(self, result) -> None:
        choices, recommended = result
        entries = [ChoiceEntry.from_choice(c) for c in choices]
        untouched = self._state.backbone == self._backbone_at_start
        if not self._user_chose and untouched and not QSettings().contains(SETTINGS_KEY):
            # First run: preselect downloaded weights if any, else the demo model (offline).
            choice = ChoiceEntry.from_choice(recommended).to_selection()
            if choice != self._state.backbone:
                self._state.set_backbone(choice)
        self._any_pretrained_cached = any(e.kind == "pretrained" and e.downloaded for e in entries)
        current = ChoiceEntry.from_selection(self._state.backbone)
        # a weights file chosen elsewhere, or open_clip weights the catalogue does not list (a project's)
        if current.kind in ("file", "pretrained") and not any(e.key() == current.key() for e in entries):
            local_at = next((i for i, e in enumerate(entries) if e.kind == LOCAL_KIND), len(entries))
            entries.insert(local_at, current)
        self._fill(entries)
        self._loaded = True
        self._select_key(current.key())
        self._update_status()
        self.choicesLoaded.emit()

    def _fill(self, entries: list[ChoiceEntry]) -> None:
        style = self.style()
        self.combo.blockSignals(True)
        self.combo.clear()
        previous_kind = None
        for entry in entries:
            group = "pretrained-cached" if entry.kind == "pretrained" and entry.downloaded else entry.kind
            if previous_kind is not None and group != previous_kind and self.combo.count():
                self.combo.insertSeparator(self.combo.count())
            previous_kind = group
            if entry.kind == "pretrained":
                icon = style.standardIcon(
                    QStyle.StandardPixmap.SP_DialogApplyButton
                    if entry.downloaded
                    else QStyle.StandardPixmap.SP_ArrowDown
                )
            elif entry.kind == "demo":
                icon = style.standardIcon(QStyle.StandardPixmap.SP_ComputerIcon)
            elif entry.kind == "random":
                icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            else:
                icon = style.standardIcon(
                    QStyle.StandardPixmap.SP_DirOpenIcon
                    if entry.kind == LOCAL_KIND
                    else QStyle.StandardPixmap.SP_FileIcon
                )
            self.combo.addItem(icon, entry.item_text())
            index = self.combo.count() - 1
            self.combo.setItemData(index, entry, CHOICE_ROLE)
            self.combo.setItemData(index, self._tooltip(entry), Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)

    def _show_only_current(self) -> None:
        """Before the list is loaded: just the current selection, so the page reads right."""
        entry = ChoiceEntry.from_selection(self._state.backbone)
        self._fill([entry])
        self.combo.setCurrentIndex(0)
        self._update_status()

    @staticmethod
    def _tooltip(entry: ChoiceEntry) -> str:
        if entry.kind == "demo":
            return "A toy CLIP trained by MMA Studio on generated shapes: works offline, for demos and tests only."
        if entry.kind == "random":
            return "Untrained weights: accuracy stays at chance. For testing the app only."
        if entry.kind == LOCAL_KIND:
            return "Pick an open_clip weights file (.safetensors, .pt, .bin) from this computer."
        if entry.kind == "file":
            found = "" if entry.downloaded else " (not found: it was moved or deleted)"
            return f"{entry.model} with weights from {entry.pretrained[5:]}{found}"
        note = f"{entry.note} " if entry.note else ""
        if not entry.presence_known:
            return "open_clip weights; whether they are on this computer is checked when they load"
        if entry.downloaded:
            return f"{note}On this computer: loads offline"
        return f"{note}Not on this computer: Download fetches it once from the Hugging Face hub"

    def entries(self) -> list[ChoiceEntry]:
        """Every listed choice, in order (separators skipped)."""
        found = []
        for i in range(self.combo.count()):
            entry = self.combo.itemData(i, CHOICE_ROLE)
            if isinstance(entry, ChoiceEntry):
                found.append(entry)
        return found

    def current_entry(self) -> ChoiceEntry | None:
        entry = self.combo.currentData(CHOICE_ROLE)
        return entry if isinstance(entry, ChoiceEntry) else None

    # --- selection -------------------------------------------------------------------------

    def _select_key(self, key: tuple[str, str]) -> bool:
        for i in range(self.combo.count()):
            entry = self.combo.itemData(i, CHOICE_ROLE)
            if isinstance(entry, ChoiceEntry) and entry.key() == key:
                self.combo.setCurrentIndex(i)
                return True
        return False

    def select(self, model: str, pretrained: str) -> bool:
        """Select a listed (model, weights) pair and make it the app's backbone."""
        for entry in self.entries():
            if entry.key() == (model, pretrained) and entry.kind != LOCAL_KIND:
                self._apply(entry)
                return True
        return False

    def select_demo(self) -> None:
        """Make the demo model (`mma-tiny` · `shapes`) the backbone, listed or not yet."""
        if not self.select(*DEMO_MODEL):
            self._apply(ChoiceEntry(*DEMO_MODEL, "mma-tiny · shapes (demo model)", True, "demo"))

    def _on_activated(self, index: int) -> None:
        entry = self.combo.itemData(index, CHOICE_ROLE)
        if not isinstance(entry, ChoiceEntry):
            return
        if entry.kind == LOCAL_KIND:
            self.choose_local_file()
            return
        self._apply(entry)

    def _apply(self, entry: ChoiceEntry) -> None:
        self._user_chose = True
        self._download_failure = ""
        self._hide_error()
        selection = entry.to_selection()
        if selection != self._state.backbone:
            self._state.set_backbone(selection)  # -> _sync_from_state
        else:
            self._sync_from_state()
        self._save_selection()

    def _sync_from_state(self) -> None:
        current = ChoiceEntry.from_selection(self._state.backbone)
        if not self._select_key(current.key()):
            if self._loaded:
                local_at = next(
                    (
                        i
                        for i in range(self.combo.count())
                        if getattr(self.combo.itemData(i, CHOICE_ROLE), "kind", None) == LOCAL_KIND
                    ),
                    self.combo.count(),
                )
                entries = self.entries()
                position = sum(
                    1 for i in range(local_at) if isinstance(self.combo.itemData(i, CHOICE_ROLE), ChoiceEntry)
                )
                entries.insert(position, current)
                self._fill(entries)
                self._select_key(current.key())
            else:
                self._show_only_current()
        self._update_status()

    # --- local weights file ----------------------------------------------------------------

    def ask_weights_file(self) -> str:
        """The file dialog (a method so tests can replace it)."""
        start = QSettings().value("backbone/lastWeightsFolder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose CLIP Weights File",
            str(start),
            "open_clip weights (*.safetensors *.pt *.pth *.bin);;All files (*)",
        )
        return path

    def ask_architecture(self, weights_path: str) -> str:
        """Which open_clip architecture the weights are for (a guess from the file name first)."""
        if not self._architectures:
            self._architectures = list_architectures() or ["ViT-B-16", "ViT-B-32", "ViT-L-14", "mma-tiny"]
        architectures = self._architectures
        guess = guess_architecture(Path(weights_path).name, architectures)
        current = architectures.index(guess) if guess in architectures else 0
        name, ok = QInputDialog.getItem(
            self,
            "Model Architecture",
            f"Which open_clip model are the weights in\n{Path(weights_path).name}\nfor?",
            architectures,
            current,
            True,
        )
        return name.strip() if ok else ""

    def choose_local_file(self) -> None:
        path = self.ask_weights_file()
        if not path:
            self._sync_from_state()  # the combo went to "Local weights file…": put it back
            return
        QSettings().setValue("backbone/lastWeightsFolder", str(Path(path).parent))
        architecture = self.ask_architecture(path)
        if not architecture:
            self._sync_from_state()
            return
        resolved = str(Path(path).expanduser().resolve())
        remember_local_file(architecture, resolved)
        entry = ChoiceEntry(architecture, f"file:{resolved}", local_file_label(architecture, resolved), True, "file")
        self._apply(entry)

    # --- download --------------------------------------------------------------------------

    def start_download(self) -> None:
        entry = self.current_entry()
        if (
            entry is None
            or entry.kind != "pretrained"
            or entry.downloaded
            or self._download_task is not None
            or self._shut_down
        ):
            return
        self._hide_error()
        task = BackgroundTask(_download_task(entry.model, entry.pretrained, entry.label), self)
        task.progress.connect(self._on_download_progress)
        task.succeeded.connect(lambda _r, e=entry: self._on_downloaded(e))
        task.failed.connect(self._on_download_failed)
        task.cancelled.connect(lambda: self._set_status_note("Download cancelled. It resumes where it stopped."))
        self._download_failure = ""
        task.finished.connect(self._on_download_finished)
        self._download_task = task
        self._progress_row.start(f"Connecting for {entry.label}…")
        self._update_enabled()
        task.start()

    def is_downloading(self) -> bool:
        return self._download_task is not None

    def cancel_download(self) -> None:
        if self._download_task is not None:
            self._download_task.cancel()
            self.cancel_button.setEnabled(False)

    def stop_and_wait(self, timeout_ms: int = 5000) -> bool:
        """Cancel any worker of the chooser and wait for it (used when the window closes).

        Listing cannot be interrupted, but it is a few folder reads: it is always waited for,
        since destroying a running QThread aborts.
        """
        self._shut_down = True
        ok = True
        if self._download_task is not None:
            ok = self._download_task.cancel_and_wait(timeout_ms)
        if self._choices_task is not None:
            self._choices_task.wait(-1)
        return ok

    def _on_download_progress(self, progress) -> None:
        if progress.total:
            scale = 1024 if progress.total > 2**31 - 1 else 1
            self.progress.setRange(0, int(progress.total // scale))
            self.progress.setValue(int(progress.done // scale))
        else:
            self.progress.setRange(0, 0)
        text = progress.message or "Downloading…"
        if progress.eta_s is not None and progress.eta_s > 1:
            text += f" · about {format_duration(progress.eta_s)} left"
        self.progress.setFormat(text)
        entry = self.current_entry()
        label = entry.label if entry is not None else "the model"
        note = text if label in text else f"Downloading {label}: {text}"
        self._state.set_weights_status(missing=True, note=note, downloading=True)

    def _on_downloaded(self, entry: ChoiceEntry) -> None:
        entry.downloaded = True
        self._any_pretrained_cached = True
        for i in range(self.combo.count()):
            if self.combo.itemData(i, CHOICE_ROLE) is entry:
                self.combo.setItemText(i, entry.item_text())
                self.combo.setItemIcon(i, self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton))
                self.combo.setItemData(i, self._tooltip(entry), Qt.ItemDataRole.ToolTipRole)
        self._update_status()
        self.downloadFinished.emit(True)

    def _on_download_failed(self, message: str) -> None:
        self._download_failure = message
        self._show_error(message)
        self._state.set_weights_status(missing=True, note=message)
        self.downloadFinished.emit(False)

    def _on_download_finished(self) -> None:
        if self._download_task is not None:
            self._download_task.deleteLater()
        self._download_task = None
        self._progress_row.setVisible(False)
        self._update_enabled()
        self._update_status()

    # --- status ----------------------------------------------------------------------------

    def _update_enabled(self, *_args) -> None:
        downloading = self._download_task is not None
        busy_elsewhere = self._state.busy  # a scan or a training run: the backbone must not change under it
        self.combo.setEnabled(not downloading and not busy_elsewhere)
        entry = self.current_entry()
        needs_download = entry is not None and entry.kind == "pretrained" and not entry.downloaded
        self.download_button.setVisible(needs_download)
        self.download_button.setEnabled(needs_download and not downloading and not busy_elsewhere)

    def _update_status(self) -> None:
        entry = self.current_entry() or ChoiceEntry.from_selection(self._state.backbone)
        if entry.kind == "demo" and not entry.downloaded:
            text = (
                "<b>The demo weights are missing from this installation.</b> Reinstall MMA Studio, "
                "or choose other weights."
            )
        elif entry.kind == "demo":
            text = (
                "<b>Demo model.</b> A toy CLIP trained on generated shapes; it works offline and suits "
                "the example dataset. It is not a general image model: for your own photos choose pretrained weights."
            )
        elif entry.kind == "random":
            text = "<b>Random weights, for testing only.</b> Nothing is learnt from them: accuracy stays near chance."
        elif entry.kind == "file":
            path, model = escape_markup(entry.pretrained[5:]), escape_markup(entry.model)
            text = f"Local weights file <code>{path}</code> as <b>{model}</b>."
            if not entry.downloaded:
                text = f"<b>The weights file is not found.</b> {text} Choose the file again, or other weights."
        elif not entry.presence_known:
            text = "open_clip weights: they are looked for (and downloaded if needed) when training starts."
        elif entry.downloaded:
            text = "Downloaded: these weights load offline."
        else:
            text = (
                "<b>Not on this computer.</b> Click <b>Download</b> (once; then they load offline), "
                "or <a href='local'>choose a weights file</a>."
            )
            if self._loaded and not self._any_pretrained_cached:
                text += (
                    " No pretrained weights are on this computer yet: without a network, "
                    "<a href='demo'>use the demo model</a>."
                )
        if entry.kind == "pretrained" and entry.note:
            text = f"{escape_markup(entry.note)} {text}"
        if not self._loaded and self._choices_task is not None:
            text += " <i>Looking for other models…</i>"
        self.status.setText(text)
        self._update_enabled()
        self._publish_weights_status(entry)

    def _publish_weights_status(self, entry: ChoiceEntry) -> None:
        """Tell the app whether the chosen weights are on this computer (Train waits for them).

        Known from the start: the catalogue reads the cache folders (a few stat calls), so a
        pretrained choice that is not on this computer never counts as present; a tag the
        catalogue does not list is left to training to check; a chosen weights file is missing
        when it is no longer there."""
        if entry.kind == "pretrained":
            missing = entry.presence_known and not entry.downloaded
        elif entry.kind == "file":
            missing = not Path(entry.pretrained[len("file:") :]).is_file()
        else:
            missing = False
        downloading = self._download_task is not None
        note = self._download_failure if missing and not downloading else ""
        if downloading:
            note = self._state.weights_note if self._state.weights_downloading else f"Downloading {entry.label}…"
        self._state.set_weights_status(missing=missing, note=note, downloading=downloading)

    def _set_status_note(self, note: str) -> None:
        self._update_status()
        self.status.setText(self.status.text() + f" <i>{note}</i>")

    def _on_link(self, link: str) -> None:
        if link == "demo":
            self.select_demo()
        elif link == "local":
            self.choose_local_file()

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_frame.setVisible(True)

    def _hide_error(self) -> None:
        self.error_frame.setVisible(False)

    def error_text(self) -> str:
        return self.error_label.text() if self.error_frame.isVisibleTo(self) else ""

    # --- settings --------------------------------------------------------------------------

    def _save_selection(self) -> None:
        selection = self._state.backbone
        QSettings().setValue(SETTINGS_KEY, [selection.model, selection.pretrained, selection.label])

    def _restore_selection(self) -> None:
        value = QSettings().value(SETTINGS_KEY)
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            return
        model, pretrained, label = (str(v) for v in value)
        if not model or not pretrained:
            return
        if pretrained.startswith("file:") and not Path(pretrained[5:]).is_file():
            return  # the file moved away: keep the default rather than fail later
        selection = BackboneSelection(
            model,
            pretrained,
            label,
            is_random=pretrained == "random" or pretrained.startswith("random:"),
            is_demo=(model, pretrained) == DEMO_MODEL,
        )
        if selection != self._state.backbone:
            self._state.set_backbone(selection)


def guess_architecture(file_name: str, architectures: list[str]) -> str:
    """The longest architecture name found in a weights file name (`ViT-B-16` in `vit_b_16-laion.pt`)."""
    normalized = file_name.lower().replace("_", "-")
    matches = [a for a in architectures if a.lower() in normalized]
    return max(matches, key=len) if matches else ""


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
