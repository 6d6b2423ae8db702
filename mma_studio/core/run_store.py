"""Every finished run's adapter, kept in the user's data folder under a random id, so that a
reopened project shows its results again (Evaluate and Demo pages) without retraining.

A project's run record names its adapter by id, not by path: the project file stays small and
can be moved or saved elsewhere without dragging a folder along. The store keeps the newest
`RUN_STORE_KEEP` adapters (under a megabyte each for ViT-B/16); an older run keeps its figures
and curves in the project, and "Train again" brings the rest back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Container
from pathlib import Path

RUN_STORE_KEEP = 50
SUFFIX = ".safetensors"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def new_run_id() -> str:
    return uuid.uuid4().hex


def is_run_id(value) -> bool:
    """A run id is 32 lowercase hex digits: never a path, so a project file cannot point elsewhere."""
    return isinstance(value, str) and bool(_RUN_ID.match(value))


def default_run_store_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("MMA Studio", "MMA Studio") / "runs"


class RunStore:
    def __init__(self, folder: Path | str | None = None, keep: int = RUN_STORE_KEEP) -> None:
        self.folder = Path(folder) if folder is not None else default_run_store_dir()
        self.keep = keep

    def path(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.folder / f"{run_id}{SUFFIX}"

    def has(self, run_id) -> bool:
        return is_run_id(run_id) and self.path(run_id).is_file()

    def save(self, run, run_id: str) -> Path:
        """Write the run's adapter file (atomically), then drop the oldest beyond `keep`."""
        from mma_studio.core.adapter_file import (
            save_adapter_file,  # torch: not at import time
        )

        self.folder.mkdir(parents=True, exist_ok=True)
        path = save_adapter_file(self.path(run_id), run.to_adapter_file())
        self.prune(protect={run_id})
        return path

    def stored(self) -> list[Path]:
        """The kept adapter files, newest first."""
        try:
            found = [p for p in self.folder.iterdir() if p.suffix == SUFFIX and is_run_id(p.stem)]
        except OSError:
            return []
        return sorted(found, key=_mtime, reverse=True)

    def size(self) -> tuple[int, int]:
        """(runs kept, bytes they take)."""
        files = self.stored()
        total = 0
        for path in files:
            try:
                total += path.stat().st_size
            except OSError:
                pass
        return len(files), total

    def clear(self) -> int:
        """Remove every kept adapter (the projects keep their figures and curves); how many went."""
        removed = 0
        for path in self.stored():
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed

    def prune(self, protect: Container[str] = frozenset()) -> list[Path]:
        """Remove the oldest stored adapters beyond `keep` (never one in `protect`)."""
        removed = []
        for path in self.stored()[self.keep :]:
            if path.stem in protect:
                continue
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass  # in use or already gone: tried again after the next run
        return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
