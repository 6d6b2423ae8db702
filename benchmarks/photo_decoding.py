"""Decoding phone photos: reduced-scale JPEG decoding against a full decode, measured side by side.

A 12-megapixel photo holds 18 times the pixels a 224-pixel CLIP looks at. The engine asks
libjpeg to decode such a JPEG at 1/2, 1/4 or 1/8 scale, never below twice the model's input
side (`Backbone.load_image`), and a folder scan proves a file usable with a 1/8-scale decode
(`dataset.VALIDATION_MIN_SIDE`). Both still read and check the whole file.

- decode + preprocess for the model (ViT-B-16's eval preprocessing, 224 px): ours vs a full
  decode, the images/s ratio; the note gives the fidelity: PSNR of the preprocessed tensors
  against the full decode (lowest over the images) and the largest pixel difference.
- scan validation: ours vs a full decode, the images/s ratio.

Photo-like JPEGs (gradients, shapes, mild noise, quality 92) are generated at 4000x3000.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

from bench_common import base_parser, emit, interleaved_medians, log, rate_row

PHOTO_SIZE = (4000, 3000)
MODEL_SIDE = 224


def write_photos(folder: Path, count: int, size: tuple[int, int]) -> list[Path]:
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(0)
    width, height = size
    paths = []
    for index in range(count):
        image = Image.new("RGB", size, tuple(int(v) for v in rng.integers(60, 200, 3)))
        draw = ImageDraw.Draw(image)
        for shape in range(120):
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            r = int(rng.integers(width // 100, width // 6))
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            if shape % 3 == 0:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
            elif shape % 3 == 1:
                draw.rectangle([x - r, y - r // 2, x + r, y + r // 2], fill=colour)
            else:
                draw.line(
                    [x, y, x + int(rng.integers(-r, r)), y + int(rng.integers(-r, r))],
                    fill=colour,
                    width=int(rng.integers(2, 30)),
                )
        image = image.filter(ImageFilter.GaussianBlur(1.5))
        noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, (height, width, 3)).astype(np.float32)
        path = folder / f"photo_{index:03d}.jpg"
        Image.fromarray(np.clip(noisy, 0, 255).astype("uint8")).save(path, quality=92)
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=None, help="photos (default 6; --quick 2)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; --quick 1)")
    args = parser.parse_args(argv)
    count = args.photos or (2 if args.quick else 6)
    rounds = args.rounds or (1 if args.quick else 3)
    size = (800, 600) if args.quick else PHOTO_SIZE

    import open_clip
    import torch

    from mma_studio.core.backbone import DECODE_SIDE_FACTOR
    from mma_studio.core.dataset import VALIDATION_MIN_SIDE
    from mma_studio.core.images import load_rgb_image

    torch.set_num_threads(1)
    preprocess = open_clip.image_transform(MODEL_SIDE, is_train=False)  # what ViT-B-16 uses
    min_side = DECODE_SIDE_FACTOR * MODEL_SIDE
    folder = Path(tempfile.mkdtemp(prefix="mma-bench-photos-"))
    try:
        log(f"photo_decoding: writing {count} photo-like JPEGs of {size[0]}x{size[1]} ...")
        paths = write_photos(folder, count, size)

        # Fidelity first: the same photos both ways, compared after the model's preprocessing.
        psnrs, worst = [], 0.0
        for path in paths:
            full = preprocess(load_rgb_image(path))
            ours = preprocess(load_rgb_image(path, min_side=min_side))
            error = (full - ours) * torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)  # back to 0..1
            mse = float((error**2).mean())
            psnrs.append(10 * math.log10(1 / mse) if mse > 0 else math.inf)
            worst = max(worst, float(error.abs().max()) * 255)

        def decode_all(min_side_value):
            return lambda: [preprocess(load_rgb_image(p, min_side=min_side_value)) for p in paths]

        def validate_all(min_side_value):
            return lambda: [load_rgb_image(p, min_side=min_side_value) for p in paths]

        log("  timing decode + preprocess and scan validation, interleaved ...")
        seconds = interleaved_medians(
            {
                "ours": decode_all(min_side),
                "full": decode_all(None),
                "scan ours": validate_all(VALIDATION_MIN_SIDE),
                "scan full": validate_all(None),
            },
            rounds=rounds,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    megapixels = size[0] * size[1] / 1e6
    rows = [
        rate_row(
            f"decode + preprocess {megapixels:.0f}-MP JPEGs for a {MODEL_SIDE}-px model: reduced vs full decode",
            count / seconds["ours"],
            count / seconds["full"],
            "img/s",
            note=f"decoded at >= {min_side} px; vs full decode: PSNR >= {min(psnrs):.1f} dB, "
            f"largest pixel difference {worst:.1f}/255; 1 thread",
        ),
        rate_row(
            f"scan validation of {megapixels:.0f}-MP JPEGs: 1/8-scale vs full decode",
            count / seconds["scan ours"],
            count / seconds["scan full"],
            "img/s",
            note="both read and check the whole file; 1 thread",
        ),
    ]
    emit(rows, args, "photo_decoding")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
