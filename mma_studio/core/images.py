"""Decode one image file into an upright RGB picture, or say exactly why it cannot be used.

Every path through the engine (scan validation, feature extraction, prediction) opens images
here, so "usable" means the same thing everywhere.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# The size limit is enforced explicitly in `load_rgb_image` (thread-safe), so Pillow's own
# warning between 1x and 2x the limit is only noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


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
        size = path.stat().st_size
    except OSError as exc:
        raise UnusableImageError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if size == 0:
        raise UnusableImageError(path, "empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            _refuse_oversized(path, image)
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


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale to 8 bits instead of clipping to white.
        import numpy as np

        array = np.asarray(image, dtype=np.float64)
        peak = array.max() if array.size else 0
        scale = 255.0 / 65535.0 if peak > 255 else 1.0
        array = np.clip(array * scale, 0, 255).astype("uint8")
        return Image.fromarray(array, mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        # Composite transparent pixels onto white, as viewers show them.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
