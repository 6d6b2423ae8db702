"""Names of the comparison's methods and studies, importable without torch (for `--help`)."""

from __future__ import annotations

DEFAULT_METHODS = ("zero-shot", "linear-probe", "clip-adapter", "tip-adapter", "tip-adapter-f", "mma")
ALL_METHODS = (*DEFAULT_METHODS, "mma-text", "mma-image")  # the last two: MMA adapting one side only
DEFAULT_SEEDS = (1, 2, 3)
STUDIES = ("adapt", "class-share", "noise")
