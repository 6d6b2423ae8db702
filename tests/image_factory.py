"""Generate test images and datasets with Pillow: good ones, odd-but-usable ones and broken ones.

Any test can import these (`from tests.image_factory import make_class_dataset`):

- `make_image(path, ...)`: one image in any Pillow mode and format, optionally with noise,
  EXIF orientation or extra save options.
- `make_class_dataset(root, classes, ...)`: a folder of class folders whose images are
  told apart by colour (class i is `class_color(i)` plus per-image noise), so a tiny model
  or a colour-histogram feature can learn them.
- `write_bad_input_corpus(root)`: the bad-input corpus of issue 7 as a dataset folder, with
  the documented expectation for every file (used, skipped with a reason, or ignored), so
  the engine, CLI and app tests check the same oracle.
- Writers for single broken files: `write_truncated`, `write_png_with_bad_crc`,
  `write_decompression_bomb_png`, `write_exif_rotated_jpeg`, ...

Everything is deterministic (seeded) and small (32x32 by default), so datasets of a few
hundred images take well under a second to write.
"""

from __future__ import annotations

import colorsys
import io
import os
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

__all__ = [
    "BadInput",
    "BadInputCorpus",
    "ExifExpectation",
    "class_color",
    "make_class_dataset",
    "make_image",
    "try_symlink",
    "write_animated_gif",
    "write_bad_input_corpus",
    "write_decompression_bomb_png",
    "write_exif_rotated_jpeg",
    "write_multipage_tiff",
    "write_palette_png_with_transparency",
    "write_png_with_bad_crc",
    "write_truncated",
]

RGB = tuple[int, int, int]
_FORMAT_BY_SUFFIX = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


def class_color(index: int) -> RGB:
    """A saturated colour per class index; neighbours differ strongly in hue (golden-ratio steps)."""
    hue = (index * 0.6180339887) % 1.0
    value = 0.95 if index % 2 == 0 else 0.7
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, value)
    return int(r * 255), int(g * 255), int(b * 255)


def _pixels(size: tuple[int, int], color: RGB, noise: int, seed: int | None) -> np.ndarray:
    width, height = size
    array = np.empty((height, width, 3), dtype=np.int16)
    array[:] = color
    if noise and seed is not None:
        rng = np.random.default_rng(seed)
        array += rng.integers(-noise, noise + 1, size=array.shape, dtype=np.int16)
    return np.clip(array, 0, 255).astype(np.uint8)


