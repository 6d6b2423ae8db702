"""Rescanning an opened project's data, in a worker: the engine's `rescan_project_data`."""

from __future__ import annotations

from pathlib import Path


def rescan_project_data_task(root: Path | None, folders: list[Path], class_files: dict[str, list[Path]] | None = None):
    """A `BackgroundTask` function: the project's data scanned again (`core.project_data`)."""

    def run(on_progress, token):
        from mma_studio.core.project_data import rescan_project_data

        return rescan_project_data(root, folders, class_files, on_progress=on_progress, token=token)

    return run
