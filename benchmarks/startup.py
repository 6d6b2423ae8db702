"""Issue 6, item 5: time from process start to the first painted window, `mma-studio` vs a
bare PySide6 window, measured in the same run (fresh processes, interleaved, medians).

Each measurement starts a new Python process with a small driver. The driver wraps
`QWidget.show` so that the first top-level window shown gets an application-wide event
filter; after the first Paint event has been handled (the first frame is drawn), it prints
the monotonic clock and which heavy modules (torch, open_clip, pyqtgraph, numpy) were
already imported, then exits at once. The app driver then calls `mma_studio.cli.main([])`
exactly as the `mma-studio` command does; the bare driver shows an empty QMainWindow of the
same size. Both run offscreen, with empty user config/cache/data folders (a first launch).

The package's bytecode is compiled first (`compileall`), as `pip install` does for an
installed app: with PYTHONDONTWRITEBYTECODE set (as on CI machines) every launch would
otherwise compile all of the app's modules from source, ~60 ms that no user pays.

A second, informative row times the app until every page is built (the app builds the
pages the first frame does not show just after it) against the same bare window.

If the app imported torch or open_clip before its first frame, the import chain that pulled
it in is printed from `python -X importtime`.

Issue 13, item 5: two more rows time the command line's `--help` and `--version`
(`python -m mma_studio ...`) against a bare interpreter (`python -c pass`), interleaved, and
name any heavy module (torch, open_clip, numpy) that building the parser imported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench_common import ROOT, Row, base_parser, emit, interleaved_medians, log

MAX_SLOWDOWN = 1.5
MAX_HELP_SLOWDOWN = 5.0  # "a few times a bare interpreter"
HEAVY = ("torch", "open_clip", "pyqtgraph", "numpy")

DRIVER = r"""
import json, os, sys, time
from PySide6 import QtCore, QtWidgets

class _FirstFrame(QtCore.QObject):
    def eventFilter(self, obj, event):
        if event.type() == QtCore.QEvent.Type.Paint and not getattr(self, "seen", False):
            self.seen = True
            _times["paint"] = time.monotonic()
            _times["heavy_at_paint"] = [m for m in HEAVY if m in sys.modules]
            QtCore.QTimer.singleShot(0, _report)  # after the paint pass that draws the first frame
        return False

_times = {}

def _report():
    _times["shown"] = time.monotonic()
    _times["heavy"] = [m for m in HEAVY if m in sys.modules]
    _when_ready()

def _all_pages_built():
    if MODE != "app":
        return True
    from mma_studio.ui.main_window import MainWindow
    windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return bool(windows) and all(
        page is not None
        for w in windows
        for page in (w.data_page.table, w.train_page, w.evaluate_page, w.demo_page)
    )

def _models_listed():
    if MODE != "app":
        return True
    from mma_studio.ui.main_window import MainWindow
    windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    return bool(windows) and all(w.data_page.backbone_chooser.is_loaded() for w in windows)

def _when_ready():
    if "ready" not in _times and _all_pages_built():
        _times["ready"] = time.monotonic()
    if "models" not in _times and _models_listed():
        _times["models"] = time.monotonic()
    if "ready" not in _times or "models" not in _times:
        QtCore.QTimer.singleShot(2, _when_ready)
        return
    sys.stdout.write(json.dumps(_times) + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

_show = QtWidgets.QWidget.show
_filter = _FirstFrame()

def _patched_show(self):
    if self.isWindow():
        _times.setdefault("show", time.monotonic())
        QtWidgets.QApplication.instance().installEventFilter(_filter)
    return _show(self)

QtWidgets.QWidget.show = _patched_show

if MODE == "app":
    from mma_studio.cli import main
    sys.exit(main([]))
else:
    app = QtWidgets.QApplication(sys.argv[:1])
    window = QtWidgets.QMainWindow()
    window.setWindowTitle("bare")
    window.setCentralWidget(QtWidgets.QLabel("bare PySide6 window"))
    window.resize(1180, 780)
    window.show()
    sys.exit(app.exec())
"""


def child_environment(home: str) -> dict:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        env[name] = os.path.join(home, name.lower())
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def launch(mode: str, env: dict, *, importtime: bool = False, timeout: float = 120.0) -> tuple[float, list[str], str]:
    """Seconds from spawning the process to its first painted window; heavy modules; stderr.
    (`launch_report` has the whole report, with the time every page was built.)"""
    report, stderr = launch_report(mode, env, importtime=importtime, timeout=timeout)
    return report["shown_s"], report["heavy"], stderr


def launch_report(mode: str, env: dict, *, importtime: bool = False, timeout: float = 120.0) -> tuple[dict, str]:
    code = f"MODE = {mode!r}\nHEAVY = {HEAVY!r}\n" + DRIVER
    command = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c", code]
    started = time.monotonic()  # CLOCK_MONOTONIC: the same clock in the child on Linux/macOS
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{mode} driver showed no window (exit {done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(lines[-1])
    report["shown_s"] = report["shown"] - started
    report["ready_s"] = report["ready"] - started
    report["models_s"] = report["models"] - started
    return report, done.stderr


def run_to_exit(command: list[str], env: dict, timeout: float = 60.0) -> None:
    """Run one process from spawn to exit; a failure is an error, not a fast time."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{command} exited {done.returncode}: {done.stderr[-2000:]}")


HEAVY_AFTER_HELP = r"""
import contextlib, io, sys
from mma_studio.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["train", "--help"])
    except SystemExit:
        pass
print(",".join(m for m in ("torch", "open_clip", "numpy") if m in sys.modules))
"""


