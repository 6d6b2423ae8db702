"""Issue 7, item 5: load — 20,000 generated images in 200 classes, scanned, extracted with
`mma-tiny`, trained, without exhausting memory or freezing the window.

Phases, each timed:
1. Engine (what `mma-studio train` does): scan with every image decoded, then
   `train_adapter` with `mma-tiny` random weights into an empty feature cache (extraction,
   training on 100 base classes x 16 shots, evaluation on every other image). Memory: peak
   proportional set size (PSS) of the process and its DataLoader workers, sampled every 100 ms,
   minus the level after the imports; plus the process's own peak RSS (ru_maxrss).
2. App (`--gui`): the real `MainWindow` offscreen. The folder is dropped on `dataDropZone`
   (a real drop event), scanned in the worker, its 200 classes scrolled through in the class
   table (thumbnails decode lazily off the GUI thread), then trained from an empty cache in the
   Train page's worker. A 10 ms timer on the GUI thread measures, in each stage, the largest
   gap between ticks (how long a click would have waited) and the most CPU time the GUI
   thread itself spent between two ticks (the part our code is responsible for; on a shared,
   oversubscribed machine the rest of a gap is other processes running).

Prints figures (`--json`: one JSON row each). `--data FOLDER` reuses a generated dataset;
`--keep` keeps the one generated here. `tests/test_load.py` runs the phases on a scaled-down
dataset in the normal suite and this script at full size when MMA_STUDIO_LOAD_TEST=1.
"""

from __future__ import annotations

import colorsys
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_common import Row, apply_threads, base_parser, emit, log  # noqa: E402
from gui_ticks import runqueue_wait_s, split_gap  # noqa: E402
from memory_sampling import PeakSampler, tree_pss_bytes  # noqa: E402

GiB = 2**30
MEMORY_LIMIT = 1.5 * GiB  # peak rise over the loaded engine for 20,000 images
GUI_GAP_LIMIT_S = 0.25  # largest GUI-thread stall while the app scans, scrolls and trains


# --------------------------------------------------------------------------- data


