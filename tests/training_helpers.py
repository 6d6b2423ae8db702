"""Shared set-up for the Train page tests: a tiny colour dataset, its scan, an AppState and
fast settings, all with the `mma-tiny` random-weights backbone so nothing is downloaded.

Runs stay small (tens of 32x32 images, a few epochs) so each test takes seconds on 2 cores.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.image_factory import make_class_dataset

RANDOM_BACKBONE = ("mma-tiny", "random:0", "mma-tiny · random weights (for testing)")


def limit_torch_threads() -> None:
    """One torch thread: the machine is shared, and the GUI thread must get the CPU too."""
    import torch

    torch.set_num_threads(1)


def scanned_dataset(root: Path, classes: int = 6, per_class: int = 10, sizes: dict[str, int] | None = None):
    """Write a colour-per-class dataset under `root` and return its `ScanResult`."""
    from mma_studio.core.dataset import scan_dataset

    names = sizes if sizes is not None else [f"colour {i:02d}" for i in range(classes)]
    make_class_dataset(root, names, per_class=per_class)
    return scan_dataset(root)


def make_state(scan):
    """An AppState holding `scan` with the default base/new roles and the random backbone."""
    from mma_studio.core.split import default_roles
    from mma_studio.ui.app_state import AppState, BackboneSelection

    state = AppState()
    base, new = default_roles(scan.class_names)
    state.set_scan(scan, base, new)
    model, tag, label = RANDOM_BACKBONE
    state.set_backbone(BackboneSelection(model, tag, label, is_random=True))
    return state


def fast_values(epochs: int = 4, shots: int = 2, val_per_class: int = 2, patience: int = 0, batch_size: int = 256) -> dict:
    """Settings for a short run (patience 0: no early stop, so the epoch count is exact)."""
    return {
        "shots": shots,
        "val_per_class": val_per_class,
        "augment_views": 0,
        "device": "cpu",
        "training": {"epochs": epochs, "patience": patience, "batch_size": batch_size},
    }


def warm_up_engine(root: Path) -> None:
    """Load the engine, open_clip and the tiny model once, so the timed tests measure the
    run itself and not the first import of open_clip (several seconds on a busy machine)."""
    limit_torch_threads()
    from mma_studio.core.backbone import load_backbone

    model, tag, _ = RANDOM_BACKBONE
    load_backbone(model, tag, device="cpu")


class TickRecorder:
    """A 10 ms timer on the GUI thread; the largest gap between ticks measures how long the
    event loop was kept from running."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def start(self) -> None:
        self.ticks.clear()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def max_gap_s(self) -> float:
        gaps = [b - a for a, b in zip(self.ticks, self.ticks[1:])]
        return max(gaps) if gaps else float("inf")
