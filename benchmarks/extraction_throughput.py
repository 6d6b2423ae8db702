"""Issue 6, item 3: feature extraction from image files vs the model's own forward limit.

- limit: `Backbone.encode_images` on preprocessed pixel tensors already in memory (on a GPU,
  already on the device), in batches of the pipeline's batch size, on the same device and
  threads (what the model alone can do);
- ours: `extract_image_features` from JPEG files into an empty on-disk cache (decode, EXIF,
  resize, batch in a DataLoader, encode, float16 cache write), with its default batch size
  and worker count unless overridden;
- naive: one image at a time, no DataLoader (decode, preprocess, encode a batch of 1), on
  the first 32 images (its rate is per image).

Target: the pipeline reaches at least 85% of the limit. `--sweep` also measures the choices
the defaults rest on (batch size, bf16 autocast vs float32, DataLoader workers) and prints
them as extra rows.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from bench_common import (
    Row,
    apply_threads,
    base_parser,
    emit,
    interleaved_medians,
    log,
    machine_description,
    rate_row,
    write_photo_like_jpegs,
)

MIN_FRACTION = 0.85
NAIVE_IMAGES = 32  # the naive loop's rate is per image; a subset keeps a CPU run affordable


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0], device=True)
    parser.add_argument("--model", default=None, help="open_clip architecture (default ViT-B-16; --quick: mma-tiny)")
    parser.add_argument("--images", type=int, default=None, help="images per run (default 3 batches)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the pipeline's own default")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: the pipeline's own)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 2 on a CPU, else 3)")
    parser.add_argument("--sweep", action="store_true", help="also measure batch sizes, bf16 autocast and workers")
    args = parser.parse_args(argv)
    apply_threads(args)

    import torch

    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.features import default_batch_size, default_num_workers, extract_image_features
    from mma_studio.core.images import load_rgb_image

    model_name = args.model or ("mma-tiny" if args.quick else "ViT-B-16")
    rounds = args.rounds or (1 if args.quick else (2 if args.device == "cpu" else 3))
    log(f"extraction_throughput on {machine_description(args.device)}")
    backbone = load_backbone(model_name, "random", device=args.device)
    batch_size = args.batch_size or (8 if args.quick else default_batch_size(backbone.device))
    # Three batches: enough for the DataLoader to start a worker and overlap decoding.
    count = args.images or (2 * batch_size if args.quick else 3 * batch_size)
    workers = args.workers if args.workers is not None else default_num_workers(count, batch_size)
    work = Path(tempfile.mkdtemp(prefix="mma-bench-extract-"))
    try:
        log(f"  writing {count} JPEGs of 500x375 ...")
        paths = write_photo_like_jpegs(work / "images", count, classes=4)
        pixels = torch.stack([backbone.preprocess(load_rgb_image(p)) for p in paths])
        # On a GPU the limit starts from tensors already on the device (no host-to-device copy).
        resident = pixels.to(backbone.device)
        runs = iter(range(10**6))

        def limit():
            for start in range(0, count, batch_size):
                backbone.encode_images(resident[start : start + batch_size])

        model_busy: list[tuple[float, float]] = []  # per pipeline run: (seconds inside the model, wall seconds)
        encode_images = backbone.encode_images

        def pipeline():
            cache = FeatureCache(work / f"cache-{next(runs)}")  # empty: every image is encoded
            inside = [0.0]

            def timed_encode(pixels):
                began = time.perf_counter()
                try:
                    return encode_images(pixels)
                finally:
                    inside[0] += time.perf_counter() - began

            backbone.encode_images = timed_encode  # the pipeline calls it once per batch
            began = time.perf_counter()
            try:
                result = extract_image_features(
                    backbone, paths, cache=cache, batch_size=batch_size, num_workers=workers
                )
            finally:
                backbone.encode_images = encode_images
            model_busy.append((inside[0], time.perf_counter() - began))
            assert result.encoded == count and not result.failed, (result.encoded, result.failed)

        naive_paths = paths[: min(count, NAIVE_IMAGES)]

        def naive():
            for path in naive_paths:
                backbone.encode_images(backbone.preprocess(load_rgb_image(path)).unsqueeze(0))

        # Warm the model once (first-call kernel set-up); the runs themselves are long enough
        # that further warm-up would only double the cost of a CPU run.
        backbone.encode_images(pixels[:batch_size])
        log(f"  {model_name}, batch {batch_size}, {workers} DataLoader worker(s), {rounds} interleaved rounds ...")
        times = interleaved_medians(
            {"limit": limit, "pipeline": pipeline, "naive": naive}, rounds=rounds, device=str(backbone.device), warmup=0
        )
        sizes = {"limit": count, "pipeline": count, "naive": len(naive_paths)}
        rate = {name: sizes[name] / seconds for name, seconds in times.items()}
        busy = sorted(model_busy, key=lambda pair: pair[1])[len(model_busy) // 2]  # the median run
        setting = (
            f"{model_name} random weights, batch {batch_size}, {workers} worker(s), {backbone.device}, "
            f"{count} JPEGs 500x375; in the pipeline the model was busy {busy[0] / busy[1]:.0%} of the time, "
            f"at {count / busy[0]:.3g} img/s while busy"
        )
        fraction = rate["pipeline"] / rate["limit"]
        rows = [
            Row(
                "extraction: pipeline from files vs model limit",
                rate["pipeline"],
                rate["limit"],
                "img/s",
                fraction,
                f">= {MIN_FRACTION:.0%} of limit",
                fraction >= MIN_FRACTION,
                note=setting,
            ),
            rate_row("extraction: pipeline vs naive one-by-one loop", rate["pipeline"], rate["naive"], "img/s"),
        ]
        if args.sweep:
            rows += sweep(backbone, paths, pixels, work, batch_size, workers, rounds, args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit(rows, args, "extraction_throughput")
    return 0


def sweep(backbone, paths, pixels, work: Path, batch_size: int, workers: int, rounds: int, quick: bool) -> list[Row]:
    """The measurements behind the defaults: each alternative against the default, interleaved."""
    import torch
    import torch.nn.functional as F

    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.features import extract_image_features

    count = len(paths)
    device = str(backbone.device)
    rows: list[Row] = []
    subset = pixels[: min(count, 16 if quick else 64)]  # the model-only sweeps run on one batch's worth

    def encode_all(size: int, bf16: bool):
        context = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 and device == "cpu" else contextlib.nullcontext()
        outputs = []
        with context:
            for start in range(0, len(subset), size):
                outputs.append(backbone.encode_images(subset[start : start + size]))
        return torch.cat(outputs)

    reference = min(batch_size, len(subset))
    # Precision: bf16 autocast on the CPU, only worth it where it measures faster.
    if device == "cpu":
        log("  sweep: bf16 autocast vs float32 ...")
        times = interleaved_medians(
            {"fp32": lambda: encode_all(reference, False), "bf16": lambda: encode_all(reference, True)},
            rounds=rounds,
            device=device,
            warmup={"fp32": 0, "bf16": 1},
        )
        cosine = F.cosine_similarity(encode_all(reference, False), encode_all(reference, True)).min().item()
        rows.append(
            rate_row(
                f"model limit: bf16 autocast vs float32 (batch {reference})",
                len(subset) / times["bf16"],
                len(subset) / times["fp32"],
                "img/s",
                note=f"min cosine(bf16, fp32 features) {cosine:.4f}",
            )
        )

    # Batch size: the model limit at a few sizes against the default.
    sizes = [s for s in ((4, 8) if quick else (8, 16, 32, 64)) if s != reference and s <= len(subset)]
    log(f"  sweep: batch sizes {sizes} vs {reference} ...")
    contenders = {f"b{s}": (lambda s=s: encode_all(s, False)) for s in sizes}
    contenders["default"] = lambda: encode_all(reference, False)
    times = interleaved_medians(contenders, rounds=rounds, device=device, warmup=0)
    for s in sizes:
        rows.append(
            rate_row(
                f"model limit: batch {s} vs batch {reference}",
                len(subset) / times[f"b{s}"],
                len(subset) / times["default"],
                "img/s",
            )
        )

    # DataLoader workers: the whole pipeline with 0..2 workers against the default.
    runs = iter(range(10**6))

    def pipeline_with(n: int):
        def run():
            extract_image_features(
                backbone, paths, cache=FeatureCache(work / f"sweep-{next(runs)}"), batch_size=batch_size, num_workers=n
            )

        return run

    options = [n for n in (0, 1, 2) if n != workers]
    contenders = {f"w{n}": pipeline_with(n) for n in options}
    contenders["default"] = pipeline_with(workers)
    log(f"  sweep: pipeline with {options} workers vs {workers} ...")
    times = interleaved_medians(contenders, rounds=rounds, device=device, warmup=0)
    for n in options:
        rows.append(
            rate_row(f"pipeline: {n} workers vs {workers}", count / times[f"w{n}"], count / times["default"], "img/s")
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
