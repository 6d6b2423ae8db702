"""Classify images with an ONNX model exported by MMA Studio. Needs only onnxruntime, numpy
and Pillow (`pip install onnxruntime numpy pillow`):

    python predict.py model.onnx photo.jpg [more.jpg or a folder ...] [--top-k 5] [--json]

The model's metadata (the JSON beside it, `model.onnx.json`, or the same JSON inside the
model) says how to turn a picture into the model's input. This file follows it step by step
exactly as MMA Studio does, so the probabilities printed here are the ones
`mma-studio predict` prints for the same adapter, classes and images:

1. decode: EXIF orientation applied, first frame, RGB (transparent pixels on white, 16-bit
   grey scaled to 8 bits); a JPEG much larger than needed is decoded at 1/2, 1/4 or 1/8 scale
   by libjpeg, never below `decode.jpeg_min_side` pixels on a side (as MMA Studio does);
2. resize (Pillow, bicubic or bilinear) and center-crop to the input size;
3. scale to [0, 1], subtract the mean and divide by the std per channel, float32, N x 3 x H x W.

The model's outputs are the probabilities and the logits over `class_names`, in that order.
MMA Studio writes this file beside each ONNX export; it is yours to change.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

METADATA_KEY = "mma_studio"  # the ONNX metadata entry holding the whole JSON
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
BATCH_SIZE = 32


# ------------------------------------------------------------------------------ metadata


def load_metadata(model_path: Path | str) -> dict:
    """The export's JSON: `model.onnx.json` beside the model, else the copy inside the model."""
    beside = Path(str(model_path) + ".json")
    if beside.is_file():
        return json.loads(beside.read_text(encoding="utf-8"))
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY])


# ------------------------------------------------------------------------------ preprocessing


def decode_image(path: Path | str, jpeg_min_side: int | None) -> Image.Image:
    """Open, decode and return an upright 8-bit RGB picture."""
    with Image.open(path) as image:
        if jpeg_min_side:
            image.draft(image.mode, (int(jpeg_min_side), int(jpeg_min_side)))  # only JPEGs use it
        image.load()
        return to_rgb(ImageOps.exif_transpose(image))


def to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16/32-bit grey: v // 257 when over 8 bits
        array = np.asarray(image).astype(np.int64)
        if array.size and array.max() > 255:
            array = array // 257
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def resize_and_crop(image: Image.Image, preprocessing: dict) -> Image.Image:
    """Resize as the model's preprocessing says, then center-crop to the input size."""
    height, width = preprocessing["input_size"]
    resample = Image.Resampling.BICUBIC if preprocessing["interpolation"] == "bicubic" else Image.Resampling.BILINEAR
    mode = preprocessing["resize_mode"]
    if mode == "squash":
        return image if image.size == (width, height) else image.resize((width, height), resample)
    if mode != "shortest" or height != width:
        raise ValueError(f"this predict.py does not implement the {mode!r} resize of a {height}x{width} input")
    old_width, old_height = image.size
    short, long = (old_width, old_height) if old_width <= old_height else (old_height, old_width)
    new_short, new_long = height, int(height * long / short)
    size = (new_short, new_long) if old_width <= old_height else (new_long, new_short)
    if size != image.size:
        image = image.resize(size, resample)
    top = round((image.height - height) / 2.0)
    left = round((image.width - width) / 2.0)
    return image.crop((left, top, left + width, top + height))


def to_pixels(image: Image.Image, preprocessing: dict) -> np.ndarray:
    """3 x H x W float32: scaled to [0, 1], minus the mean, over the std (float32 throughout)."""
    array = np.asarray(image.convert("RGB"), dtype=np.uint8).astype(np.float32) / np.float32(255)
    mean = np.asarray(preprocessing["mean"], dtype=np.float32)
    std = np.asarray(preprocessing["std"], dtype=np.float32)
    return ((array - mean) / std).transpose(2, 0, 1).copy()


def prepare(path: Path | str, preprocessing: dict) -> np.ndarray:
    image = decode_image(path, preprocessing.get("jpeg_min_side"))
    return to_pixels(resize_and_crop(image, preprocessing), preprocessing)


# ------------------------------------------------------------------------------ classifying


def image_paths(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            paths += sorted(
                p
                for p in item.rglob("*")
                if p.is_file()
                and p.suffix.lower() in IMAGE_EXTENSIONS
                and not any(part.startswith(".") for part in p.relative_to(item).parts)
            )
        else:
            paths.append(item)
    return paths


def classify(model_path: Path | str, paths: list[Path], top_k: int = 5) -> list[dict]:
    """One dict per image: {"path", "top": [{"label", "probability"}, ...]} or {"path", "error"}."""
    import onnxruntime

    metadata = load_metadata(model_path)
    preprocessing = metadata["preprocessing"]
    names = metadata["class_names"]
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    results: list[dict] = []
    for start in range(0, len(paths), BATCH_SIZE):
        batch, kept = [], []
        for path in paths[start : start + BATCH_SIZE]:
            try:
                batch.append(prepare(path, preprocessing))
                kept.append(path)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
                results.append({"path": str(path), "error": f"cannot read this image ({exc})"})
        if not batch:
            continue
        probabilities = session.run(["probabilities"], {input_name: np.stack(batch)})[0]
        for path, row in zip(kept, probabilities):
            order = np.argsort(-row, kind="stable")[: max(1, min(top_k, len(names)))]
            results.append(
                {"path": str(path), "top": [{"label": names[i], "probability": round(float(row[i]), 6)} for i in order]}
            )
    position = {str(p): i for i, p in enumerate(paths)}
    return sorted(results, key=lambda r: position.get(r["path"], 0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Classify images with an MMA Studio ONNX model.")
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("images", nargs="+", help="image files or folders")
    parser.add_argument("--top-k", type=int, default=5, help="how many classes to print per image (default: 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image")
    args = parser.parse_args(argv)
    paths = image_paths(args.images)
    if not paths:
        print("predict.py: no images to classify", file=sys.stderr)
        return 2
    for result in classify(args.model, paths, args.top_k):
        if args.json:
            print(json.dumps(result))
        elif "error" in result:
            print(f"{result['path']}: skipped ({result['error']})")
        else:
            tops = ", ".join(f"{t['label']} {100 * t['probability']:.1f}%" for t in result["top"])
            print(f"{result['path']}: {tops}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
