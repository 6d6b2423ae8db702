"""Shared set-up for the Train page tests: a tiny colour dataset, its scan, an AppState and
fast settings, all with the `mma-tiny` random-weights backbone so nothing is downloaded.

Runs stay small (tens of 32x32 images, a few epochs) so each test takes seconds on 2 cores.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.gui_ticks import runqueue_wait_s, split_gap
from tests.image_factory import make_class_dataset

RANDOM_BACKBONE = ("mma-tiny", "random:0", "mma-tiny · random weights (for testing)")


def limit_torch_threads() -> None:
    """One torch thread: the machine is shared, and the GUI thread must get the CPU too."""
    import torch

    torch.set_num_threads(1)


def hold_until_cancelled(page, give_up_at: float) -> None:
    """On the worker thread (in a patched encoder): wait until the Train page's job is cancelled,
    or until `give_up_at` (time.monotonic()), so a click that a loaded machine delays still
    lands while the work it is meant to stop is going on."""
    job = page._job  # set before the worker starts; only read here
    while job is not None and not job.token.cancelled and time.monotonic() < give_up_at:
        time.sleep(0.005)


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


def fast_values(
    epochs: int = 4, shots: int = 2, val_per_class: int = 2, patience: int = 0, batch_size: int = 256
) -> dict:
    """Settings for a short run (patience 0: no early stop, so the epoch count is exact)."""
    return {
        "shots": shots,
        "val_per_class": val_per_class,
        "augment_views": 0,
        "device": "cpu",
        "training": {"epochs": epochs, "patience": patience, "batch_size": batch_size},
    }


def warm_up_engine() -> None:
    """Load the engine, open_clip and the tiny model once, so the timed tests measure the
    run itself and not the first import of open_clip (several seconds on a busy machine)."""
    limit_torch_threads()
    from mma_studio.core.backbone import load_backbone

    model, tag, _ = RANDOM_BACKBONE
    load_backbone(model, tag, device="cpu")


class TickRecorder:
    """A 10 ms timer on the GUI thread; the largest gap between ticks measures how long the
    event loop was kept from running.

    Each tick also records the GUI thread's CPU time and its time spent waiting for a CPU, so
    a gap splits into *working* (our GUI-thread code), *waiting for a CPU* (the OS ran other
    threads or processes: a shared, oversubscribed machine) and *blocked* (the rest: the GIL
    or a lock held by another thread of ours). The first and last are the program's doing."""

    def __init__(self, interval_ms: int = 10) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.ticks: list[tuple[float, float, float]] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.ticks.append((time.perf_counter(), time.thread_time(), runqueue_wait_s()))

    def start(self) -> None:
        self.ticks.clear()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _pairs(self):
        return list(zip(self.ticks, self.ticks[1:]))

    def max_gap_s(self) -> float:
        """The longest wall-clock time between two ticks."""
        gaps = [b[0] - a[0] for a, b in self._pairs()]
        return max(gaps) if gaps else float("inf")

    def max_working_s(self) -> float:
        """The most CPU time the GUI thread itself spent between two ticks: our GUI-thread code,
        whatever else the machine runs."""
        working = [b[1] - a[1] for a, b in self._pairs()]
        return max(working) if working else float("inf")

    def max_own_stall_s(self) -> float:
        """The longest gap less the time the GUI thread waited for a CPU: what the program
        itself (GUI-thread work, GIL held by the worker) kept the event loop from running."""
        stalls = [(b[0] - a[0]) - (b[2] - a[2]) for a, b in self._pairs()]
        return max(stalls) if stalls else float("inf")

    def worst_gap(self) -> dict:
        """The longest gap, split into working / waiting for a CPU / blocked (seconds)."""
        pairs = self._pairs()
        if not pairs:
            return {"gap": float("inf"), "working": 0.0, "waiting_for_cpu": 0.0, "blocked": 0.0}
        return split_gap(*max(pairs, key=lambda pair: pair[1][0] - pair[0][0]))
