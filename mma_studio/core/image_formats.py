"""Which image files the installed Pillow can open, by extension.

The list is derived from Pillow itself (its registered openers and the codecs it was built
with), so an installation that decodes AVIF accepts `.avif` and one without libavif skips
such files with a reason, instead of a fixed list that is wrong either way. Left out on
purpose: EPS/PostScript (Pillow runs Ghostscript, an interpreter, on them: nothing in a
user's folder is executed) and Pillow's identify-only stubs (BUFR, GRIB, HDF5, WMF without a
handler, MPEG), which can name a file's format but never decode it.
"""

from __future__ import annotations

import functools
import sys

# Formats Pillow registers but cannot decode here, or must not decode (see the docstring).
_NEVER = frozenset({"EPS", "MPEG"})
# Formats whose opener needs a codec Pillow may be built without (`PIL.features` name).
_NEEDS_FEATURE = {"JPEG": "jpg", "MPO": "jpg", "JPEG2000": "jpg_2000", "WEBP": "webp", "AVIF": "avif"}

# Formats people meet in photo folders, with their extensions; `check` names those missing here.
COMMON_FORMATS = {
    "JPEG": (".jpg", ".jpeg"),
    "PNG": (".png",),
    "WebP": (".webp",),
    "AVIF": (".avif",),
    "HEIC/HEIF": (".heic", ".heif"),
    "JPEG XL": (".jxl",),
    "JPEG 2000": (".jp2",),
    "TIFF": (".tif", ".tiff"),
    "GIF": (".gif",),
    "BMP": (".bmp",),
}
# Images no Pillow opens (vector, camera raw): reported as unsupported rather than ignored.
_NEVER_READABLE = (".svg", ".raw", ".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2", ".eps", ".ps")


@functools.cache
def readable_extensions() -> frozenset[str]:
    """Lower-case extensions (with the dot) of the formats the installed Pillow can open."""
    from PIL import Image, features

    Image.init()
    readable = set()
    for extension, format_name in Image.registered_extensions().items():
        if format_name in _NEVER or not _can_open(Image, format_name):
            continue
        feature = _NEEDS_FEATURE.get(format_name)
        if feature is not None and not features.check(feature):
            continue
        readable.add(extension.lower())
    return frozenset(readable)


def _can_open(image_module, format_name: str) -> bool:
    if format_name == "MPO":
        return "JPEG" in image_module.OPEN  # the JPEG opener reads MPO files
    opener = image_module.OPEN.get(format_name)
    if opener is None:
        return False
    from PIL import ImageFile

    factory = opener[0]
    if isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile):
        module = sys.modules.get(factory.__module__)
        return getattr(module, "_handler", None) is not None  # a stub decodes only with a handler
    return True


@functools.cache
def unsupported_image_extensions() -> frozenset[str]:
    """Extensions of images this installation cannot open: skipped with a reason, not ignored."""
    known = {ext for extensions in COMMON_FORMATS.values() for ext in extensions} | set(_NEVER_READABLE)
    return frozenset(known - readable_extensions())


def missing_common_formats() -> list[str]:
    """Names of common photo formats this installation cannot open, e.g. ["HEIC/HEIF", "JPEG XL"]."""
    readable = readable_extensions()
    return [name for name, extensions in COMMON_FORMATS.items() if not any(e in readable for e in extensions)]
