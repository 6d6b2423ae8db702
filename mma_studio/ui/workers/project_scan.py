"""Rescanning an opened project's data, in a worker: the engine's scans, merged as the Data page
merges what the user added (a dataset folder, class folders, classes of chosen images)."""

from __future__ import annotations

from pathlib import Path


def rescan_project_data_task(root: Path | None, folders: list[Path], class_files: dict[str, list[Path]] | None = None):
    """Rescan a project's data: the dataset folder, then any class folders added on their own,
    then the classes made of chosen images (only those files, as they were dropped)."""

    def run(on_progress, token):
        from mma_studio.core.dataset import DatasetError, scan_class_folders, scan_dataset
        from mma_studio.ui.workers.scan_worker import merge_scans, scan_loose_images

        scan = scan_dataset(root, on_progress=on_progress, token=token) if root is not None else None
        if folders:
            try:
                extra = scan_class_folders(folders, on_progress=on_progress, token=token)
            except DatasetError:
                extra = None  # none of them is usable any more: the root's classes still are
            if extra is not None:
                scan = merge_scans(scan, extra) if scan is not None else extra
        for name, files in (class_files or {}).items():
            present = [path for path in files if path.is_file()]
            if not present:
                continue
            try:
                chosen = scan_loose_images(name, present, on_progress=on_progress, token=token)
            except DatasetError:
                continue  # none of its files is usable any more
            scan = merge_scans(scan, chosen, extend_same_name=True) if scan is not None else chosen
        return scan

    return run
