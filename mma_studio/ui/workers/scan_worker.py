"""Scanning work the Data page runs off the GUI thread: each `*_task` returns a function for
`BackgroundTask` (`fn(on_progress, token) -> ScanResult`) that makes one engine call.

The scans are the engine's: a dataset folder (`scan_dataset`), class folders
(`scan_class_folders`), a class of chosen images (`core.chosen_images`); how their results
combine is `core.scan_merge`. A scan that finds nothing usable raises `DatasetError`;
`catching_dataset_errors` hands it back as a `ScanFailure` result instead, so the page can
still show the partial scan's report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def example_dataset_task(destination: Path, per_class: int, seed: int) -> Callable:
    """Try an Example: the shapes dataset in `destination` (an identical one is reused), scanned."""

    def run(on_progress, token):
        from mma_studio.core.dataset import scan_dataset
        from mma_studio.toy.example_dataset import ensure_example_dataset

        ensure_example_dataset(destination, per_class=per_class, seed=seed, on_progress=on_progress, token=token)
        return scan_dataset(destination, on_progress=on_progress, token=token)

    return run


@dataclass
class ScanFailure:
    """A scan that found nothing usable: the message, and the partial scan if any (for its report)."""

    message: str
    scan: object | None = None


def catching_dataset_errors(fn: Callable) -> Callable:
    def run(on_progress, token):
        from mma_studio.core.dataset import DatasetError

        try:
            return fn(on_progress, token)
        except DatasetError as exc:
            return ScanFailure(str(exc), exc.scan)

    return run
