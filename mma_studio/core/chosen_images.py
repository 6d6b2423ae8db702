"""A class made of images the user chose one by one (dropped files, not a folder).

The files are *referenced*, not copied: the class's images are exactly those files, where the
user keeps them, and nothing is written to the user's disk. They are checked as a folder scan
checks its images (decoded with `load_rgb_image`), so a broken file is skipped with its reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.dataset import VALIDATION_MIN_SIDE, ClassFolder, DatasetError, ScanResult, SkippedFile
from mma_studio.core.events import Progress
from mma_studio.core.images import UnusableImageError, load_rgb_image


def scan_chosen_images(
    class_name: str,
    files: list[Path],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    token: CancelToken | None = None,
) -> ScanResult:
    """One class named `class_name` whose images are the usable files among `files`.

    The same file named twice (or through a link) counts once. Raises `DatasetError` when none
    is usable; its `scan` lists what was skipped and why.
    """
    unique: dict[str, Path] = {}
    for path in files:
        unique.setdefault(os.path.realpath(path), Path(path))
    paths = sorted(unique.values())
    usable: list[Path] = []
    skipped: list[SkippedFile] = []
    start = time.perf_counter()
    for done, path in enumerate(paths, start=1):
        check(token)
        try:
            load_rgb_image(path, min_side=VALIDATION_MIN_SIDE)  # checked as a folder scan checks
        except UnusableImageError as exc:
            skipped.append(SkippedFile(path, exc.reason))
        else:
            usable.append(path)
        if on_progress is not None:
            elapsed = time.perf_counter() - start
            rate = done / elapsed if elapsed > 0 else None
            eta = (len(paths) - done) / rate if rate else None
            on_progress(Progress("scan", done, len(paths), rate, eta, "checking images"))
    parents = {p.parent for p in paths}
    folder = parents.pop() if len(parents) == 1 else Path(os.path.commonpath([str(p) for p in paths]))
    classes = [ClassFolder(class_name, class_name, folder, usable, loose=True)] if usable else []
    result = ScanResult(root=None, classes=classes, skipped=skipped, warnings=[])
    if not usable:
        raise DatasetError(f"none of the {len(paths)} dropped images can be used", scan=result)
    return result
