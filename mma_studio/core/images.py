"""Decode one image file into an upright RGB picture, or say exactly why it cannot be used.

Every path through the engine (scan validation, feature extraction, prediction, the Demo, the
thumbnails) opens images here, so "usable" means the same thing everywhere, and so do the
memory bounds:

- pixels: at most Pillow's `MAX_IMAGE_PIXELS` per file (a decompression-bomb guard), checked
  from the header before anything is decoded;
- geometry: CLIP's preprocessing resizes the *shortest* side to the model's input side S and
  keeps the centre square, so a W x H picture becomes S * S * (W/H) pixels before the crop.
  A 300000 x 1 strip (957 bytes on disk) would become a 67-megapixel intermediate (1.6 GiB
  with its float copies). An aspect ratio over `MAX_ASPECT_RATIO` is refused, from the header,
  before decoding, which caps that intermediate at `MAX_ASPECT_RATIO * S^2` pixels (see
  `resized_pixels`). Refused rather than cropped: the model would see under 1/20 of such a
  picture, and a user told why can crop it as they mean to, while a silent crop would train
  on a sliver they never chose;
- depth: 16- and 32-bit grey images are scaled to 8 bits strip by strip, in integers, never
  as full-size float64 copies (three of them used to cost 2.4 GiB for a 9400 x 9400 PNG).
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from mma_studio.core.image_formats import readable_extensions
from mma_studio.core.user_files import UserFileError, open_regular_file

# The size limit is enforced explicitly in `load_rgb_image` (thread-safe), so Pillow's own
# warning between 1x and 2x the limit is only noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

MAX_ASPECT_RATIO = 20  # longest side / shortest side; panoramas are 2:1 to 6:1, 360-degree ones ~8:1
_STRIP_PIXELS = 1 << 20  # 16-bit images are converted this many pixels at a time

_decoding = threading.local()

# Exactly what the installed Pillow can open (AVIF where it has libavif, and so on).
IMAGE_EXTENSIONS = readable_extensions()


class UnusableImageError(Exception):
    """The file is not a usable image; `reason` is a short human-readable explanation."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def has_image_extension(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_rgb_image(path: Path | str, min_side: int | None = None) -> Image.Image:
    """Open, fully decode, EXIF-transpose and convert to RGB (first frame of animations).

    CMYK, 16-bit, palette, alpha and grayscale inputs all come out as 8-bit RGB. Anything
    that cannot be decoded raises `UnusableImageError` with the reason.

    With `min_side`, a JPEG larger than needed is decoded at 1/2, 1/4 or 1/8 scale by libjpeg
    itself (DCT scaling), never below `min_side` pixels on either side. The whole file is
    still read and checked; a 12-megapixel photo decodes ~3.5x faster for a 224-pixel model
    (benchmarks/photo_decoding.py). Other formats are decoded at full size.
    """
    path = Path(path)
    try:
        stream = open_regular_file(path, what="an image")
        size = os.fstat(stream.fileno()).st_size
    except FileNotFoundError as exc:
        raise UnusableImageError(path, "cannot read file (no such file)") from exc
    except PermissionError as exc:
        raise UnusableImageError(path, "permission denied") from exc
    except UserFileError as exc:
        raise UnusableImageError(path, exc.reason) from exc
    except OSError as exc:
        raise UnusableImageError(path, f"cannot read file ({exc.strerror or exc})") from exc
    with stream:
        if size == 0:
            raise UnusableImageError(path, "empty file (0 bytes)")
        _decoding.path = path  # so a decoder's warning can be reported with the file's name
        try:
            return _decode(path, stream, min_side)
        finally:
            _decoding.path = None


def file_being_decoded() -> Path | None:
    """The file this thread is decoding now, if any: Pillow's warnings ("Tag data larger than
    file") do not name their file, and a warning printer can add it from here."""
    return getattr(_decoding, "path", None)


def _decode(path: Path, stream, min_side: int | None) -> Image.Image:
    try:
        with Image.open(stream) as image:
            _refuse_oversized(path, image)
            _refuse_thin(path, image.width, image.height)
            if min_side:
                image.draft(image.mode, (int(min_side), int(min_side)))  # a no-op for other formats
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except Image.DecompressionBombError as exc:
        raise UnusableImageError(path, f"too large to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise UnusableImageError(path, "not an image file Pillow can read") from exc
    except OSError as exc:
        raise UnusableImageError(path, f"damaged or truncated image ({exc})") from exc
    except (ValueError, SyntaxError, MemoryError, EOFError) as exc:
        raise UnusableImageError(path, f"cannot decode image ({exc})") from exc


def _refuse_oversized(path: Path, image: Image.Image) -> None:
    """Refuse images over Pillow's pixel limit before decoding (a decompression-bomb guard)."""
    limit = Image.MAX_IMAGE_PIXELS
    pixels = image.width * image.height
    if limit is not None and pixels > limit:
        raise UnusableImageError(
            path, f"too large to decode safely ({image.width}x{image.height} = {pixels} pixels, limit {limit})"
        )


def resized_pixels(width: int, height: int, side: int) -> int:
    """Pixels of the picture after "resize the shortest side to `side`" (CLIP's preprocessing,
    before its centre crop). For an image this module accepts, at most `MAX_ASPECT_RATIO * side**2`."""
    short, long = sorted((max(1, int(width)), max(1, int(height))))
    return side * max(side, -(-long * side // short))


def _refuse_thin(path: Path, width: int, height: int) -> None:
    """Refuse strips whose preprocessing would cost memory out of all proportion to the file."""
    short, long = sorted((int(width), int(height)))
    if short < 1 or long > MAX_ASPECT_RATIO * short:
        raise UnusableImageError(
            path,
            f"too thin to use ({width}x{height} pixels: its sides differ more than {MAX_ASPECT_RATIO}:1, and the "
            "model sees only a square at the centre); crop it to the part that shows the subject",
        )


def _grey_to_8_bits(image: Image.Image) -> Image.Image:
    """16- or 32-bit grey -> 8-bit "L", scaled (v // 257, so 65535 -> 255) when the values use
    more than 8 bits, clipped otherwise; a strip at a time, in integers: the extra memory is
    one byte per pixel plus one strip, not three float64 copies of the whole picture."""
    import numpy as np

    width, height = image.size
    extrema = image.getextrema() if width and height else (0, 0)
    high = int(extrema[1])  # type: ignore[arg-type]  # one band (grey): (min, max)
    scaled = high > 255
    out = np.empty((height, width), dtype=np.uint8)
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        strip = np.asarray(image.crop((0, top, width, min(height, top + rows))))
        if scaled:
            strip = strip // 257
        out[top : top + strip.shape[0]] = np.clip(strip, 0, 255)
    return Image.fromarray(out, mode="L")


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grayscale: scale to 8 bits instead of clipping to white.
        return _grey_to_8_bits(image).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        # Composite transparent pixels onto white, as viewers show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
