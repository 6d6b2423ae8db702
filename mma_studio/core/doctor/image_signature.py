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
0.97, not 0.95 (at 0.95, 3 pairs of different classes passed; at 0.97 none, best 0.958).

Colour: removing the mean makes the cells blind to the background's colour, and most
look-alike siblings of the example are one shape on a different background (a red circle on
grey and on green). A copy keeps its colours: the mean colour of a resized, re-encoded or
cropped copy (its matching window, for a crop) stayed within 5.6 of 255 of its original's in
every channel, while the look-alikes that passed differed by 6.2 to 46. Both similarities
therefore count only frames whose mean colours agree within `COLOUR_TOLERANCE` (8). With it,
of the 13,585 same-class pairs at embedding cosine >= 0.90 on the example, 2 are confirmed
(plain green circles on near-identical backgrounds; 13 without the colour test), none
across classes, and the crops above are confirmed as before. A recoloured copy (brightness,
white balance) is then not a copy; such edits are not among the planted kinds.
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
COLOUR_TOLERANCE = 8.0  # the most a copy's mean colour may differ, any channel, 0-255 (module doc)
_SHAPE = 3 * SIGNATURE_CELLS * SIGNATURE_CELLS  # the signature's length; its mean colour follows
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
    """8 x 8 colour cells, mean removed, unit length (zeros for a flat picture), then the
    mean colour (3 values, 0-255)."""
    from PIL import Image

    cells = np.asarray(picture.resize((SIGNATURE_CELLS, SIGNATURE_CELLS), Image.Resampling.BOX), dtype=np.float32)
    cells = cells.reshape(-1, 3)
    mean = cells.mean(axis=0)
    cells = (cells - mean).ravel()
    norm = float(np.linalg.norm(cells))
    if norm < 1e-3:  # a flat picture: all its copies are flat too, and so are other flat pictures
        return np.concatenate([np.zeros_like(cells), mean])
    return np.concatenate([cells / norm, mean])


def image_signature(path: Path | str) -> np.ndarray | None:
    """The signatures of one image, (1 + 18, 192 + 3): the whole centre square first, then its
    sub-windows, each unit-length cells and a mean colour; None when it cannot be decoded."""
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


def _same_colour(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether signatures' mean colours agree within `COLOUR_TOLERANCE` (rows of `first`
    against the one `second`)."""
    return np.abs(np.atleast_2d(first)[:, _SHAPE:] - second[_SHAPE:]).max(axis=1) <= COLOUR_TOLERANCE


def signature_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Cosine of two whole-frame signatures, 0 when their mean colours differ (a copy keeps its
    colours); two flat pictures of one colour count as identical, a missing one as unlike."""
    if a is None or b is None or not _same_colour(a[0], b[0])[0]:
        return 0.0
    if not a[0, :_SHAPE].any() and not b[0, :_SHAPE].any():
        return 1.0
    return float(a[0, :_SHAPE] @ b[0, :_SHAPE])


def crop_similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """The best cosine of one image's whole frame with a sub-window of the other of the same
    mean colour, both ways: how much one looks like a crop of the other."""
    if a is None or b is None:
        return 0.0
    best = 0.0
    for windows, whole in ((a[1:], b[0]), (b[1:], a[0])):
        cosines = np.where(_same_colour(windows, whole), windows[:, :_SHAPE] @ whole[:_SHAPE], 0.0)
        best = max(best, float(cosines.max()))
    return best
