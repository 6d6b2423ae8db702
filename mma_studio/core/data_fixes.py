"""The user's fixes to the data, kept in the project: images excluded, images moved to
another class, findings kept as they are. Never destructive: no file is moved or deleted.

`apply_data_fixes` is the one place they take effect: `make_split` (and so every run, the
CLI's and the app's) builds its samples from the fixed scan, and the Data page counts from it.
Paths are matched by their real folder plus file name, so a project reopened through a
symlinked or relative path still finds its fixes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class DataFixes:
    excluded: frozenset[str] = frozenset()  # absolute paths of images left out of the project
    moved: Mapping[str, str] = field(default_factory=dict)  # absolute path -> class id it belongs to
    kept: frozenset[str] = frozenset()  # keys of findings the user dismissed (`Finding.key`)

    def __bool__(self) -> bool:
        return bool(self.excluded or self.moved or self.kept)

    @property
    def changes_data(self) -> bool:
        return bool(self.excluded or self.moved)

    def exclude(self, paths: Iterable[Path | str]) -> DataFixes:
        added = {str(p) for p in paths}
        moved = {p: c for p, c in self.moved.items() if p not in added}
        return dataclasses.replace(self, excluded=self.excluded | added, moved=moved)

    def move(self, paths: Iterable[Path | str], class_name: str) -> DataFixes:
        names = [str(p) for p in paths]
        moved = dict(self.moved)
        moved.update(dict.fromkeys(names, class_name))
        return dataclasses.replace(self, moved=moved, excluded=self.excluded - set(names))

    def keep(self, key: str) -> DataFixes:
        return dataclasses.replace(self, kept=self.kept | {key})

    def to_dict(self, relative=None) -> dict:
        """JSON-ready; `relative(path) -> str` makes paths portable (the project's folder)."""
        convert = relative or str
        return {
            "excluded": sorted(convert(p) for p in self.excluded),
            "moved": {convert(p): c for p, c in sorted(self.moved.items())},
            "kept": sorted(self.kept),
        }

    @classmethod
    def from_dict(cls, data: dict | None, absolute=None) -> DataFixes:
        """From `to_dict`; `absolute(stored) -> str` resolves portable paths. Raises TypeError
        for a damaged entry (the project loader reports it)."""
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise TypeError("data_fixes should be an object")
        convert = absolute or str
        excluded, moved, kept = data.get("excluded", []), data.get("moved", {}), data.get("kept", [])
        if not isinstance(excluded, list) or not all(isinstance(p, str) for p in excluded):
            raise TypeError("data_fixes.excluded should be a list of files")
        if not isinstance(moved, dict) or not all(isinstance(p, str) and isinstance(c, str) for p, c in moved.items()):
            raise TypeError("data_fixes.moved should map files to class names")
        if not isinstance(kept, list) or not all(isinstance(k, str) for k in kept):
            raise TypeError("data_fixes.kept should be a list of findings")
        return cls(
            frozenset(str(convert(p)) for p in excluded),
            {str(convert(p)): c for p, c in moved.items()},
            frozenset(kept),
        )


class _PathMatcher:
    """Compares paths by (real folder, file name): one realpath per folder, not per file."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}

    def key(self, path: Path | str) -> str:
        head, name = os.path.split(os.path.abspath(str(path)))
        real = self._folders.get(head)
        if real is None:
            real = self._folders[head] = os.path.realpath(head)
        return os.path.join(real, name)


def apply_data_fixes(scan, fixes: DataFixes | None):
    """`scan` with excluded images removed and moved images filed under their new class (an
    image from outside the dataset is added to its class).

    A new `ScanResult`; `scan` is unchanged. A move to a class the scan does not have leaves
    the image where it was. A class left without images stays, empty: the split then says so.
    """
    if fixes is None or not fixes.changes_data:
        return scan
    matcher = _PathMatcher()
    excluded = {matcher.key(p) for p in fixes.excluded}
    moved = {matcher.key(p): c for p, c in fixes.moved.items()}
    known = set(scan.class_names)
    images: dict[str, list[Path]] = {c.name: [] for c in scan.classes}
    seen: set[str] = set()
    for folder in scan.classes:
        for path in folder.images:
            key = matcher.key(path)
            seen.add(key)
            if key in excluded:
                continue
            target = moved.get(key, folder.name)
            images[target if target in known else folder.name].append(path)
    # An image from outside the dataset filed under a class (the Demo page's "Add to Class"):
    # it joins that class while the file exists.
    for stored, target in fixes.moved.items():
        key = matcher.key(stored)
        if key not in seen and key not in excluded and target in known and os.path.isfile(stored):
            seen.add(key)
            images[target].append(Path(stored))
    classes = [dataclasses.replace(c, images=sorted(images[c.name])) for c in scan.classes]
    return dataclasses.replace(scan, classes=classes)


def fixes_summary(fixes: DataFixes | None) -> str:
    """'2 images excluded, 1 moved to another class' (empty when nothing changes the data)."""
    if fixes is None:
        return ""
    parts = []
    if fixes.excluded:
        parts.append(f"{len(fixes.excluded)} image{'s' if len(fixes.excluded) != 1 else ''} excluded")
    if fixes.moved:
        parts.append(f"{len(fixes.moved)} moved to another class")
    return ", ".join(parts)
