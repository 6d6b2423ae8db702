"""Scanning work the Data page runs off the GUI thread, and how added classes join a dataset.

Each `*_task` returns a function for `BackgroundTask` (`fn(on_progress, token) -> ScanResult`).
Loose images dropped onto the page are *referenced*, not copied: they become one class whose
images are exactly those files (nothing is written to the user's disk, and the files stay
where the user keeps them). Merging keeps class ids unique and the skipped-file report whole.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Callable

from mma_studio.core.cancellation import CancelToken, check

ONE_CLASS_WARNING = "Only one class"  # start of the engine's warning for single-class scans


def scan_root_task(root: Path) -> Callable:
    def run(on_progress, token):
        from mma_studio.core.dataset import scan_dataset

        return scan_dataset(root, on_progress=on_progress, token=token)

    return run


def scan_folders_task(folders: list[Path]) -> Callable:
    def run(on_progress, token):
        from mma_studio.core.dataset import scan_class_folders

        return scan_class_folders(list(folders), on_progress=on_progress, token=token)

    return run


def scan_images_task(class_name: str, files: list[Path]) -> Callable:
    def run(on_progress, token):
        return scan_loose_images(class_name, files, on_progress=on_progress, token=token)

    return run


def scan_loose_images(
    class_name: str,
    files: list[Path],
    *,
    on_progress: Callable[[Progress], None] | None = None,
    token: CancelToken | None = None,
):
    """One class named `class_name` whose images are the usable files among `files`.

    The files are decoded with the engine's `load_rgb_image`, like a folder scan, so a broken
    file is skipped with its reason. Raises `DatasetError` when none is usable.
    """
    from mma_studio.core.dataset import VALIDATION_MIN_SIDE, ClassFolder, DatasetError, ScanResult, SkippedFile
    from mma_studio.core.events import Progress
    from mma_studio.core.images import UnusableImageError, load_rgb_image

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


def merge_scans(current, added, *, extend_same_name: bool = False):
    """`current` plus the classes of `added`: a new `ScanResult`, neither input is changed.

    With `extend_same_name` (loose images the user filed under a class name), a class whose
    id exists already gains the new images. Otherwise a clashing *folder* is kept apart as
    `name (2)`, with a warning, as `scan_class_folders` does; the same folder again replaces
    its old entry (a rescan).
    """
    from mma_studio.core.dataset import ScanResult

    classes = {c.name: dataclasses.replace(c, images=list(c.images)) for c in current.classes}
    warnings = [w for w in current.warnings + added.warnings if not w.startswith(ONE_CLASS_WARNING)]
    for folder in added.classes:
        existing = classes.get(folder.name)
        if existing is not None and extend_same_name:
            known = {os.path.realpath(p) for p in existing.images}
            existing.images.extend(p for p in folder.images if os.path.realpath(p) not in known)
            existing.images.sort()
            existing.loose = existing.loose or folder.loose  # a folder plus chosen files: list them all
            continue
        if existing is not None and os.path.realpath(existing.path) == os.path.realpath(folder.path):
            classes[folder.name] = dataclasses.replace(folder, images=list(folder.images))  # a rescan
            continue
        name = folder.name
        n = 2
        while name in classes:
            name = f"{folder.name} ({n})"
            n += 1
        if name != folder.name:
            warnings.append(
                f"Two classes are named {folder.name!r}; {folder.path} is listed as {name!r}. "
                "Rename one so the classes can be told apart."
            )
        classes[name] = dataclasses.replace(folder, name=name, images=list(folder.images))
    merged = sorted(classes.values(), key=lambda c: c.name)
    if len(merged) == 1:
        warnings.append(f"Only one class ({merged[0].name!r}): classification needs at least two classes.")
    parents = {c.path.parent for c in merged}
    root = current.root if current.root is not None and parents == {current.root} else (
        parents.pop() if len(parents) == 1 else None
    )
    seen: set[str] = set()
    skipped = []
    for entry in current.skipped + added.skipped:
        if str(entry.path) not in seen:
            seen.add(str(entry.path))
            skipped.append(entry)
    return ScanResult(
        root=root,
        classes=merged,
        skipped=sorted(skipped, key=lambda s: str(s.path)),
        warnings=warnings,
        empty_folders=list(current.empty_folders) + list(added.empty_folders),
        ignored_files=current.ignored_files + added.ignored_files,
        validated=current.validated and added.validated,
        duplicates=_kept_duplicates(list(current.duplicates) + list(added.duplicates), merged),
    )


def _kept_duplicates(groups, classes) -> list:
    """The duplicate groups whose paths are still among `classes`' images (one group each)."""
    import dataclasses as dc

    present = {(c.name, p) for c in classes for p in c.images}
    kept, seen = [], set()
    for group in groups:
        members = [(p, c) for p, c in zip(group.paths, group.classes) if (c, p) in present]
        key = (group.kind, tuple(members))
        if len(members) > 1 and key not in seen:
            seen.add(key)
            kept.append(dc.replace(group, paths=tuple(p for p, _ in members), classes=tuple(c for _, c in members)))
    return kept


def without_classes(scan, names: set[str]):
    """`scan` without the classes whose ids are in `names` (the user removed them)."""
    from mma_studio.core.dataset import ScanResult

    classes = [c for c in scan.classes if c.name not in names]
    warnings = [w for w in scan.warnings if not w.startswith(ONE_CLASS_WARNING)]
    if len(classes) == 1:
        warnings.append(f"Only one class ({classes[0].name!r}): classification needs at least two classes.")
    removed = [str(c.path) + os.sep for c in scan.classes if c.name in names]
    skipped = [s for s in scan.skipped if not any(str(s.path).startswith(prefix) for prefix in removed)]
    return ScanResult(
        root=scan.root,
        classes=classes,
        skipped=skipped,
        warnings=warnings,
        empty_folders=list(scan.empty_folders),
        ignored_files=scan.ignored_files,
        validated=scan.validated,
        duplicates=_kept_duplicates(scan.duplicates, classes),
    )
