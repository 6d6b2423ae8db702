"""The state the pages share: the dataset, the class roles and names, and the chosen backbone.

Pages read it and react to its signals instead of reaching into each other, so the Data page
and the Train page stay independent widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:  # core imports stay lazy so the window appears before torch is imported
    from mma_studio.core.dataset import ScanResult


@dataclass(frozen=True)
class BackboneSelection:
    """What the user picked in the backbone chooser."""

    model: str
    pretrained: str  # an open_clip tag, "shapes", "random", "file:<path>" or "local-dir:<path>"
    label: str = ""
    is_random: bool = False
    is_demo: bool = False


@dataclass
class DataState:
    scan: ScanResult | None = None
    base_classes: list[str] = field(default_factory=list)  # ClassFolder.name values
    new_classes: list[str] = field(default_factory=list)
    display_names: dict[str, str] = field(default_factory=dict)  # user renames, by folder name
    # The project's data fixes (core.data_fixes.DataFixes): images excluded, moved to another
    # class, findings kept. None: none. Training applies them in the split (core).
    fixes: object = None


class AppState(QObject):
    # A new scan replaced the dataset, and with it the roles and names: it is not followed by
    # rolesChanged, so a view of the roles or names listens to both (every page does). Sending
    # both made each page redo its work twice when a scan landed.
    datasetChanged = Signal()
    rolesChanged = Signal()  # base/new split or display names edited within the same dataset
    backboneChanged = Signal()
    busyChanged = Signal(bool)  # long work started/stopped (pages disable conflicting actions)
    sampleNeedsChanged = Signal()  # shots / validation images per base class changed (advice updates)
    fixesChanged = Signal()  # images excluded or moved, or a finding kept (the split changes with them)
    # A page asks for a data fix: ("exclude" | "move" | "keep", paths or a finding key, class id);
    # the project controller applies it as an undoable step.
    dataFixRequested = Signal(str, object, str)
    weightsChanged = Signal()  # whether the chosen backbone's weights are on this computer (or downloading)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data = DataState()
        self.backbone = BackboneSelection("mma-tiny", "shapes", "mma-tiny · shapes (demo model)", is_demo=True)
        self._busy = False
        # The chosen backbone's weights, as the backbone chooser found them (in its worker, from
        # the cache folders): missing weights keep Train disabled until downloaded or replaced.
        self.weights_missing = False
        self.weights_note = ""  # a download's progress, or its failure in plain words
        self.weights_downloading = False
        # Images each base class needs, as the Train page's settings say (the Data page warns
        # about classes below shots + val_per_class). Defaults match RunSettings.
        self.shots = 16
        self.val_per_class = 4
        # Lookups the class table asks for once per cell: built from the scan's classes and the
        # role list, rebuilt when either is replaced (checked by identity, so a page that assigns
        # `data.scan` directly is still seen). A linear search per cell froze the window for
        # seconds when a 1000-class scan landed.
        self._names_source: list | None = None
        self._names_count = -1
        self._scan_display_names: dict[str, str] = {}
        self._new_source: list | None = None
        self._new_count = -1
        self._new_set: frozenset[str] = frozenset()

    def set_scan(self, scan: ScanResult, base: list[str], new: list[str]) -> None:
        self.data = DataState(scan=scan, base_classes=list(base), new_classes=list(new))
        self.datasetChanged.emit()

    def update_scan(self, scan: ScanResult, base: list[str], new: list[str]) -> None:
        """Replace the scan after classes were added or removed, keeping the user's renames."""
        names = set(scan.class_names)
        kept = {name: shown for name, shown in self.data.display_names.items() if name in names}
        self.data = DataState(
            scan=scan, base_classes=list(base), new_classes=list(new), display_names=kept, fixes=self.data.fixes
        )
        self.datasetChanged.emit()

    def clear_scan(self) -> None:
        self.data = DataState()
        self.datasetChanged.emit()

    def set_sample_needs(self, shots: int, val_per_class: int) -> None:
        if (shots, val_per_class) != (self.shots, self.val_per_class):
            self.shots = int(shots)
            self.val_per_class = int(val_per_class)
            self.sampleNeedsChanged.emit()

    def set_roles(self, base: list[str], new: list[str]) -> None:
        self.data.base_classes = list(base)
        self.data.new_classes = list(new)
        self.rolesChanged.emit()

    def set_fixes(self, fixes) -> None:
        self.data.fixes = fixes if fixes else None
        self.fixesChanged.emit()

    def request_data_fix(self, action: str, target, class_name: str = "") -> None:
        """Exclude images, move them to class `class_name`, or keep (dismiss) a finding."""
        self.dataFixRequested.emit(action, target, class_name)

    def fixed_scan(self):
        """The scan as training will see it: the project's exclusions and moves applied."""
        if self.data.scan is None or self.data.fixes is None:
            return self.data.scan
        from mma_studio.core.data_fixes import apply_data_fixes

        return apply_data_fixes(self.data.scan, self.data.fixes)

    def rename_class(self, folder_name: str, display_name: str) -> None:
        self.data.display_names[folder_name] = display_name
        self.rolesChanged.emit()

    def display_name(self, folder_name: str) -> str:
        """The name CLIP reads for a class: the user's rename, else the scan's, else the folder name."""
        renamed = self.data.display_names
        if folder_name in renamed:
            return renamed[folder_name]
        return self._scan_names().get(folder_name, folder_name)

    def is_new_class(self, folder_name: str) -> bool:
        """Whether the class is held out as new (a set lookup, not a search of the role list)."""
        new = self.data.new_classes
        if new is not self._new_source or len(new) != self._new_count:
            self._new_source, self._new_count, self._new_set = new, len(new), frozenset(new)
        return folder_name in self._new_set

    def _scan_names(self) -> dict[str, str]:
        scan = self.data.scan
        classes = scan.classes if scan is not None else None
        if classes is not self._names_source or (classes is not None and len(classes) != self._names_count):
            self._names_source = classes
            self._names_count = len(classes) if classes is not None else -1
            # Reversed, so a duplicated folder name keeps its first class, as a search would.
            self._scan_display_names = {c.name: c.display_name for c in reversed(classes or [])}
        return self._scan_display_names

    def set_backbone(self, selection: BackboneSelection) -> None:
        self.backbone = selection
        self.backboneChanged.emit()

    def set_weights_status(self, *, missing: bool, note: str = "", downloading: bool = False) -> None:
        status = (bool(missing), note, bool(downloading))
        if status != (self.weights_missing, self.weights_note, self.weights_downloading):
            self.weights_missing, self.weights_note, self.weights_downloading = status
            self.weightsChanged.emit()

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
