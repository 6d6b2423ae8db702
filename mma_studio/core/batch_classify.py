"""Classify every image in a folder into a CSV file, with progress and cancel."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mma_studio.core.atomic_write import write_text_atomically
from mma_studio.core.cancellation import CancelToken
from mma_studio.core.events import ProgressCallback
from mma_studio.core.images import has_image_extension


def images_in(folder: Path | str) -> list[Path]:
    """Image files below `folder`, sorted, skipping hidden files and folders."""
    folder = Path(folder)
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and has_image_extension(p) and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def classify_folder_to_csv(classifier, folder: Path | str, csv_path: Path | str, *, top_k: int = 3,
                           on_progress: ProgressCallback | None = None, token: CancelToken | None = None) -> int:
    """Write one row per image: path, top-k labels and probabilities (adapter and zero-shot), or the error.

    The CSV is written atomically at the end; a cancel leaves no partial file. Returns the row count.
    """
    folder = Path(folder)
    paths = images_in(folder)
    predictions = classifier.classify_paths(paths, top_k, on_progress=on_progress, token=token)
    k = max(1, min(top_k, len(classifier.class_names)))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["path"]
    for rank in range(1, k + 1):
        header += [f"label_{rank}", f"probability_{rank}"]
    header += ["zero_shot_label", "zero_shot_probability", "error"]
    writer.writerow(header)
    for prediction in predictions:
        relative = Path(prediction.path).relative_to(folder).as_posix() if Path(prediction.path).is_relative_to(folder) else prediction.path
        row = [relative]
        if prediction.error:
            row += [""] * (2 * k) + ["", "", prediction.error]
        else:
            for label, probability in zip(prediction.labels, prediction.probabilities):
                row += [label, f"{probability:.6f}"]
            row += [prediction.zero_shot_labels[0], f"{prediction.zero_shot_probabilities[0]:.6f}", ""]
        writer.writerow(row)
    write_text_atomically(csv_path, buffer.getvalue())
    return len(predictions)