def command_line_rows(env: dict, rounds: int) -> list[Row]:
    """`mma-studio --help` / `--version` against a bare `python -c pass`, interleaved medians."""
    flags = ("--help", "--version")
    commands = {"bare": [sys.executable, "-c", "pass"], **{f: [sys.executable, "-m", "mma_studio", f] for f in flags}}
    seconds = interleaved_medians(  # one untimed warm-up each (file cache)
        {name: lambda command=command: run_to_exit(command, env) for name, command in commands.items()},
        rounds=max(rounds, 3),
    )
    done = subprocess.run([sys.executable, "-c", HEAVY_AFTER_HELP], env=env, capture_output=True, text=True, timeout=60)
    heavy = done.stdout.strip() or "none"
    bare = seconds["bare"]
    rows = []
    for flag in flags:
        ours = seconds[flag]
        ratio = ours / bare if bare > 0 else float("inf")
        rows.append(
            Row(
                f"mma-studio {flag} vs bare python -c pass",
                ours,
                bare,
                "s",
                ratio,
                f"<= {MAX_HELP_SLOWDOWN:g}x bare",
                ratio <= MAX_HELP_SLOWDOWN,
                note=f"heavy modules imported by `train --help`: {heavy}",
            )
        )
    return rows


def compile_bytecode() -> None:
    """What `pip install` does for an installed package: the app's modules as .pyc files."""
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "mma_studio"), quiet=1)


def import_chain(importtime_log: str, module: str) -> list[str]:
    """The chain of imports that first pulled in `module`, outermost first, from -X importtime.

    importtime prints a module after everything it imported, indented by nesting depth, so
    the importer of a line is the next line below it with less indentation."""
    entries = []
    for line in importtime_log.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        name_field = line.split("|")[-1]
        stripped = name_field.lstrip()
        if stripped == "imported package":
            continue
        entries.append((len(name_field) - len(stripped), stripped.strip()))
    for position, (depth, name) in enumerate(entries):
        if name == module:
            chain = [name]
            for later_depth, later_name in entries[position + 1 :]:
                if later_depth < depth:
                    chain.append(later_name)
                    depth = later_depth
            return list(reversed(chain))
    return []


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="launches of each (default 7; --quick 2)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 7)

    with tempfile.TemporaryDirectory(prefix="mma-bench-startup-") as home:
        env = child_environment(home)
        compile_bytecode()
        log(f"startup: {rounds} interleaved launches of each (plus one untimed warm-up) ...")
        launch("bare", env)
        launch("app", env)
        samples: dict[str, list[float]] = {"app": [], "bare": []}
        ready: list[float] = []
        models: list[float] = []
        heavy_seen: set[str] = set()
        app_launches: list[tuple[float, list[str]]] = []
        for _ in range(rounds):
            for mode in ("bare", "app"):
                report, _ = launch_report(mode, env)
                seconds, heavy = report["shown_s"], report["heavy"]
                samples[mode].append(seconds)
                if mode == "app":
                    ready.append(report["ready_s"])
                    models.append(report["models_s"])
                    heavy_seen.update(heavy)
                    app_launches.append((seconds, heavy))
        ours = statistics.median(samples["app"])
        bare = statistics.median(samples["bare"])
        culprits = [m for m in ("torch", "open_clip") if m in heavy_seen]
        note = "heavy modules imported before the first frame: " + (", ".join(sorted(heavy_seen)) or "none")
        with_heavy = [seconds for seconds, heavy in app_launches if heavy]
        if with_heavy:
            without = [seconds for seconds, heavy in app_launches if not heavy]
            note += (
                f" (in {len(with_heavy)} of {len(app_launches)} launches: median {statistics.median(with_heavy):.2f}s"
                f" with them, {statistics.median(without):.2f}s without)"
                if without
                else f" (in all {len(app_launches)} launches)"
            )
        if culprits:
            _, _, stderr = launch("app", env, importtime=True)
            for module in culprits:
                chain = import_chain(stderr, module)
                note += f"; {module} via {' -> '.join(chain) if chain else '(chain not found)'}"
                log(f"  {module} is imported before the window shows: {' -> '.join(chain)}")
        log("startup: mma-studio --help / --version vs a bare interpreter ...")
        help_rows = command_line_rows(env, rounds)

    ratio = ours / bare if bare > 0 else float("inf")
    row = Row(
        "start-up to first painted window: mma-studio vs bare PySide6",
        ours,
        bare,
        "s",
        ratio,
        f"<= {MAX_SLOWDOWN:g}x bare",
        ratio <= MAX_SLOWDOWN,
        note=note,
    )
    ours_ready = statistics.median(ready)
    ready_row = Row(
        "start-up until every page is built (informative): mma-studio vs bare PySide6",
        ours_ready,
        bare,
        "s",
        ours_ready / bare if bare > 0 else float("inf"),
        "",
        None,
        note="the pages the first frame does not show are built one per event-loop turn after it",
    )
    ours_models = statistics.median(models)
    models_row = Row(
        "start-up until the model list is ready (informative): mma-studio vs bare PySide6",
        ours_models,
        bare,
        "s",
        ours_models / bare if bare > 0 else float("inf"),
        "",
        None,
        note="the backbone chooser lists the models on this computer after the first frame (issue 12 "
        "§6: within a second of it); the GUI thread's gaps meanwhile are in gui_responsiveness.py",
    )
    emit([row, ready_row, models_row, *help_rows], args, "startup")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
