"""Save a screenshot of each page of MMA Studio into docs/, the way a new user gets there.

Drives the real main window offscreen: "Try an example" writes the example dataset and selects
the demo model (`mma-tiny` · `shapes`), the Train page trains with the Fast preset, and every
page of the sidebar (Data, Train, and those after them) is grabbed once the work is done. Settings, the example images and the feature cache go
to a temporary folder, so the script leaves the user's own settings and caches alone.

    python docs/screenshots.py            # writes docs/<page>_page.png, one per sidebar page
    python docs/screenshots.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WINDOW_SIZE = (1280, 820)
EXAMPLE_TIMEOUT_S = 120
TRAIN_TIMEOUT_S = 600


def wait_until(condition, timeout_s: float, what: str) -> None:
    """Run the event loop until `condition()` holds; exit with a message on timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise SystemExit(f"screenshots: timed out after {timeout_s:.0f} s waiting for {what}")


def settle(seconds: float = 0.3) -> None:
    """Let pending layouts, lazy thumbnails and plot redraws land before a grab."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="folder for the PNG files")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="mma-studio-screenshots-"))
    for variable, folder in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        os.environ[variable] = str(work / folder)  # platformdirs: nothing lands in the user's folders
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(work / "settings"))

    from mma_studio.ui.app import create_application
    from mma_studio.ui.main_window import MainWindow

    app = create_application([sys.argv[0]])
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    window.show()

    data_page = window.data_page
    data_page.example_dir = work / "example"
    data_page.try_example()
    wait_until(lambda: data_page.example_dir.exists() and not window.state.busy and window.state.data.scan,
               EXAMPLE_TIMEOUT_S, "the example dataset")
    selection = window.state.backbone
    if not selection.is_demo:
        raise SystemExit(f"screenshots: the example should select the demo model, got {selection.label!r}")
    window.sidebar.setCurrentRow(1)
    page = window.train_page
    page.cache_dir = work / "feature-cache"
    wait_until(lambda: page.settings.loaded, 60, "the training engine")
    page.settings.apply_preset("Fast")
    settle()
    if not page.start_training():
        raise SystemExit(f"screenshots: training did not start: {page.ready_label.text()}")
    wait_until(lambda: not page.is_training(), TRAIN_TIMEOUT_S, "training")
    if page.last_run is None:
        error = page.last_error or ("cancelled", "")
        raise SystemExit(f"screenshots: training failed: {error[0]}: {error[1]}")
    page.plots.flush()
    summary = page.last_run.summary()
    print(f"trained: zero-shot {summary['zero_shot']}, adapted {summary['adapted']}")
    for row in range(window.sidebar.count()):
        name = window.sidebar.item(row).text().split()[-1].lower()
        window.sidebar.setCurrentRow(row)
        settle(1.0)
        path = args.out / f"{name}_page.png"
        window.grab().save(str(path))
        print(f"saved {path}")
    # No close(): the window would ask about the unsaved project; the process just ends.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
