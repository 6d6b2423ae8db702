"""Progress bars on stderr for the engine's `Progress` events.

A bar shows only what it can state truthfully: a count against a known total in a named unit
(images, epochs, bytes), the engine's own rate and time left, or, while the amount of work is
unknown (loading a model, scoring), a line that names the step and the time spent. A phase with
nothing left to do (every feature already cached) gets no bar at all. Every bar is cleared
before anything else is printed (`printing_beside_bars`), and all are closed before an error.
"""

from __future__ import annotations

import sys
import weakref
from contextlib import contextmanager

_OPEN: weakref.WeakSet = weakref.WeakSet()
# What a stage's `Progress.rate` counts where it is not the bar's unit: training reports
# training samples per second, not epochs per second.
RATE_UNITS = {"train": "samples"}
# (label, unit) of the stages `_describe` has no special wording for.
_STAGES = {
    "train": ("Training", "epochs"),
    "predict": ("Classifying", "images"),
    "example": ("Writing images", "images"),
}


class ProgressPrinter:
    """Turns engine `Progress` events into one tqdm bar per phase on stderr.

    Silent when stderr is missing (a windowed build) or not wanted (--quiet).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr is not None
        self._bar = None
        self._phase: tuple | None = None
        self._last_done = 0

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        label, unit = _describe(progress)
        phase = (progress.stage, label, progress.total)
        if phase != self._phase or progress.done < self._last_done:
            self.close()
            self._phase = phase
            if progress.total is not None and progress.done >= progress.total:
                return  # finished as it started (e.g. all cached): nothing to show
            self._bar = _open_bar(label, unit, progress.total)
            _OPEN.add(self)
        self._last_done = progress.done
        if self._bar is None:
            return
        if progress.total is not None and progress.done >= progress.total:
            self.close()  # the phase is done; its result is printed by the command
            self._phase = phase
            return
        self._bar.n = progress.done
        self._bar.set_postfix_str(_pace(progress, RATE_UNITS.get(progress.stage, unit)), refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._phase = None
        self._last_done = 0
        _OPEN.discard(self)


def close_all_bars() -> None:
    """Close every open bar (before an error message, so it starts on a line of its own)."""
    for printer in list(_OPEN):
        printer.close()


@contextmanager
def printing_beside_bars():
    """Clear any open bar while a line is printed, then draw it again below that line."""
    if not _OPEN:
        yield
        return
    from tqdm import tqdm

    with tqdm.external_write_mode(file=sys.stderr):
        yield


def _describe(progress) -> tuple[str, str]:
    """(label, unit) of a progress event; unit "" means no count is shown."""
    stage, message = progress.stage, progress.message or ""
    if stage == "load_model":
        if progress.total and message.startswith("Downloading"):
            return message.split(":")[0], "bytes"
        return (message or "Loading the model"), ""
    if stage == "scan":
        return ("Checking images" if progress.total is not None else "Listing files"), "images"
    if stage == "extract":
        # The pipeline labels its phases ("images", "augmented view 2 of 4"); the folder
        # evaluation passes the extractor's own changing message, which is no label.
        suffix = f" ({message})" if message.startswith("augmented view") else ""
        return f"Extracting features{suffix}", "images"
    if stage == "evaluate":
        return "Scoring the test images", ""
    return _STAGES.get(stage, (stage.replace("_", " ").capitalize(), ""))


def _open_bar(label: str, unit: str, total: int | None):
    from tqdm import tqdm

    if not unit:  # the amount of work is unknown: name the step and the time it has taken
        bar_format = "{desc}… {elapsed}"
    elif unit == "bytes":
        bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}B of {total_fmt}B{postfix}"
    elif total is None:
        bar_format = "{desc}: {n} " + unit + " found{postfix}"
    else:
        bar_format = "{desc}: {percentage:3.0f}%|{bar}| {n}/{total} " + unit + "{postfix}"
    return tqdm(
        total=total,
        desc=label,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        bar_format=bar_format,
        unit="B" if unit == "bytes" else "it",
        unit_scale=unit == "bytes",
        unit_divisor=1024,
        mininterval=0.1,
    )


def _pace(progress, unit: str) -> str:
    """The engine's measured rate and time left (tqdm's own guess is wrong for counts set at once)."""
    parts = []
    if progress.rate and unit and unit != "bytes" and progress.total is not None:  # listing has no meaningful rate
        parts.append(f"{progress.rate:.3g} {unit}/s" if progress.rate < 100 else f"{progress.rate:.0f} {unit}/s")
    if progress.eta_s is not None and progress.total is not None and progress.eta_s >= 1:
        minutes, seconds = divmod(round(progress.eta_s), 60)
        parts.append(f"{minutes}:{seconds:02d} left")
    return ", ".join(parts)
