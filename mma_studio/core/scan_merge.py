"""How scans combine when the user adds or removes classes: the Data page's additions (a dataset
folder, class folders, classes of chosen images) and a reopened project's rescan join here.

Each function returns a new `ScanResult` and changes neither input. Class ids stay unique, the
skipped-file report stays whole, and the "only one class" warning is recomputed for the result.
"""

from __future__ import annotations

import dataclasses
import os

from mma_studio.core.dataset import ONE_CLASS_WARNING, ScanResult, one_class_warning


def merge_scans(current: ScanResult, added: ScanResult, *, extend_same_name: bool = False) -> ScanResult:
    """`current` plus the classes of `added`.

    With `extend_same_name` (loose images the user filed under a class name), a class whose
    id exists already gains the new images. Otherwise a clashing *folder* is kept apart as
    `name (2)`, with a warning, as `scan_class_folders` does; the same folder again replaces
    its old entry (a rescan).
    """
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
        warnings.append(one_class_warning(merged[0].name))
    parents = {c.path.parent for c in merged}
    root = (
        current.root
        if current.root is not None and parents == {current.root}
        else (parents.pop() if len(parents) == 1 else None)
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


def without_classes(scan: ScanResult, names: set[str]) -> ScanResult:
    """`scan` without the classes whose ids are in `names` (the user removed them)."""
    classes = [c for c in scan.classes if c.name not in names]
    warnings = [w for w in scan.warnings if not w.startswith(ONE_CLASS_WARNING)]
    if len(classes) == 1:
        warnings.append(one_class_warning(classes[0].name))
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


def _kept_duplicates(groups, classes) -> list:
    """The duplicate groups whose paths are still among `classes`' images (one group each)."""
    present = {(c.name, p) for c in classes for p in c.images}
    kept, seen = [], set()
    for group in groups:
        members = [(p, c) for p, c in zip(group.paths, group.classes) if (c, p) in present]
        key = (group.kind, tuple(members))
        if len(members) > 1 and key not in seen:
            seen.add(key)
            kept.append(
                dataclasses.replace(group, paths=tuple(p for p, _ in members), classes=tuple(c for _, c in members))
            )
    return kept
