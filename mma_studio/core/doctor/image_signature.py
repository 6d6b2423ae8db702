"""A tiny picture of each image (8 x 8 colour cells, centre square, mean removed) that tells a
copy of an image from another image of the same class.

Why it exists: an embedding is trained to say *what* an image shows, so two different photos
of one class can be as close as a photo and its resized copy. With the shipped `mma-tiny ·
shapes` model that is extreme: distinct images of one class reach cosine 0.999 (measured on
the example dataset), so no embedding threshold separates copies from siblings. The embedding
still finds the candidates (blockwise, near-linear); this signature confirms them, and it is
computed only for images in a candidate pair, from a reduced-scale decode.

Measured on the example dataset (1,200 images, 30 classes) and 180 modified copies, 8 x 8 RGB
signature cosine: resized (x2, x0.75) >= 0.999, JPEG q75 >= 0.997, JPEG q50 >= 0.993, a 5 %
centred crop >= 0.916 (10th percentile 0.932); different images of one class: median of each
image's closest sibling 0.74, 99th percentile 0.92. See `duplicates.py` for the thresholds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mma_studio.core.cancellation import CancelToken, check

SIGNATURE_CELLS = 8
DECODE_MIN_SIDE = 64  # JPEGs decode at reduced scale (libjpeg DCT scaling), never below this
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def image_signature(path: Path | str) -> np.ndarray | None:
    """The unit-length signature of one image, or None when it cannot be decoded."""
    from PIL import Image

    from mma_studio.core.images import load_rgb_image

    try:
        picture = load_rgb_image(path, min_side=DECODE_MIN_SIDE)
    except Exception:  # noqa: BLE001 - an unreadable file simply confirms nothing
        return None
    width, height = picture.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    cells = np.asarray(square.resize((SIGNATURE_CELLS, SIGNATURE_CELLS), Image.Resampling.BOX), dtype=np.float32)
    cells = cells.reshape(-1, 3)
    cells = (cells - cells.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(cells))
    if norm < 1e-3:  # a flat picture: all its copies are flat too, and so are other flat pictures
        return np.zeros_like(cells)
    return cells / norm


def image_signatures(paths: Sequence[Path], token: CancelToken | None = None) -> list[np.ndarray | None]:
    """Signatures of many files, decoded on a few threads (Pillow releases the GIL)."""
    results: list[np.ndarray | None] = [None] * len(paths)
    if not paths:
        return results
    chunk = 64
    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="mma-doctor") as pool:
        for start in range(0, len(paths), chunk):
            check(token)
            part = list(pool.map(image_signature, paths[start : start + chunk]))
            results[start : start + len(part)] = part
    return results


def signature_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Cosine of two signatures; two flat pictures count as identical, a missing one as unlike."""
    if a is None or b is None:
        return 0.0
    if not a.any() and not b.any():
        return 1.0
    return float(a @ b)
