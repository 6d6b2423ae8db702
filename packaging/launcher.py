"""Entry point of the packaged app (PyInstaller runs this file, not the console script).

It does what the `mma-studio` command does: no arguments open the desktop app, a
subcommand (`train`, `predict`, ...) runs the engine headless. `freeze_support()` must come
first: a frozen program that starts worker processes (feature extraction can) would
otherwise start the whole app again in each child on Windows and macOS.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from mma_studio.cli import main

    sys.exit(main())
