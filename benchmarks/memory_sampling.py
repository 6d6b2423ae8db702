"""Resident memory of a process tree (the app and its DataLoader workers), sampled on a thread.

PSS (proportional set size, Linux `smaps_rollup`) counts pages shared with forked workers once
in total rather than once per process, so the figure is what the machine really spends."""

from __future__ import annotations

import os
import threading


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(x) for x in handle.read().split()]
    except OSError:
        pass
    return found


def tree_pss_bytes(pid: int | None = None) -> int:
    """PSS of a process and all its descendants (Linux; 0 elsewhere)."""
    total, stack = 0, [pid or os.getpid()]
    while stack:
        current = stack.pop()
        total += _pss_bytes(current)
        stack += _children(current)
    return total


class PeakSampler:
    """Samples `tree_pss_bytes()` every `interval` seconds on a thread; `.peak` after the block.

    Reading smaps_rollup walks the page tables under the mm lock: sampling a busy process much
    faster than every 100 ms slows it down (a short extraction can afford 20 ms)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_pss_bytes())
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_pss_bytes())