def class_color(index: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((index * 0.6180339887) % 1.0, 0.75, 0.9 if index % 2 else 0.65)
    return int(r * 255), int(g * 255), int(b * 255)


def generate_dataset(folder: Path, images: int, classes: int, size: tuple[int, int] = (128, 96), seed: int = 0) -> Path:
    """`images` JPEGs in `classes` folders (`species 000`, ...): a class tint over a smooth
    gradient plus noise, so classes are learnable and no two files are alike."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    width, height = size
    ramp = (
        np.linspace(-40, 40, width, dtype=np.float32)[None, :, None]
        + np.linspace(-25, 25, height, dtype=np.float32)[:, None, None]
    )
    noise_bank = [rng.normal(0, 10, (height, width, 3)).astype(np.float32) for _ in range(8)]
    for index in range(images):
        klass = index % classes
        target = folder / f"species {klass:03d}"
        if index < classes:
            target.mkdir(parents=True, exist_ok=True)
        pixels = np.asarray(class_color(klass), np.float32) + ramp * rng.uniform(-1, 1) + noise_bank[index % 8]
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(target / f"img_{index:06d}.jpg", quality=85)
    return folder


# --------------------------------------------------------------------------- memory


def max_rss_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


class StageClock:
    """Records when each progress stage was first seen (extract, train, evaluate)."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}

    def __call__(self, progress) -> None:
        self.first.setdefault(progress.stage, time.perf_counter())


# --------------------------------------------------------------------------- phase 1: engine


def engine_phase(root: Path, cache_dir: Path, *, epochs: int = 30, shots: int = 16, val_per_class: int = 4) -> dict:
    """Scan, then train_adapter (extract into an empty cache, train, evaluate); figures."""
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings, train_adapter
    from mma_studio.core.training import TrainConfig

    backbone = load_backbone("mma-tiny", "random", device="cpu")
    gc.collect()
    before = tree_pss_bytes()
    with PeakSampler() as sampler:
        started = time.perf_counter()
        scan = scan_dataset(root)
        scanned = time.perf_counter()
        settings = RunSettings(
            model="mma-tiny",
            pretrained="random",
            device="cpu",
            shots=shots,
            val_per_class=val_per_class,
            training=TrainConfig(epochs=epochs, patience=0),
        )
        clock = StageClock()
        run = train_adapter(scan, settings, backbone=backbone, cache=FeatureCache(cache_dir), on_progress=clock)
        ended = time.perf_counter()
    extract_start = clock.first.get("extract", scanned)
    train_start = clock.first.get("train", ended)
    evaluate_start = clock.first.get("evaluate", ended)
    counts = run.split.counts()
    return {
        "images": scan.image_count,
        "classes": len(scan.classes),
        "skipped": len(scan.skipped),
        "scan_s": scanned - started,
        "extract_s": train_start - extract_start,
        "extracted": sum(counts.values()),
        "train_s": evaluate_start - train_start,
        "epochs_run": len(run.history),
        "evaluate_s": ended - evaluate_start,
        "total_s": ended - started,
        "failed": len(run.failed_images),
        "counts": counts,
        "adapted": run.adapted.headline(),
        "zero_shot": run.zero_shot.headline(),
        "pss_before": before,
        "pss_peak": sampler.peak,
        "pss_rise": max(0, sampler.peak - before),
        "max_rss": max_rss_bytes(),
    }


# --------------------------------------------------------------------------- phase 2: the app


class TickRecorder:
    """A 10 ms PreciseTimer on the GUI thread; gaps between ticks are GUI stalls.

    Each tick also records the GUI thread's CPU time and its time waiting for a CPU, so the
    longest gap splits into: *working* (GUI-thread CPU: our code blocking the event loop),
    *waiting for a CPU* (the OS ran other threads or processes: an oversubscribed machine),
    and *blocked* (the rest: the GIL or a lock held by another thread of ours)."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.ticks: list[tuple[float, float, float]] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(
            lambda: self.ticks.append((time.perf_counter(), time.thread_time(), runqueue_wait_s()))
        )

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _pairs(self, start: float, end: float):
        ticks = [t for t in self.ticks if start <= t[0] <= end]
        return list(zip(ticks, ticks[1:]))

    def max_gap(self, start: float = 0.0, end: float = float("inf")) -> float:
        """The longest wall-clock time between two ticks."""
        gaps = [b[0] - a[0] for a, b in self._pairs(start, end)]
        return max(gaps) if gaps else float("nan")

    def max_busy(self, start: float = 0.0, end: float = float("inf")) -> float:
        """The most CPU time the GUI thread spent between two ticks (its own blocking work)."""
        busy = [b[1] - a[1] for a, b in self._pairs(start, end)]
        return max(busy) if busy else float("nan")

    def worst_gap(self, start: float = 0.0, end: float = float("inf")) -> dict:
        """The longest gap, split into working / waiting for a CPU / blocked (seconds)."""
        pairs = self._pairs(start, end)
        if not pairs:
            return dict.fromkeys(("gap", "working", "waiting_for_cpu", "blocked"), float("nan"))
        return split_gap(*max(pairs, key=lambda pair: pair[1][0] - pair[0][0]))


def run_event_loop(until, timeout_s: float, what: str) -> None:
    """Run the Qt event loop until `until()` holds (checked every 10 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    poll = QTimer()
    poll.setInterval(10)
    poll.timeout.connect(lambda: (until() or time.monotonic() > deadline) and loop.quit())
    poll.start()
    if not until():
        loop.exec()
    poll.stop()
    if not until():
        raise TimeoutError(f"{what} did not finish within {timeout_s:.0f} s")


def drop_folder(widget, folder: Path) -> None:
    """A real drag-enter and drop of `folder` onto `widget`, as a file manager sends them."""
    import warnings

    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        QApplication.sendEvent(widget, QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, buttons, modifiers))
    QApplication.sendEvent(widget, QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, buttons, modifiers))


