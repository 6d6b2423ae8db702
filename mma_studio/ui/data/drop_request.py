"""What a user meant by dropping some paths: a dataset, some class folders, or loose images.

Kept free of Qt widgets so the rules are easy to read and test:

- one folder that has sub-folders: a dataset root (each sub-folder is a class);
- one folder of images without sub-folders, or several folders: class folders;
- image files only: loose images that become one class, whose name the user gives;
- anything else is refused with a sentence saying what to drop instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = "root"
CLASS_FOLDERS = "class_folders"
IMAGES = "images"


@dataclass(frozen=True)
class DropRequest:
    kind: str  # ROOT, CLASS_FOLDERS or IMAGES
    paths: tuple[Path, ...]

    def describe(self) -> str:
        if self.kind == ROOT:
            return f"dataset folder {self.paths[0].name}"
        if self.kind == CLASS_FOLDERS:
            return f"{len(self.paths)} class folder{'s' if len(self.paths) != 1 else ''}"
        return f"{len(self.paths)} image{'s' if len(self.paths) != 1 else ''}"


class DropRefused(ValueError):
    """The dropped paths are not something the Data page can use; the message says why."""


def _has_subfolder(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and entry.is_dir():
                    return True
    except OSError as exc:
        raise DropRefused(f"Cannot open {folder}: {exc.strerror or exc}") from exc
    return False


def classify_drop(paths: list[Path] | tuple[Path, ...]) -> DropRequest:
    """Turn dropped local paths into a `DropRequest`, or raise `DropRefused`."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise DropRefused("Nothing was dropped. Drop folders of images or image files.")
    folders = [p for p in paths if p.is_dir()]
    files = [p for p in paths if p.is_file()]
    if folders and files:
        raise DropRefused(
            "Drop either folders or image files, not both at once: "
            "folders become classes, loose images become one new class."
        )
    if len(folders) == 1:
        folder = folders[0]
        return DropRequest(ROOT if _has_subfolder(folder) else CLASS_FOLDERS, (folder,))
    if folders:
        return DropRequest(CLASS_FOLDERS, tuple(folders))
    from mma_studio.core.images import has_image_extension  # imports Pillow: not at start-up

    images = [p for p in files if has_image_extension(p)]
    if not images:
        raise DropRefused(
            "None of the dropped files is an image (JPEG, PNG, BMP, GIF, WebP or TIFF). "
            "Drop a folder with one sub-folder per class, or image files."
        )
    return DropRequest(IMAGES, tuple(images))
