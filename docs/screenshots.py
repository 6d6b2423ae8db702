"""Save a screenshot of each page of MMA Studio, the way a new user gets there.

Drives the real main window offscreen: "Try an example" writes the example dataset and selects
the demo model (`mma-tiny` · `shapes`), the Train page trains with the Fast preset, the Demo
classifies one of the example's images with a class name added, and the adapter is exported.
Then every page of the sidebar (Data, Train, Evaluate, Demo) is grabbed; with `--matrix`, also
at each window size and theme, and the Export dialog, after the export with its checks, once
per theme (DIR/<theme>-export-dialog.png). Settings, the example images, the feature cache
and the export go to a temporary folder, so the script leaves the user's own settings and
caches alone.

    python docs/screenshots.py                 # the README's: docs/<page>_page.png, 1280x800, light
    python docs/screenshots.py --matrix DIR    # also every page at 1024x640, 1280x800 and
                                               # 1920x1080, light and dark: DIR/<theme>-<W>x<H>-<page>.png
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WINDOW_SIZE = (1280, 800)  # the README's screenshots
MATRIX_SIZES = ((1024, 640), (1280, 800), (1920, 1080))
THEMES = ("light", "dark")
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


def grab_pages(window, out: Path, prefix: str, suffix: str) -> None:
    """Every sidebar page, shown in turn and grabbed once it has settled."""
    for row in range(window.sidebar.count()):
        name = window.sidebar.item(row).text().split()[-1].lower()
        window.sidebar.setCurrentRow(row)
        settle(0.6)
        path = out / f"{prefix}{name}{suffix}.png"
        window.grab().save(str(path))
        print(f"saved {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder for the README's PNG files (1280x800, light)",
    )
    parser.add_argument(
        "--matrix",
        type=Path,
        default=None,
        help="also grab every page at 1024x640, 1280x800 and 1920x1080 in both themes into this folder",
    )
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
    from mma_studio.ui.theme import apply_theme

    app = create_application([sys.argv[0]])  # noqa: F841  (kept alive for the whole run)
    apply_theme("light")
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    window.show()

    data_page = window.data_page
    data_page.example_dir = work / "example"
    data_page.try_example()
    wait_until(
        lambda: data_page.example_dir.exists() and not window.state.busy and window.state.data.scan,
        EXAMPLE_TIMEOUT_S,
        "the example dataset",
    )
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

    # The Demo as a user leaves it: an example image classified, one class name added.
    demo = window.ensure_demo_page()
    wait_until(lambda: demo.model is not None and not demo.is_busy(), 120, "the Demo's adapter")
    new_class = sorted(p for p in (data_page.example_dir).iterdir() if p.is_dir())[-1]
    demo.class_editor.add_names(["pink heart"])
    demo.classify_path(sorted(new_class.iterdir())[0])
    wait_until(lambda: demo.last_result is not None and not demo.is_busy(), 60, "the Demo's result")

    # The Export dialog after an export (its checks shown).
    evaluate = window.ensure_evaluate_page()
    dialog = evaluate.export_adapter()
    dialog.set_adapter_path(work / "export" / "example-mma.safetensors")
    (work / "export").mkdir()
    dialog.start_export()
    wait_until(lambda: not dialog.is_running(), 300, "the export")
    settle()

    grab_pages(window, args.out, "", "_page")
    if args.matrix is not None:
        args.matrix.mkdir(parents=True, exist_ok=True)
        for theme in THEMES:
            apply_theme(theme)
            settle()
            for width, height in MATRIX_SIZES:
                window.resize(width, height)
                settle()
                grab_pages(window, args.matrix, f"{theme}-{width}x{height}-", "")
            dialog.raise_()
            settle()
            path = args.matrix / f"{theme}-export-dialog.png"
            dialog.grab().save(str(path))
            print(f"saved {path}")
    # No close(): the window would ask about the unsaved project; the process just ends.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