def gui_phase(
    root: Path, cache_dir: Path, *, epochs: int = 30, shots: int = 16, val_per_class: int = 4, timeout_s: float = 1800.0
) -> dict:
    """Drop, scan, scroll the class table, train — in the real window; GUI stalls per stage.

    Needs a QApplication (offscreen is fine) and QSettings pointed somewhere disposable."""
    from PySide6.QtWidgets import QApplication, QTableView, QWidget

    from mma_studio.ui.app_state import BackboneSelection
    from mma_studio.ui.main_window import MainWindow

    app = QApplication.instance()
    window = MainWindow()
    window.resize(1280, 860)
    window.show()
    page, train_page = window.data_page, window.train_page
    train_page.cache_dir = cache_dir
    recorder = TickRecorder()
    recorder.start()
    figures: dict = {}
    try:
        run_event_loop(lambda: window.isVisible(), 10, "showing the window")
        zone = window.findChild(QWidget, "dataDropZone")
        started = time.perf_counter()
        drop_folder(zone, root)
        run_event_loop(lambda: page.is_busy(), 10, "starting the scan")
        run_event_loop(lambda: not page.is_busy(), timeout_s, "the scan")
        scanned = time.perf_counter()
        scan = window.state.data.scan
        table = window.findChild(QTableView, "classTable")
        model = table.model()
        figures.update(
            scan_s=scanned - started,
            scan_gap_s=recorder.max_gap(started, scanned),
            scan_busy_s=recorder.max_busy(started, scanned),
            scan_worst=recorder.worst_gap(started, scanned),
            images=scan.image_count if scan else 0,
            table_rows=model.rowCount(),
            error=page.error_text(),
        )

        # Scroll the table from top to bottom, a screenful at a time, as a user dragging the bar.
        loader = page.thumbnails
        scroll_started = time.perf_counter()
        slowest_step = slowest_step_cpu = 0.0
        for row in range(0, model.rowCount(), 5):
            step, step_cpu = time.perf_counter(), time.thread_time()
            table.scrollTo(model.index(row, 0))
            table.viewport().repaint()
            app.processEvents()
            slowest_step = max(slowest_step, time.perf_counter() - step)
            slowest_step_cpu = max(slowest_step_cpu, time.thread_time() - step_cpu)
        table.scrollToTop()
        run_event_loop(lambda: loader.wait_for_idle(0), 120, "the thumbnails")
        scrolled = time.perf_counter()
        figures.update(
            scroll_s=scrolled - scroll_started,
            scroll_step_max_s=slowest_step,
            scroll_step_busy_s=slowest_step_cpu,
            scroll_gap_s=recorder.max_gap(scroll_started, scrolled),
            thumbnails=loader.cached_count,
        )

        window.state.set_backbone(
            BackboneSelection("mma-tiny", "random:0", "mma-tiny · random weights", is_random=True)
        )
        window.sidebar.setCurrentRow(1)
        train_page.settings.ensure_loaded()
        train_page.settings.set_values(
            {
                "shots": shots,
                "val_per_class": val_per_class,
                "augment_views": 0,
                "device": "cpu",
                "training": {"epochs": epochs, "patience": 0},
            }
        )
        clock = StageClock()
        show = train_page.progress.show_progress

        def record(progress) -> None:
            clock(progress)
            show(progress)

        train_page.progress.show_progress = record
        train_started = time.perf_counter()
        if not train_page.start_training():
            raise RuntimeError(f"the Train page did not start: {train_page.error_banner.label.text()}")
        run_event_loop(lambda: not train_page.is_training(), timeout_s, "training in the app")
        ended = time.perf_counter()
        run = train_page.last_run
        figures.update(
            train_total_s=ended - train_started,
            extract_s=clock.first.get("train", ended) - clock.first.get("extract", train_started),
            train_gap_s=recorder.max_gap(train_started, ended),
            train_busy_s=recorder.max_busy(train_started, ended),
            train_worst=recorder.worst_gap(train_started, ended),
            trained=run is not None,
            train_error=train_page.last_error,
            epochs_run=len(run.history) if run is not None else 0,
        )
        figures["max_gap_s"] = recorder.max_gap()
    finally:
        recorder.stop()
        train_page.request_stop_and_wait(10_000)
        page.stop_and_wait(10_000)
        window.close()
        window.deleteLater()
        app.processEvents()
    return figures


# --------------------------------------------------------------------------- report


def describe_gap(worst: dict) -> str:
    return (
        f"{worst['gap'] * 1000:.0f} ms = {worst['working'] * 1000:.0f} working + "
        f"{worst['waiting_for_cpu'] * 1000:.0f} waiting for a CPU + {worst['blocked'] * 1000:.0f} blocked (GIL/locks)"
    )


