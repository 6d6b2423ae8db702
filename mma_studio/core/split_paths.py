"""A run's split with every image path converted between absolute (in memory) and relative
to the project file (as written), fast enough for a 20,000-image run on every save.

Qt-free: the app's project controller and any other caller convert through these.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from mma_studio.core import project as project_format

SPLIT_SAMPLE_KEYS = ("train", "val", "test_base", "test_new")


def map_split_paths(split: dict, convert) -> dict:
    """A copy of a stored split (`DatasetSplit.to_dict`) with every sample path converted.

    Nothing is shared with `split` except the rows' class indices (numbers); the sample rows
    are rebuilt rather than deep-copied and then rebuilt again (20,000 rows per run).
    """
    mapped = {}
    for key, value in split.items():
        if key in SPLIT_SAMPLE_KEYS and isinstance(value, list):
            mapped[key] = [
                [convert(row[0]), *row[1:]] if isinstance(row, list) and row else copy.deepcopy(row) for row in value
            ]
        else:
            mapped[key] = copy.deepcopy(value)
    return mapped


# Many paths, few folders: a run's split lists every image (20,000 in a large dataset) in a
# few hundred class folders. Converting each path with os.path.relpath (or Path arithmetic)
# cost most of a second on the GUI thread whenever a run ended or the project was compared or
# written; these converters do the path arithmetic once per folder and append the file name.
# They take the shortcut only where it gives exactly the same string as the per-path
# conversion (POSIX separators, a plain path: no `//`, `.` or `..` components, no trailing
# `/`), and call the per-path conversion for everything else.


def _is_plain_absolute(path: str) -> bool:
    return (
        path.startswith("/")
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
        and not path.endswith(("/", "/.", "/.."))
    )


def portable_paths(project_file: Path):
    """`project_format.relative_to_project(path, project_file)` for many paths, one relpath per folder."""
    project_folder = os.path.abspath(Path(project_file).absolute().parent)
    if os.sep != "/" or project_folder.startswith("//"):  # relpath reads `//a` as `/a`
        return lambda path: project_format.relative_to_project(path, project_file)
    # folder -> (its path relative to the project or None if not plain, the name in it that
    # leads to the project folder: a "file" the project lies in, left to relpath)
    by_folder: dict[str, tuple[str | None, str | None]] = {}

    def folder_entry(head: str) -> tuple[str | None, str | None]:
        folder = head or "/"
        if folder != "/" and not _is_plain_absolute(folder):
            return None, None
        prefix = folder if folder == "/" else folder + "/"
        inside = project_folder[len(prefix) :].split("/", 1)[0] if project_folder.startswith(prefix) else None
        return project_format.relative_to_project(folder, project_file), inside

    def convert(path):
        if not isinstance(path, str):
            return project_format.relative_to_project(path, project_file)
        head, separator, name = path.rpartition("/")
        entry = by_folder.get(head)
        if entry is None:
            entry = by_folder[head] = folder_entry(head)
        relative, inside = entry
        if relative is None or not separator or name == inside or name in ("", ".", ".."):
            return project_format.relative_to_project(path, project_file)
        return name if relative == "." else f"{relative}/{name}"

    return convert


def absolute_paths(folder: Path):
    """`os.path.normpath(folder / stored)` for many stored paths, one normpath per folder."""
    by_folder: dict[str, str] = {}

    def convert(stored):
        if os.sep != "/" or not isinstance(stored, str) or "//" in stored or stored.endswith("/"):
            return os.path.normpath(folder / stored)
        head, separator, name = stored.rpartition("/")
        if name in ("", ".", ".."):
            return os.path.normpath(folder / stored)
        if separator and not head:
            head = "/"
        resolved = by_folder.get(head)
        if resolved is None:
            resolved = by_folder[head] = os.path.normpath(folder / head)
        return os.path.join(resolved, name)

    return convert
