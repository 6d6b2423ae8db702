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
    scan: "ScanResult | None" = None
    base_classes: list[str] = field(default_factory=list)  # ClassFolder.name values
    new_classes: list[str] = field(default_factory=list)
    display_names: dict[str, str] = field(default_factory=dict)  # user renames, by folder name


class AppState(QObject):
    datasetChanged = Signal()  # a new scan replaced the dataset
    rolesChanged = Signal()  # base/new split or display names edited
    backboneChanged = Signal()
    busyChanged = Signal(bool)  # long work started/stopped (pages disable conflicting actions)
    sampleNeedsChanged = Signal()  # shots / validation images per base class changed (advice updates)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.data = DataState()
        self.backbone = BackboneSelection("mma-tiny", "shapes", "mma-tiny · shapes (demo model)", is_demo=True)
        self._busy = False
        # Images each base class needs, as the Train page's settings say (the Data page warns
        # about classes below shots + val_per_class). Defaults match RunSettings.
        self.shots = 16
        self.val_per_class = 4

    def set_scan(self, scan: "ScanResult", base: list[str], new: list[str]) -> None:
        self.data = DataState(scan=scan, base_classes=list(base), new_classes=list(new))
        self.datasetChanged.emit()
        self.rolesChanged.emit()

    def update_scan(self, scan: "ScanResult", base: list[str], new: list[str]) -> None:
        """Replace the scan after classes were added or removed, keeping the user's renames."""
        kept = {name: shown for name, shown in self.data.display_names.items() if name in set(scan.class_names)}
        self.data = DataState(scan=scan, base_classes=list(base), new_classes=list(new), display_names=kept)
        self.datasetChanged.emit()
        self.rolesChanged.emit()

    def clear_scan(self) -> None:
        self.data = DataState()
        self.datasetChanged.emit()
        self.rolesChanged.emit()

    def set_sample_needs(self, shots: int, val_per_class: int) -> None:
        if (shots, val_per_class) != (self.shots, self.val_per_class):
            self.shots = int(shots)
            self.val_per_class = int(val_per_class)
            self.sampleNeedsChanged.emit()

    def set_roles(self, base: list[str], new: list[str]) -> None:
        self.data.base_classes = list(base)
        self.data.new_classes = list(new)
        self.rolesChanged.emit()

    def rename_class(self, folder_name: str, display_name: str) -> None:
        self.data.display_names[folder_name] = display_name
        self.rolesChanged.emit()

    def display_name(self, folder_name: str) -> str:
        if folder_name in self.data.display_names:
            return self.data.display_names[folder_name]
        scan = self.data.scan
        if scan is not None:
            for folder in scan.classes:
                if folder.name == folder_name:
                    return folder.display_name
        return folder_name

    def set_backbone(self, selection: BackboneSelection) -> None:
        self.backbone = selection
        self.backboneChanged.emit()

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
