"""Exclude, move and keep, as undoable steps: the app's side of the project's data fixes.

Pages ask through `AppState.request_data_fix` (the Health view, the Evaluate page's gallery,
the Demo page); this controller, owned by the project controller, turns each request into a
`QUndoCommand` on its `QUndoStack`, so Edit > Undo (Ctrl+Z) takes it back. A command swaps the
whole `DataFixes` value (immutable), which makes undo exact. Nothing on disk is moved or
deleted: the fixes live in the project file and take effect in the split (`core.split`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


class _SetFixes(QUndoCommand):
    def __init__(self, controller: DataFixesController, before, after, text: str) -> None:
        super().__init__(text)
        self._controller, self._before, self._after = controller, before, after

    def redo(self) -> None:
        self._controller._apply(self._after, self.text())

    def undo(self) -> None:
        self._controller._apply(self._before, f"Undone: {self.text()}")


class DataFixesController(QObject):
    statusMessage = Signal(str, int)

    def __init__(self, state, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setObjectName("dataFixesUndoStack")
        state.dataFixRequested.connect(self.handle_request)

    # --- what pages ask for ---------------------------------------------------------------
    def handle_request(self, action: str, target, class_name: str = "") -> bool:
        if action == "exclude":
            return self.exclude(target)
        if action == "move":
            return self.move(target, class_name)
        if action == "keep":
            return self.keep(str(target))
        return False

    def exclude(self, paths) -> bool:
        paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        if not paths or self.state.data.scan is None:
            return False
        what = paths[0].name if len(paths) == 1 else f"{len(paths)} images"
        self._push(self._fixes().exclude(paths), f"Exclude {what} from the project")
        return True

    def move(self, paths, class_name: str) -> bool:
        paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
        scan = self.state.data.scan
        if not paths or scan is None or class_name not in scan.class_names:
            return False
        what = paths[0].name if len(paths) == 1 else f"{len(paths)} images"
        self._push(self._fixes().move(paths, class_name), f"Move {what} to {self.state.display_name(class_name)!r}")
        return True

    def keep(self, key: str) -> bool:
        if not key:
            return False
        self._push(self._fixes().keep(key), "Keep a finding as it is")
        return True

    # --- internals -------------------------------------------------------------------------
    def _fixes(self):
        from mma_studio.core.data_fixes import DataFixes

        return self.state.data.fixes or DataFixes()

    def _push(self, after, text: str) -> None:
        self.undo_stack.push(_SetFixes(self, self.state.data.fixes, after, text))

    def _apply(self, fixes, text: str) -> None:
        from mma_studio.core.data_fixes import fixes_summary

        self.state.set_fixes(fixes)
        summary = fixes_summary(fixes)
        changes = f" The split is drawn again: {summary}." if summary else " The split is as drawn from the folders."
        self.statusMessage.emit(f"{text}.{changes} (Ctrl+Z undoes it)", 8000)

    def reset(self, fixes=None) -> None:
        """A project opened or a new one started: its fixes, and nothing to undo."""
        self.undo_stack.clear()
        self.state.set_fixes(fixes)
