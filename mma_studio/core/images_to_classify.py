"""The images a user names to classify: files as they are, folders as the image files below them.

The one listing of "images below a folder" that every caller shares: `predict` (its
IMAGE_OR_DIR arguments), the Demo page's folder-to-CSV (`core/batch_classify.py`) and the
export's check images (`export --check-images`, `train --check-images`). So all three skip
the same files and word the same failures:

- hidden files and folders (a leading dot) are left out, as a dataset scan leaves them out;
- only the extensions the installed Pillow can open are listed (`core/image_formats.py`);
  a file named on its own is taken as it is (the classifier says why it cannot be read);
- a folder that cannot be listed is named with the reason: the one the user named is an
  error (`ImageListingError`), one further down a warning (`UnlistedFolder`; the rest is
  still classified).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mma_studio.core.images import has_image_extension


class ImageListingError(ValueError):
    """A named file or folder that cannot be classified at all; the message names it."""


@dataclass(frozen=True)
class UnlistedFolder:
    """A sub-folder whose images are left out because it cannot be listed; prints as one line."""

    path: Path
    reason: str  # "permission denied", or the system's words

    def __str__(self) -> str:
        return f"{self.path}: cannot list the folder ({self.reason}); its images are left out"


def images_to_classify(item: Path | str, on_warning: Callable[[UnlistedFolder], None] | None = None) -> list[Path]:
    """`item` itself, or the image files below it (sorted, hidden ones left out).

    `on_warning` gets an `UnlistedFolder` for each sub-folder that cannot be listed."""
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
            on_warning(UnlistedFolder(where, reason))

    for folder, subfolders, files in os.walk(item, onerror=unlistable):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in files:
            path = Path(folder, name)
            if not name.startswith(".") and has_image_extension(path):
                found.append(path)
    return sorted(found)
