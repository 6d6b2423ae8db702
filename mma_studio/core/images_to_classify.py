"""The images a user names to classify: files as they are, folders as the image files below them.

A folder that cannot be listed is named with the reason: the one the user named is an error
(`ImageListingError`), one further down a warning (the rest is still classified). Hidden
files and folders are left out, as a dataset scan leaves them out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from mma_studio.core.images import has_image_extension


class ImageListingError(Exception):
    """A named file or folder that cannot be classified at all; the message names it."""


def images_to_classify(item: Path, on_warning: Callable[[str], None] | None = None) -> list[Path]:
    """`item` itself, or the image files below it (sorted, hidden ones left out).

    `on_warning` gets a line for each sub-folder that cannot be listed (its images are left out)."""
    item = Path(item)
    if not item.is_dir():
        if not os.path.lexists(item):
            raise ImageListingError(f"{item}: no such file or folder")
        return [item]
    found: list[Path] = []

    def unlistable(error: OSError) -> None:
        where = Path(error.filename) if error.filename else item
        reason = "permission denied" if isinstance(error, PermissionError) else (error.strerror or str(error))
        if where == item:
            raise ImageListingError(f"{item}: cannot list the folder ({reason})")
        if on_warning is not None:
            on_warning(f"{where}: cannot list the folder ({reason}); its images are left out")

    for folder, subfolders, files in os.walk(item, onerror=unlistable):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in files:
            path = Path(folder, name)
            if not name.startswith(".") and has_image_extension(path):
                found.append(path)
    return sorted(found)
