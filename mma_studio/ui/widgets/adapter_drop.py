"""Dropping an adapter file anywhere on the window opens it in the Demo page.

Its own module (not the Demo page's) so the main window can take drops before the Demo page
is built: that page is built just after the first frame, to keep start-up short. The Data
page's drop zone ignores an adapter drag, so it reaches the main window's own drag handlers
(Qt offers an ignored drag to the parents). An event filter did this before, but a Python
filter on the main window is entered for every event the window gets (each paint of it),
and each entry waits for the GIL while a worker runs: tens of milliseconds per frame during
a scan (issue 12 §6).
"""

from __future__ import annotations

from pathlib import Path

ADAPTER_SUFFIX = ".safetensors"


def is_adapter_path(path: Path) -> bool:
    return path.suffix.lower() == ADAPTER_SUFFIX and not path.is_dir()


def local_paths(mime) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def dropped_adapter_path(mime) -> Path | None:
    """The adapter file being dragged, if the drag holds exactly one (else None)."""
    paths = local_paths(mime)
    return paths[0] if len(paths) == 1 and is_adapter_path(paths[0]) else None