def rows_from(engine: dict | None, gui: dict | None, images: int, classes: int) -> list[Row]:
    rows: list[Row] = []

    def row(figure, value, unit, target="", met=None, note=""):
        rows.append(Row(figure, value, None, unit, None, target, met, note))

    if engine is not None:
        complete = engine["images"] == images and engine["classes"] == classes and engine["failed"] == 0
        row(
            "engine: images scanned usable",
            engine["images"],
            "",
            f"= {images}",
            complete,
            f"{engine['classes']} classes, {engine['skipped']} skipped",
        )
        row(
            "engine: scan time (every image decoded)",
            engine["scan_s"],
            "s",
            note=f"{engine['images'] / engine['scan_s']:.0f} images/s",
        )
        row(
            "engine: extraction time (mma-tiny, empty cache)",
            engine["extract_s"],
            "s",
            note=f"{engine['extracted'] / max(engine['extract_s'], 1e-9):.0f} images/s",
        )
        row(
            "engine: training time",
            engine["train_s"],
            "s",
            note=f"{engine['epochs_run']} epochs, counts {engine['counts']}",
        )
        row(
            "engine: evaluation time",
            engine["evaluate_s"],
            "s",
            note=f"adapted {engine['adapted']}, zero-shot {engine['zero_shot']}",
        )
        row(
            "engine: peak memory rise (PSS, with workers)",
            engine["pss_rise"],
            "B",
            f"< {MEMORY_LIMIT / GiB:g} GiB",
            engine["pss_rise"] < MEMORY_LIMIT,
            f"from {engine['pss_before'] / 2**20:.0f} MiB after imports",
        )
        row("engine: peak RSS of the process", engine["max_rss"], "B")
    if gui is not None:
        limit = f"< {GUI_GAP_LIMIT_S * 1000:.0f} ms"
        row(
            "app: images in the dropped dataset",
            gui["images"],
            "",
            f"= {images}",
            gui["images"] == images and gui["table_rows"] == classes and not gui["error"],
            f"{gui['table_rows']} table rows",
        )
        row("app: scan time (worker)", gui["scan_s"], "s")
        # The targets hold the GUI thread's own work between two ticks (what our code blocks);
        # the wall-clock gaps, which add the time the OS ran other processes, are reported too.
        row(
            "app: GUI-thread work between ticks while scanning",
            gui["scan_busy_s"],
            "s",
            limit,
            gui["scan_busy_s"] < GUI_GAP_LIMIT_S,
            f"wall-clock max tick gap {describe_gap(gui['scan_worst'])}",
        )
        row(
            "app: slowest class-table scroll step (GUI-thread work)",
            gui["scroll_step_busy_s"],
            "s",
            limit,
            gui["scroll_step_busy_s"] < GUI_GAP_LIMIT_S,
            f"wall clock {gui['scroll_step_max_s'] * 1000:.0f} ms; {gui['thumbnails']} thumbnails loaded lazily",
        )
        row("app: extraction time (worker, empty cache)", gui["extract_s"], "s")
        row(
            "app: GUI-thread work between ticks while extracting and training",
            gui["train_busy_s"],
            "s",
            limit,
            gui["train_busy_s"] < GUI_GAP_LIMIT_S,
            f"wall-clock max tick gap {describe_gap(gui['train_worst'])}; run {gui['train_total_s']:.1f} s, "
            f"{gui['epochs_run']} epochs, error {gui['train_error']}",
        )
        row("app: trained", float(gui["trained"]), "", "= 1", bool(gui["trained"]) and gui["train_error"] is None)
    return rows


def isolate_user_folders(home: Path) -> None:
    """A first launch with no saved state: QSettings and data folders under `home`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        os.environ[name] = str(home / name.lower())


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=None, help="images (default 20000; --quick 600)")
    parser.add_argument("--classes", type=int, default=None, help="classes (default 200; --quick 30)")
    parser.add_argument("--size", default="128x96", help="image size WxH (default 128x96)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 30; --quick 5)")
    parser.add_argument("--data", type=Path, default=None, help="use this generated dataset instead of writing one")
    parser.add_argument("--keep", action="store_true", help="keep the generated dataset (its path is logged)")
    parser.add_argument("--gui", action="store_true", help="also drive the app (offscreen) and measure GUI stalls")
    parser.add_argument("--no-engine", action="store_true", help="skip the engine phase")
    args = parser.parse_args(argv)
    apply_threads(args)
    images = args.images or (600 if args.quick else 20_000)
    classes = args.classes or (30 if args.quick else 200)
    epochs = args.epochs or (5 if args.quick else 30)
    shots, val = (4, 2) if images // classes < 20 else (16, 4)
    width, height = (int(v) for v in args.size.lower().split("x"))

    work = Path(tempfile.mkdtemp(prefix="mma-load-"))
    isolate_user_folders(work / "home")
    root = args.data
    try:
        if root is None:
            root = work / "dataset"
            started = time.perf_counter()
            generate_dataset(root, images, classes, (width, height))
            log(
                f"generated {images} images in {classes} classes ({width}x{height}) under {root} "
                f"in {time.perf_counter() - started:.1f} s"
            )
        engine = None
        if not args.no_engine:
            log("engine: scan, extract, train, evaluate ...")
            engine = engine_phase(root, work / "cache-engine", epochs=epochs, shots=shots, val_per_class=val)
            log(json.dumps({k: v for k, v in engine.items() if k not in ("counts",)}, default=str))
        gui = None
        if args.gui:
            from mma_studio.ui.app import create_application

            create_application(["load_20k"])
            log("app: drop, scan, scroll, train ...")
            gui = gui_phase(root, work / "cache-app", epochs=epochs, shots=shots, val_per_class=val)
            log(json.dumps(gui, default=str))
    finally:
        if args.keep and args.data is None:
            log(f"dataset kept at {root}")
            shutil.rmtree(work / "home", ignore_errors=True)
            for cache in ("cache-engine", "cache-app"):
                shutil.rmtree(work / cache, ignore_errors=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows = rows_from(engine, gui, images, classes)
    emit(rows, args, "load_20k")
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
