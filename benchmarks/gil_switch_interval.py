"""The GIL's switch interval against the window's repaints while a worker runs Python.

The GUI thread calls into Python for every cell a table paints (the model's `data()`), and a
worker thread running Python keeps the GIL until the interpreter asks it to switch, every
`sys.getswitchinterval()` seconds. So a repaint with a busy Python worker (a folder scan,
open_clip building a model) waits up to that interval again and again. The app sets the
interval once at start-up (`mma_studio.ui.app.GIL_SWITCH_INTERVAL_S`); this script measures a
200-row table's repaint under one busy worker at Python's default (5 ms, the baseline), at
1 ms (the app's setting before) and at the app's setting, interleaved, and what the shorter
interval costs two Python threads that share the GIL.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

from bench_common import Row, base_parser, cost_row, emit, log

ROWS, COLUMNS = 200, 5


def repaint_times(intervals: list[float], rounds: int, repaints: int) -> dict[float, list[float]]:
    """Milliseconds per repaint of the table's viewport, per interval, with one busy worker."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
    from PySide6.QtWidgets import QApplication, QTableView

    class Model(QAbstractTableModel):
        def rowCount(self, parent=QModelIndex()):  # noqa: N802
            return 0 if parent.isValid() else ROWS

        def columnCount(self, parent=QModelIndex()):  # noqa: N802
            return 0 if parent.isValid() else COLUMNS

        def data(self, index, role=Qt.ItemDataRole.DisplayRole):
            return f"class {index.row()} · {index.column()}" if role == Qt.ItemDataRole.DisplayRole else None

    app = QApplication.instance() or QApplication([])
    view = QTableView()
    view.setModel(Model())
    view.resize(1000, 800)
    view.show()
    for _ in range(20):
        app.processEvents()

    stop = threading.Event()

    def busy() -> None:  # pure Python, as a scan's path handling or a model's construction
        total = 0
        while not stop.is_set():
            for i in range(1000):
                total += i

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    times: dict[float, list[float]] = {interval: [] for interval in intervals}
    saved = sys.getswitchinterval()
    try:
        for _ in range(rounds):  # interleaved: the machine's load changes alike for each setting
            for interval in intervals:
                sys.setswitchinterval(interval)
                for _ in range(repaints):
                    started = time.perf_counter()
                    view.viewport().repaint()
                    times[interval].append((time.perf_counter() - started) * 1000)
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(saved)
        view.close()
    return times


def two_threads_seconds(interval: float, loops: int) -> float:
    """Wall time of two pure-Python threads sharing the GIL (what a shorter interval costs)."""

    def work() -> None:
        total = 0
        for i in range(loops):
            total += i

    saved = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started
    finally:
        sys.setswitchinterval(saved)


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    from mma_studio.ui.app import GIL_SWITCH_INTERVAL_S as ours

    default, before = 0.005, 0.001
    intervals = sorted({default, before, ours}, reverse=True)
    rounds, repaints, loops = (2, 3, 200_000) if args.quick else (8, 10, 10_000_000)
    log(f"repainting a {ROWS}-row table with a busy Python worker, switch intervals {intervals} ...")
    times = repaint_times(intervals, rounds, repaints)
    worst = {interval: max(values) for interval, values in times.items()}
    median = {interval: statistics.median(values) for interval, values in times.items()}
    note = "; ".join(
        f"{interval * 1000:g} ms: median {median[interval]:.1f}, worst {worst[interval]:.1f} ms"
        for interval in intervals
    )
    rows: list[Row] = [
        cost_row(
            f"table repaint with a busy Python worker, worst of {rounds * repaints}: "
            f"switch interval {ours * 1000:g} ms vs Python's default 5 ms",
            worst[ours],
            worst[default],
            "ms",
            note=note,
        ),
        cost_row(
            f"table repaint with a busy Python worker, worst: {ours * 1000:g} ms vs {before * 1000:g} ms",
            worst[ours],
            worst[before],
            "ms",
        ),
    ]
    log("two Python threads sharing the GIL ...")
    shared = {interval: [] for interval in (default, ours)}
    for _ in range(1 if args.quick else 3):
        for interval in shared:
            shared[interval].append(two_threads_seconds(interval, loops))
    rows.append(
        cost_row(
            f"two pure-Python threads sharing the GIL: switch interval {ours * 1000:g} ms vs 5 ms (the cost)",
            statistics.median(shared[ours]),
            statistics.median(shared[default]),
            "s",
        )
    )
    emit(rows, args, "gil_switch_interval")
    return 0


if __name__ == "__main__":
    sys.exit(main())
