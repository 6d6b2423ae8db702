"""Progress bars on stderr for the engine's `Progress` events."""

from __future__ import annotations

import sys
from typing import ClassVar


class ProgressPrinter:
    """Turns engine `Progress` events into one tqdm bar per stage on stderr.

    Silent when stderr is missing (a windowed build) or not wanted (--quiet).
    """

    LABELS: ClassVar[dict[str, str]] = {"scan": "Scanning", "load_model": "Loading model", "extract": "Extracting",
              "train": "Training", "evaluate": "Evaluating", "predict": "Classifying", "example": "Writing"}

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr is not None
        self._bar = None
        self._key = None

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        key = (progress.stage, progress.message if progress.stage == "extract" else "")
        if key != self._key:
            self.close()
            label = self.LABELS.get(progress.stage, progress.stage)
            if progress.stage == "extract" and progress.message:
                label = f"{label} {progress.message}"
            self._bar = tqdm(total=progress.total, desc=label, file=sys.stderr, leave=False,
                             unit="ep" if progress.stage == "train" else "img", dynamic_ncols=True)
            self._key = key
        if progress.total is not None and self._bar.total != progress.total:
            self._bar.total = progress.total
        self._bar.n = progress.done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._key = None
