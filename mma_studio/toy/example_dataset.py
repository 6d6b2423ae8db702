"""The example dataset of "Try an example": shape classes in a shifted domain, as PNG folders.

The images show the same coloured shapes `mma-tiny`/`shapes` was pretrained on, in another
style: thin outlines instead of bold ones, washed-out contrast, sensor noise, smaller shapes.
Zero-shot still works, imperfectly (about 52% on the base classes); an adapter trained on
a few shots learns the new look and lifts accuracy, on base and on new classes.

Why these classes: folders sort by name and the first half are the base classes, so the base
classes are five shapes in blue, green and orange, and the new classes the same shapes in
purple, red and yellow. Adapting on base classes has to carry over to colours it never trained
on; three of the classes (`orange ring`, `red star`, `yellow square`) are combinations that
pretraining never saw either. The colours stay apart under the shift, so what there is to learn
is the new look of the shapes, which is what carries over.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.toy import shapes

EXAMPLE_COLOURS = ("blue", "green", "orange", "purple", "red", "yellow")
EXAMPLE_SHAPES = ("circle", "cross", "ring", "square", "star")
IMAGE_SIZE = 64  # drawn larger than the model's 32 pixels so the thumbnails are readable
MARKER = ".mma-studio-example.json"  # hidden, so dataset scans ignore it


def folder_name(colour: str, shape: str) -> str:
    return f"{colour}_{shape}"


EXAMPLE_CLASSES: tuple[tuple[str, str], ...] = tuple(
    sorted(((c, s) for c in EXAMPLE_COLOURS for s in EXAMPLE_SHAPES), key=lambda k: folder_name(*k))
)


@dataclass(frozen=True)
class ShiftedDomain:
    """How the example images differ from the pretraining images (ranges are drawn per image).

    Pretraining shapes always carry a dark 1.2-pixel outline, and the toy model leans on it;
    here the outline is thin, the picture washed out and noisy, and the shapes smaller. The
    shapes are still plain to a person, so the knowledge is there, only the look has shifted:
    the kind of gap a few labelled shots should close.
    """

    outline: float = 0.5  # outline width in pixels of a 32-pixel image (pretraining: 1.2)
    contrast: tuple[float, float] = (0.7, 1.0)  # the image is squeezed towards its mean
    noise: tuple[float, float] = (0.03, 0.06)  # std of per-pixel sensor noise, 0..1 scale
    scale_range: tuple[float, float] = (0.45, 0.8)  # pretraining: (0.5, 0.85)


DOMAIN = ShiftedDomain()


def render_example_images(
    colour: str, shape: str, count: int, rng: np.random.Generator, domain: ShiftedDomain = DOMAIN
) -> np.ndarray:
    """(count, 64, 64, 3) uint8 images of one class in the shifted domain."""
    c, s = shapes.COLOUR_NAMES.index(colour), shapes.SHAPES.index(shape)
    batch = shapes.render(
        np.full(count, c),
        np.full(count, s),
        rng,
        size=IMAGE_SIZE,
        scale_range=domain.scale_range,
        pixel_noise=0.0,
        outline=domain.outline,
    )
    images = batch.images
    contrast = rng.uniform(*domain.contrast, (count, 1, 1, 1)).astype(np.float32)
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    images = mean + (images - mean) * contrast
    noise = rng.uniform(*domain.noise, (count, 1, 1, 1)).astype(np.float32)
    images += rng.standard_normal(images.shape, dtype=np.float32) * noise
    return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)


def write_example_dataset(
    dest: Path,
    *,
    per_class: int = 40,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> Path:
    """Write the example dataset under `dest` (one folder per class) and return `dest`.

    Deterministic for a seed. Each PNG is written atomically. `dest` must be missing, empty, or
    a folder this function wrote before (it is then rewritten in place); anything else raises
    `FileExistsError` rather than mix the example with someone's files.
    """
    dest = Path(dest)
    if per_class < 1:
        raise ValueError("per_class must be at least 1")
    if dest.exists():
        if not dest.is_dir():
            raise FileExistsError(f"{dest} exists and is not a folder")
        if any(dest.iterdir()) and not (dest / MARKER).is_file():
            raise FileExistsError(f"{dest} is not empty; choose an empty or new folder for the example dataset")
    dest.mkdir(parents=True, exist_ok=True)
    total = per_class * len(EXAMPLE_CLASSES)
    started = time.perf_counter()
    done = 0
    for colour, shape in EXAMPLE_CLASSES:
        check(token)
        name = folder_name(colour, shape)
        folder = dest / name
        folder.mkdir(exist_ok=True)
        # One generator per class, seeded by (seed, colour, shape): a class's images do not
        # depend on which other classes the example has.
        rng = np.random.default_rng([seed, shapes.COLOUR_NAMES.index(colour), shapes.SHAPES.index(shape)])
        images = render_example_images(colour, shape, per_class, rng)
        wanted = set()
        for i, pixels in enumerate(images):
            filename = _image_name(name, i)
            wanted.add(filename)
            _write_png_atomically(folder / filename, pixels)
        for stale in folder.glob(f"{name}_*.png"):  # left over from an earlier, larger run
            if stale.name not in wanted:
                stale.unlink()
        done += per_class
        if on_progress is not None:
            elapsed = time.perf_counter() - started
            rate = done / elapsed if elapsed > 0 else None
            on_progress(
                Progress(
                    "example",
                    done,
                    total,
                    rate=rate,
                    eta_s=(total - done) / rate if rate else None,
                    message=f"Writing {name}",
                )
            )
    marker = {
        "what": "MMA Studio example dataset",
        "seed": seed,
        "per_class": per_class,
        "classes": [folder_name(*k) for k in EXAMPLE_CLASSES],
        "domain": asdict(DOMAIN),
    }
    _write_bytes_atomically(dest / MARKER, json.dumps(marker, indent=2).encode())
    return dest


def example_is_complete(dest: Path, per_class: int, seed: int = 0) -> bool:
    """Whether `dest` already holds this exact example (same seed and size, every file).

    Rewriting it would change every file's timestamp and so miss the feature cache; an
    unchanged example is reused as it is.
    """
    dest = Path(dest)
    try:
        marker = json.loads((dest / MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("seed") != seed or marker.get("per_class") != per_class:
        return False
    for colour, shape in EXAMPLE_CLASSES:
        name = folder_name(colour, shape)
        if not all((dest / name / _image_name(name, i)).is_file() for i in range(per_class)):
            return False
    return True


def ensure_example_dataset(
    dest: Path,
    *,
    per_class: int = 40,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> Path:
    """The example dataset at `dest`: written, unless that exact example is there already
    (`example_is_complete`), so "Try an example" twice reuses the files and their cached features."""
    if not example_is_complete(dest, per_class, seed):
        write_example_dataset(dest, per_class=per_class, seed=seed, on_progress=on_progress, token=token)
    return Path(dest)


def _image_name(folder: str, index: int) -> str:
    """One file name for writing the example and for checking it is complete."""
    return f"{folder}_{index:03d}.png"


def _write_png_atomically(path: Path, pixels: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    _write_bytes_atomically(path, buffer.getvalue())


def _write_bytes_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; these are ordinary images
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
