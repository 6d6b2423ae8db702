"""Classify every image in a folder into a CSV file, with progress and cancel."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from mma_studio.core.atomic_write import write_text_atomically
from mma_studio.core.cancellation import CancelToken
from mma_studio.core.events import ProgressCallback
from mma_studio.core.images_to_classify import ImageListingError, UnlistedFolder, images_to_classify


def classify_folder_to_csv(
    classifier,
    folder: Path | str,
    csv_path: Path | str,
    *,
    top_k: int = 3,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> int:
    """Write one row per image: path, top-k labels and probabilities (adapter and zero-shot), or the error.

    The images are those `predict` would list (`core.images_to_classify`); a sub-folder that
    cannot be listed gets a row of its own with the reason. A folder without images, or one that
    cannot be listed, raises `ImageListingError` (naming it) and writes nothing.
    The CSV is written atomically at the end; a cancel leaves no partial file. Returns the row count.
    """
    folder = Path(folder)
    unlisted: list[UnlistedFolder] = []
    paths = images_to_classify(folder, unlisted.append)
    if not paths:
        raise ImageListingError(f"{folder}: no images found in this folder or its sub-folders")
    predictions = classifier.classify_paths(paths, top_k, on_progress=on_progress, token=token)
    k = max(1, min(top_k, len(classifier.class_names)))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["path"]
    for rank in range(1, k + 1):
        header += [f"label_{rank}", f"probability_{rank}"]
    header += ["zero_shot_label", "zero_shot_probability", "error"]
    writer.writerow(header)
    for skipped in unlisted:
        reason = f"cannot list the folder ({skipped.reason}); its images are left out"
        writer.writerow([_relative(skipped.path, folder)] + [""] * (2 * k + 2) + [reason])
    for prediction in predictions:
        row = [_relative(Path(prediction.path), folder)]
        if prediction.error:
            row += [""] * (2 * k) + ["", "", prediction.error]
        else:
            for label, probability in zip(prediction.labels, prediction.probabilities):
                row += [label, f"{probability:.6f}"]
            row += [prediction.zero_shot_labels[0], f"{prediction.zero_shot_probabilities[0]:.6f}", ""]
        writer.writerow(row)
    write_text_atomically(csv_path, buffer.getvalue())
    return len(unlisted) + len(predictions)


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix() if path.is_relative_to(folder) else str(path)