def make_image(
    path: Path | str,
    size: tuple[int, int] = (32, 32),
    color: RGB = (200, 40, 40),
    *,
    mode: str = "RGB",
    fmt: str | None = None,
    noise: int = 0,
    seed: int | None = None,
    alpha: int = 255,
    exif_orientation: int | None = None,
    **save_kwargs,
) -> Path:
    """Write one image of `size` (width, height) filled with `color` and return its path.

    mode: RGB, RGBA, L, LA, P (palette), CMYK, I;16 (16-bit grey), 1 (bilevel), or any mode
        Pillow converts RGB to.
    fmt: Pillow format name; by default from the suffix (.jpg, .png, .bmp, .gif, .webp, .tif).
    noise/seed: add uniform noise of +-`noise` per channel, seeded, so images differ.
    alpha: the alpha value for modes with transparency.
    exif_orientation: store this EXIF Orientation tag (1-8); the pixels are written as given.
    Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or _FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot infer an image format from {path.name!r}; pass fmt=")
    image = Image.fromarray(_pixels(size, color, noise, seed))
    if mode == "I;16":
        grey = np.asarray(image.convert("L"), dtype=np.uint16) * 257  # full 16-bit range
        image = Image.fromarray(grey.astype("<u2"))  # Pillow infers I;16
    elif mode in ("RGBA", "LA"):
        image = image.convert(mode)
        image.putalpha(alpha)
    elif mode != "RGB":
        image = image.convert(mode)
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        save_kwargs.setdefault("exif", exif.tobytes())
    image.save(path, format=fmt, **save_kwargs)
    return path


def make_class_dataset(
    root: Path | str,
    classes: Mapping[str, int] | Sequence[str],
    *,
    per_class: int = 5,
    size: tuple[int, int] = (32, 32),
    fmt: str = "png",
    noise: int = 12,
    seed: int = 0,
    nested: bool = False,
) -> dict[str, list[Path]]:
    """Write `root/<class>/img_000.<fmt>`, ... and return {class name: [paths]}.

    classes: names (each gets `per_class` images) or {name: image count}.
    Class i (in the given order) is coloured `class_color(i)` with +-`noise` per-pixel noise
    (seeded by `seed`, class and image index), so classes are separable by colour and no two
    images are identical. nested=True puts every second image in `<class>/more/`.
    """
    root = Path(root)
    counts = dict(classes) if isinstance(classes, Mapping) else dict.fromkeys(classes, per_class)
    written: dict[str, list[Path]] = {}
    suffix = fmt.lower().lstrip(".")
    for class_index, (name, count) in enumerate(counts.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i in range(count):
            sub = folder / "more" if nested and i % 2 else folder
            path = make_image(
                sub / f"img_{i:03d}.{suffix}",
                size,
                class_color(class_index),
                noise=noise,
                seed=seed * 1_000_003 + class_index * 10_007 + i,
            )
            paths.append(path)
        written[name] = paths
    return written


# --------------------------------------------------------------------------- broken files


def write_truncated(path: Path | str, keep: float = 0.5, size: tuple[int, int] = (64, 64)) -> Path:
    """A noisy image of the suffix's format, cut to `keep` of its bytes (mid pixel data)."""
    path = Path(path)
    buffer = io.BytesIO()
    image = Image.fromarray(_pixels(size, (120, 120, 120), 100, seed=7))
    image.save(buffer, format=_FORMAT_BY_SUFFIX[path.suffix.lower()])
    data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def write_png_with_bad_crc(path: Path | str, chunk: bytes = b"IHDR") -> Path:
    """A valid PNG whose `chunk` (IHDR or IDAT) has a corrupted CRC.

    Pillow verifies the IHDR checksum (the file is refused) but not IDAT's (the intact pixels
    decode), so the two variants document both outcomes.
    """
    path = Path(path)
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 160, 90)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    at = data.find(chunk)
    length = struct.unpack(">I", data[at - 4 : at])[0]
    data[at + 4 + length] ^= 0xFF  # first CRC byte
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path


def write_decompression_bomb_png(path: Path | str, width: int = 60_000, height: int = 60_000) -> Path:
    """A tiny PNG whose header declares `width x height` pixels (over Pillow's bomb limit).

    Only the header is huge: the file is a few hundred bytes, and Pillow refuses it at open.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * 1024)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class ExifExpectation:
    """How an EXIF-rotated image must look once decoded upright."""

    size: tuple[int, int]  # (width, height) upright
    top: RGB  # colour of the upper half
    bottom: RGB  # colour of the lower half


def write_exif_rotated_jpeg(
    path: Path | str, orientation: int = 6, top: RGB = (220, 20, 20), bottom: RGB = (20, 20, 220)
) -> ExifExpectation:
    """A JPEG stored sideways with an EXIF Orientation tag; upright it is a 24x48 portrait,
    `top` colour above `bottom` colour. Orientation 6 (camera turned clockwise) by default."""
    upright = Image.new("RGB", (24, 48), top)
    upright.paste(Image.new("RGB", (24, 24), bottom), (0, 24))
    # Store the inverse of what the viewer will apply for this orientation.
    inverse = {
        1: None,
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    stored = upright if inverse is None else upright.transpose(inverse)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return ExifExpectation(upright.size, top, bottom)


def write_palette_png_with_transparency(path: Path | str, color: RGB = (40, 90, 200)) -> Path:
    """A 32x32 palette PNG: left half `color`, right half a transparent palette entry
    (which decodes onto white, as viewers show it)."""
    image = Image.new("P", (32, 32), 0)
    image.putpalette([*color, 0, 0, 0] + [0] * (3 * 254))
    image.paste(1, (16, 0, 32, 32))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", transparency=1)
    return path


def write_animated_gif(path: Path | str, colors: Sequence[RGB] = ((200, 0, 0), (0, 200, 0), (0, 0, 200))) -> Path:
    """An animated GIF with one solid frame per colour (the first frame is what gets used)."""
    frames = [Image.new("RGB", (32, 32), c).convert("P") for c in colors]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def write_multipage_tiff(path: Path | str, colors: Sequence[RGB] = ((0, 150, 150), (150, 150, 0))) -> Path:
    """A multi-page TIFF, one solid page per colour (the first page is what gets used)."""
    pages = [Image.new("RGB", (32, 32), c) for c in colors]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pages[0].save(path, format="TIFF", save_all=True, append_images=pages[1:])
    return path


def try_symlink(link: Path | str, target: Path | str, *, directory: bool = False) -> bool:
    """Create `link -> target`; False where the OS or its permissions forbid symlinks."""
    try:
        os.symlink(target, link, target_is_directory=directory)
    except (OSError, NotImplementedError):
        return False
    return True


# --------------------------------------------------------------------------- the corpus

Expect = Literal["used", "skipped", "ignored"]


@dataclass(frozen=True)
class BadInput:
    """One file of the corpus and what the engine must do with it."""

    path: Path
    expect: Expect  # used: counted as an image of its class; skipped: reported with a reason; ignored: silently
    what: str  # which case of issue 7 this is
    reason_hint: str | None = None  # a lowercase fragment the skip reason must contain
    first_frame: RGB | None = None  # for multi-frame files: the colour the used frame has


@dataclass
class BadInputCorpus:
    """A dataset folder holding every bad input, with the expected outcome of each."""

    root: Path
    entries: list[BadInput]
    exif: ExifExpectation
    exif_path: Path
    empty_class: Path
    hidden_class: Path  # a class-like folder that must be ignored
    symlinks: bool  # whether the symlink cases could be created here

    def expected_counts(self) -> dict[str, int]:
        """Usable images per class folder name (classes with none are left out)."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            if entry.expect == "used":
                name = entry.path.relative_to(self.root).parts[0]
                counts[name] = counts.get(name, 0) + 1
        return counts

    def by_expectation(self, expect: Expect) -> list[BadInput]:
        return [e for e in self.entries if e.expect == expect]


