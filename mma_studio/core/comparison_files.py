"""The files a comparison or a study leaves behind on request: its results as one JSON file and
its chart as SVG (`core.svg_chart`). Written atomically, so a file is whole or absent."""

from __future__ import annotations

from pathlib import Path

from mma_studio.core.atomic_write import write_text_atomically


def write_results_json(result, path: Path | str) -> Path:
    """Every run, summary and setting of `result` (a `ComparisonResult` or a `StudyResult`)."""
    return write_text_atomically(path, result.to_json())
