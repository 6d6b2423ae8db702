"""Issue 6, item 6: memory at scale.

1. Extracting features for 5,000 generated photo-sized JPEGs (500x375) into an empty cache
   keeps peak memory within 1 GiB above the loaded model. Measured in a fresh process: the
   proportional set size (PSS: shared pages split between processes, so forked DataLoader
   workers are not double-counted) of the process and all its children, sampled every
   20 ms, peak minus the level right after the model was loaded. The 5,000-image run uses
   `mma-tiny` (a CPU encodes ViT-B-16 at about one image a second); a shorter ViT-B-16 run
   adds what that model's activations cost at the pipeline's batch size.
2. Scanning 20,000 images with `validate=False` lists every class and image count without
   opening a single image (each Pillow open is counted) and with a small memory rise; the
   `validate=True` scan of the same files (every image decoded) is timed beside it.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import ROOT, Row, apply_threads, base_parser, emit, log, write_photo_like_jpegs
from memory_sampling import PeakSampler, tree_pss_bytes

GiB = 2**30
EXTRACT_LIMIT = 1 * GiB
SCAN_LIMIT = 200 * 2**20  # a listing of 20,000 paths is a few MB; 200 MiB would mean images were held


# --------------------------------------------------------------------------- memory sampling


# --------------------------------------------------------------------------- child measurements


def child_extract(model: str, folder: str, threads: int | None) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.features import default_num_workers, extract_image_features

    paths = sorted(Path(folder).rglob("*.jpg"))
    backbone = load_backbone(model, "random", device="cpu")
    gc.collect()
    loaded = tree_pss_bytes()
    cache_root = Path(tempfile.mkdtemp(prefix="mma-bench-cache-"))
    try:
        started = time.perf_counter()
        with PeakSampler(interval=0.02) as sampler:
            result = extract_image_features(backbone, paths, cache=FeatureCache(cache_root))
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    return {
        "images": len(paths),
        "encoded": result.encoded,
        "failed": len(result.failed),
        "loaded": loaded,
        "peak": sampler.peak,
        "samples": sampler.samples,
        "seconds": seconds,
        "workers": default_num_workers(len(paths), 64),
        "model": model,
    }


def child_scan(folder: str, validate: bool) -> dict:
    from PIL import Image

    from mma_studio.core.dataset import scan_dataset

    opened = {"count": 0}
    original_open = Image.open

    def counting_open(*args, **kwargs):
        opened["count"] += 1
        return original_open(*args, **kwargs)

    Image.open = counting_open
    gc.collect()
    before = tree_pss_bytes()
    started = time.perf_counter()
    with PeakSampler(interval=0.02) as sampler:
        scan = scan_dataset(folder, validate=validate)
    seconds = time.perf_counter() - started
    return {
        "classes": len(scan.class_names),
        "images": scan.image_count,
        "opened": opened["count"],
        "before": before,
        "peak": sampler.peak,
        "seconds": seconds,
    }


def run_child(*arguments: str) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", *arguments]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"child {arguments} failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- the benchmark


def link_copies(sources: list[Path], target: Path, count: int, classes: int) -> None:
    """`count` files in `classes` folders, hard links to `sources` (cheap; each is a real file)."""
    for index in range(count):
        folder = target / f"class_{index % classes:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        destination = folder / f"img_{index:06d}.jpg"
        try:
            os.link(sources[index % len(sources)], destination)
        except OSError:
            shutil.copyfile(sources[index % len(sources)], destination)


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, *rest = sys.argv[2:]
        if kind == "extract":
            print(json.dumps(child_extract(rest[0], rest[1], int(rest[2]) or None)))
        else:
            print(json.dumps(child_scan(rest[0], rest[1] == "validate")))
        return 0

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=None, help="images to extract (default 5000)")
    parser.add_argument("--scan-images", type=int, default=None, help="images to scan (default 20000)")
    parser.add_argument(
        "--large-model",
        default=None,
        help="also extract a few batches with this model (default ViT-B-16; 'none' to skip)",
    )
    parser.add_argument("--large-images", type=int, default=192, help="images for the large-model run")
    args = parser.parse_args(argv)
    apply_threads(args)
    images = args.images or (150 if args.quick else 5000)
    scan_images = args.scan_images or (400 if args.quick else 20000)
    large_model = args.large_model or ("none" if args.quick else "ViT-B-16")
    threads = str(args.threads or 0)

    work = Path(tempfile.mkdtemp(prefix="mma-bench-memory-"))
    rows: list[Row] = []
    try:
        log(f"memory_at_scale: writing {images} JPEGs of 500x375 ...")
        started = time.perf_counter()
        sources = write_photo_like_jpegs(work / "photos", images, classes=10)
        log(f"  written in {time.perf_counter() - started:.0f}s; extracting with mma-tiny in a fresh process ...")
        tiny = run_child("extract", "mma-tiny", str(work / "photos"), threads)
        if tiny["encoded"] != images:
            raise RuntimeError(f"extraction encoded {tiny['encoded']} of {images} images")
        rise = tiny["peak"] - tiny["loaded"]
        rows.append(
            Row(
                f"extract {images} JPEGs (mma-tiny): peak memory above loaded model",
                rise,
                None,
                "B",
                None,
                "< 1 GiB",
                rise < EXTRACT_LIMIT,
                note=f"PSS of process + DataLoader workers, {tiny['samples']} samples; "
                f"model loaded at {tiny['loaded'] / 2**20:.0f} MiB; {images / tiny['seconds']:.0f} img/s",
            )
        )
        if large_model.lower() != "none":
            subset = work / "large"
            link_copies(sources, subset, min(args.large_images, images), classes=4)
            log(f"  extracting {args.large_images} JPEGs with {large_model} in a fresh process ...")
            large = run_child("extract", large_model, str(subset), threads)
            rise = large["peak"] - large["loaded"]
            rows.append(
                Row(
                    f"extract {large['images']} JPEGs ({large_model}): peak memory above loaded model",
                    rise,
                    None,
                    "B",
                    None,
                    "< 1 GiB",
                    rise < EXTRACT_LIMIT,
                    note=f"model loaded at {large['loaded'] / 2**20:.0f} MiB (PSS incl. workers)",
                )
            )

        scan_root = work / "scan"
        link_copies(sources, scan_root, scan_images, classes=20)
        log(f"  scanning {scan_images} images, listing only, then validating every image ...")
        listing = run_child("scan", str(scan_root), "list")
        validated = run_child("scan", str(scan_root), "validate")
        for result in (listing, validated):
            if result["images"] != scan_images or result["classes"] != 20:
                raise RuntimeError(f"scan found {result['images']} images in {result['classes']} classes")
        rise = listing["peak"] - listing["before"]
        rows.append(
            Row(
                f"scan {scan_images} images, validate=False: peak memory rise",
                rise,
                None,
                "B",
                None,
                "< 200 MiB, 0 images opened",
                rise < SCAN_LIMIT and listing["opened"] == 0,
                note=f"{listing['classes']} classes listed; {listing['opened']} images opened",
            )
        )
        rows.append(
            Row(
                f"scan {scan_images} images: validate=False vs validate=True time",
                listing["seconds"],
                validated["seconds"],
                "s",
                validated["seconds"] / max(listing["seconds"], 1e-9),
                "",
                None,
                note=f"validate=True opened {validated['opened']} images, peak rise "
                f"{(validated['peak'] - validated['before']) / 2**20:.0f} MiB",
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit(rows, args, "memory_at_scale")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
