"""What the window showed for a project, kept in the project file so a reopened project looks
as the user left it: the page, the Demo's adapter file, its classes and its image.

(The Train page's curves and Result card come back from the project's last run.) Paths are
absolute here; `core.project_store` makes them relative to the project file and back.
"""

from __future__ import annotations

from pathlib import Path

PAGE_COUNT = 4


def capture_window_state(window) -> dict:
    state: dict = {"page": window.sidebar.currentRow()}
    demo = window.demo_page
    if demo is None:
        return state
    model = demo.model
    if model is not None:
        state["demo_source"] = model.source
        if model.source == "file" and model.path is not None:
            state["demo_adapter_file"] = str(model.path)
        state["demo_classes"] = list(demo.class_editor.class_names())
    image = getattr(demo, "image_path", None)
    if image is not None:
        state["demo_image"] = str(image)
    return state


def restore_window_state(window, state: dict, run_task=None) -> None:
    """Show the stored page, and give the Demo back its adapter file, classes and image.

    `run_task` restores the project's last run (a worker, or None): the Demo takes that run's
    adapter when it arrives, so a stored adapter file is loaded after it, not overwritten by it.
    """
    page = state.get("page")
    if isinstance(page, int) and not isinstance(page, bool) and 0 <= page < PAGE_COUNT:
        _show_page_when_enabled(window, page, run_task)
    adapter = _existing_file(state.get("demo_adapter_file"))
    image = _existing_file(state.get("demo_image"))
    classes = state.get("demo_classes")
    classes = [c for c in classes if isinstance(c, str) and c] if isinstance(classes, list) else []
    source = state.get("demo_source")
    if source not in ("run", "file") and image is None:
        return
    demo = window.ensure_demo_page()
    if demo is None:
        return

    def apply_classes() -> bool:
        """The stored class list, once the Demo holds the adapter it was made for."""
        model = demo.model
        if model is None or model.source != source or (source == "file" and model.path != adapter):
            return False
        demo.set_class_names(classes)
        return True

    def load_demo_model(*_args) -> None:
        if source == "file" and adapter is not None:
            demo.load_adapter_file(adapter)
        elif classes and apply_classes():
            return
        if classes:
            _until(demo.modelChanged, apply_classes)

    if source == "file" and adapter is not None and run_task is not None:
        run_task.finished.connect(load_demo_model)
    else:
        load_demo_model()
    if image is not None:
        demo.classify_path(image)


def _show_page_when_enabled(window, page: int, run_task) -> None:
    """The Evaluate page is enabled only once the last run is back (a worker): show it then."""
    from PySide6.QtCore import Qt

    def enabled() -> bool:
        return bool(window.sidebar.item(page).flags() & Qt.ItemFlag.ItemIsEnabled)

    if enabled():
        window.show_page(page)
    elif run_task is not None:
        run_task.finished.connect(lambda: enabled() and window.show_page(page))


def _existing_file(value) -> Path | None:
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    return path if path.is_file() else None


def _until(signal, slot) -> None:
    """Call `slot` on each emission of `signal` until it returns True."""

    def call(*_args) -> None:
        if slot():
            signal.disconnect(call)

    signal.connect(call)