def write_bad_input_corpus(root: Path | str) -> BadInputCorpus:
    """Write issue 7's bad-input corpus as a dataset under `root` and return the oracle.

    Classes: `usable formats` (odd but decodable files, nested folders, non-ASCII names),
    `broken files` (unusable files plus exactly one good image: a single-image class),
    `ünïcødé class & spaces` (non-ASCII, space-laden folder and file names), `looping`
    (symlink loops, if the OS allows symlinks), `empty class` (no images: left out), and a
    hidden `.hidden class` plus junk (.DS_Store, Thumbs.db, desktop.ini, __MACOSX) that must
    be ignored silently.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    entries: list[BadInput] = []

    def add(
        path: Path, expect: Expect, what: str, reason_hint: str | None = None, first_frame: RGB | None = None
    ) -> None:
        entries.append(BadInput(Path(path), expect, what, reason_hint, first_frame))

    usable = root / "usable formats"
    add(make_image(usable / "cmyk.jpg", mode="CMYK"), "used", "CMYK JPEG")
    add(make_image(usable / "sixteen_bit.png", color=(90, 90, 90), mode="I;16"), "used", "16-bit PNG")
    add(
        write_palette_png_with_transparency(usable / "palette_transparency.png"),
        "used",
        "palette PNG with transparency",
    )
    add(
        make_image(usable / "grey_alpha.png", color=(100, 100, 100), mode="LA", alpha=128),
        "used",
        "grayscale with alpha (LA)",
    )
    add(make_image(usable / "rgba.png", mode="RGBA", alpha=0), "used", "fully transparent RGBA")
    add(make_image(usable / "grey.png", mode="L"), "used", "grayscale")
    add(make_image(usable / "one_pixel.png", size=(1, 1)), "used", "1x1 image")
    add(make_image(usable / "bitmap.bmp"), "used", "BMP")
    add(make_image(usable / "image.webp"), "used", "WebP")
    add(make_image(usable / "UPPER CASE.JPG"), "used", "upper-case extension")
    exif_path = usable / "exif_rotated.jpg"
    exif = write_exif_rotated_jpeg(exif_path)
    add(exif_path, "used", "EXIF-rotated JPEG")
    add(write_animated_gif(usable / "animated.gif"), "used", "animated GIF", first_frame=(200, 0, 0))
    add(write_multipage_tiff(usable / "multipage.tif"), "used", "multi-page TIFF", first_frame=(0, 150, 150))
    add(
        write_png_with_bad_crc(usable / "bad_idat_crc.png", b"IDAT"),
        "used",
        "PNG with a broken pixel-data checksum (Pillow does not verify IDAT CRCs; the pixels are intact)",
    )
    add(make_image(usable / "nested" / "deeper" / "inside.png"), "used", "nested sub-folders")
    add(make_image(usable / "nested" / "spaced ünïcødé name.png"), "used", "non-ASCII and spaces in a file name")
    (usable / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    add(usable / ".DS_Store", "ignored", ".DS_Store")
    (usable / "Thumbs.db").write_bytes(bytes(128))
    add(usable / "Thumbs.db", "ignored", "Thumbs.db")
    (usable / "desktop.ini").write_text("[.ShellClassInfo]\n")
    add(usable / "desktop.ini", "ignored", "desktop.ini")
    add(make_image(usable / ".hidden.png"), "ignored", "hidden image file")
    add(make_image(usable / "._appledouble.jpg"), "ignored", "macOS AppleDouble file")
    (usable / "notes.txt").write_text("not an image, and not named like one\n")
    add(usable / "notes.txt", "ignored", "non-image file")

    broken = root / "broken files"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "zero_bytes.jpg").write_bytes(b"")
    add(broken / "zero_bytes.jpg", "skipped", "zero-byte file", "empty")
    add(write_truncated(broken / "truncated.jpg"), "skipped", "truncated JPEG", "truncated")
    add(write_truncated(broken / "truncated.png"), "skipped", "truncated PNG", "truncated")
    add(write_png_with_bad_crc(broken / "bad_header_crc.png", b"IHDR"), "skipped", "PNG with a broken header checksum")
    (broken / "text.jpg").write_text("this is a text file with an image name\n")
    add(broken / "text.jpg", "skipped", "text file named .jpg", "not an image")
    (broken / "page.png").write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    add(broken / "page.png", "skipped", "HTML file named .png", "not an image")
    add(
        write_decompression_bomb_png(broken / "bomb.png"),
        "skipped",
        "decompression bomb (header 60000x60000)",
        "too large",
    )
    (broken / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(32))
    add(broken / "photo.heic", "skipped", "unsupported image format (HEIC)", "not supported")
    add(make_image(broken / "the_only_good_one.png", color=(10, 10, 10)), "used", "single usable image in a class")

    odd_names = root / "ünïcødé class & spaces"
    for i, name in enumerate(["фото 1.jpg", "写真 2.png", "café au lait 3.webp"]):
        add(make_image(odd_names / name, color=class_color(i)), "used", "non-ASCII folder and file names")

    symlinks = False
    looping = root / "looping"
    add(make_image(looping / "a.png"), "used", "image next to symlink loops")
    add(make_image(looping / "sub" / "b.png"), "used", "image next to symlink loops")
    if try_symlink(looping / "sub" / "back_up", "..", directory=True):
        symlinks = True
        add(looping / "sub" / "back_up", "skipped", "symlink loop to a parent folder", "symbolic link")
        try_symlink(looping / "self_loop.jpg", "self_loop.jpg")
        add(looping / "self_loop.jpg", "skipped", "symlink pointing to itself", "symbolic link")
        try_symlink(looping / "to_dataset_root", os.path.relpath(root, looping), directory=True)
        add(looping / "to_dataset_root", "skipped", "symlink to the dataset root", "symbolic link")
        try_symlink(looping / "a_again.png", "a.png")
        add(looping / "a_again.png", "skipped", "second link to the same image", "same file")
        try_symlink(looping / "dangling.png", "does_not_exist.png")
        add(looping / "dangling.png", "skipped", "dangling symlink", "symbolic link")

    empty_class = root / "empty class"
    empty_class.mkdir(parents=True, exist_ok=True)
    (empty_class / ".DS_Store").write_bytes(bytes(16))

    hidden_class = root / ".hidden class"
    add(make_image(hidden_class / "x.png"), "ignored", "image in a hidden folder")
    add(make_image(root / "__MACOSX" / "usable formats" / "._cmyk.jpg"), "ignored", "macOS zip residue")
    (root / "Thumbs.db").write_bytes(bytes(64))
    (root / "README.txt").write_text("dataset notes\n")

    return BadInputCorpus(
        root=root,
        entries=entries,
        exif=exif,
        exif_path=exif_path,
        empty_class=empty_class,
        symlinks=symlinks,
        hidden_class=hidden_class,
    )
