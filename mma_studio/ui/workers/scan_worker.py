"""Scanning work the Data page runs off the GUI thread: each `*_task` returns a function for
`BackgroundTask` (`fn(on_progress, token) -> ScanResult`) that makes one engine call.

The scans are the engine's: a dataset folder (`scan_dataset`), class folders
(`scan_class_folders`), a class of chosen images (`core.chosen_images`); how their results
combine is `core.scan_merge`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


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
        from mma_studio.core.chosen_images import scan_chosen_images

        return scan_chosen_images(class_name, files, on_progress=on_progress, token=token)

    return run
