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

Crops: a crop moves and enlarges the subject, so the whole-frame signature of a copy that
lost 10 % off one corner was 0.86 (median) from its original's. Each image therefore also
keeps the signatures of 18 sub-windows of its centre square (90 % and 95 % of the side, at
the 3 x 3 corner, edge and centre offsets), and `crop_similarity` compares one image's whole
frame with the other's best window, both ways: a crop of B is about a window of B. Measured
on the example dataset with 30 planted crops of each kind (random 6-12 % off one corner,
3-7 % centred): best window >= 0.97 for 29 / 30 and 30 / 30 (whole frame >= 0.95: 1 / 30 and
19 / 30). More windows mean more chances for look-alike siblings, so a window match needs
0.97, not 0.95: then no pair of different classes passes (best 0.958) and same-class pairs
that pass go from 7 to 13 of 23,400, renders a person also calls near-identical.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mma_studio.core.cancellation import CancelToken, check

SIGNATURE_CELLS = 8
WINDOW_SCALES = (0.90, 0.95)  # sub-windows of the centre square: a crop is about one of them
DECODE_MIN_SIDE = 64  # JPEGs decode at reduced scale (libjpeg DCT scaling), never below this
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _windows() -> list[tuple[float, float, float]]:
    """(left, top, side) of the whole frame, then of each sub-window, as fractions."""
    windows = [(0.0, 0.0, 1.0)]
    for scale in WINDOW_SCALES:
        room = 1.0 - scale
        windows += [(left, top, scale) for top in (0.0, room / 2, room) for left in (0.0, room / 2, room)]
    return windows


def _cells(picture) -> np.ndarray:
    """8 x 8 colour cells, mean removed, unit length (zeros for a flat picture)."""
    from PIL import Image

    cells = np.asarray(picture.resize((SIGNATURE_CELLS, SIGNATURE_CELLS), Image.Resampling.BOX), dtype=np.float32)
    cells = cells.reshape(-1, 3)
    cells = (cells - cells.mean(axis=0)).ravel()
    norm = float(np.linalg.norm(cells))
    if norm < 1e-3:  # a flat picture: all its copies are flat too, and so are other flat pictures
        return np.zeros_like(cells)
    return cells / norm


def image_signature(path: Path | str) -> np.ndarray | None:
    """The unit-length signatures of one image, (1 + 18, 192): the whole centre square first,
    then its sub-windows; None when it cannot be decoded."""
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
    return np.stack(
        [
            _cells(square.crop((round(x * side), round(y * side), round((x + size) * side), round((y + size) * side))))
            for x, y, size in _windows()
        ]
    )


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
    """Cosine of two whole-frame signatures; two flat pictures count as identical, a missing
    one as unlike."""
    if a is None or b is None:
        return 0.0
    if not a[0].any() and not b[0].any():
        return 1.0
    return float(a[0] @ b[0])


def crop_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """The best cosine of one image's whole frame with a sub-window of the other, both ways:
    how much one looks like a crop of the other."""
    if a is None or b is None:
        return 0.0
    return max(float((a[1:] @ b[0]).max()), float((b[1:] @ a[0]).max()))
