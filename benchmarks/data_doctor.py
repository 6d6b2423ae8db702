"""The data doctor against planted problems: precision and recall of each finding.

Generated shapes data (the example dataset's renderer) with `mma-tiny · shapes`:
- duplicates: exact copies, resized (x2), re-encoded (JPEG q75), centred-cropped (5 % a
  side) and corner-cropped (10 % off one corner) copies of random images, each in the original's class folder; recall per kind, and
  precision of the duplicate and leak findings (a group counts as right when it holds a
  planted copy and its original);
- leaks: the planted copies whose original and copy land in different sets of the split;
- label errors: 5 %, 10 % and 20 % of the images moved into another class's folder; a
  finding is right when it names a moved image (precision) and recall is over the moved ones.
Also the time of one check (features cached) per dataset. Rows: `ours` is the figure,
no baseline.

`--scale`: the similar-pairs search alone on generated 512-d embeddings (half around cluster
centres, half isotropic, 5 % planted near-duplicates at cosine 0.90 to 0.99,
`mma_studio.toy.planted_embeddings`) at 5,000 / 20,000 / 50,000 rows: the k-means cells
(`cell_pairs`, ours) against the exact tiles (baseline) measured in the same run, time and
peak tensor memory, and the share of the exact pairs the cells find.

    python benchmarks/data_doctor.py            # 30 classes x 40 images (the example's size)
    python benchmarks/data_doctor.py --quick    # 6 classes x 10 images: checks it runs
    python benchmarks/data_doctor.py --scale    # similar pairs, 5,000 to 50,000 x 512
    python benchmarks/data_doctor.py --scale --quick  # 2,000 and 6,000 rows
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_common import (
    PeakTensorMemory,
    Row,
    apply_threads,
    base_parser,
    cost_row,
    emit,
    interleaved_medians,
    log,
)

COPY_KINDS = ("exact", "resized", "jpeg", "crop", "corner crop")


def write_data(root: Path, classes: int, per_class: int) -> Path:
    from mma_studio.toy.example_dataset import write_example_dataset

    write_example_dataset(root, per_class=per_class, seed=0)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    keep = set(folders[:: max(1, len(folders) // classes)][:classes])
    for folder in folders:
        if folder not in keep:
            shutil.rmtree(folder)
    return root


def plant_copies(root: Path, per_kind: int, rng: random.Random) -> list[tuple[Path, Path, str]]:
    from PIL import Image

    images = sorted(root.glob("*/*.png"))
    chosen = rng.sample(images, per_kind * len(COPY_KINDS))
    planted = []
    for number, source in enumerate(chosen):
        kind = COPY_KINDS[number % len(COPY_KINDS)]
        picture = Image.open(source).convert("RGB")
        width, height = picture.size
        if kind == "exact":
            copy = source.with_name(f"copy{number}_exact.png")
            shutil.copy(source, copy)
        elif kind == "resized":
            copy = source.with_name(f"copy{number}_resized.png")
            picture.resize((width * 2, height * 2), Image.Resampling.BICUBIC).save(copy)
        elif kind == "jpeg":
            copy = source.with_name(f"copy{number}_jpeg.jpg")
            picture.save(copy, quality=75)
        elif kind == "crop":
            copy = source.with_name(f"copy{number}_crop.png")
            cut = round(0.05 * width)
            picture.crop((cut, cut, width - cut, height - cut)).save(copy)
        else:  # 10 % off one corner, a different corner each time
            copy = source.with_name(f"copy{number}_corner.png")
            cut = round(0.10 * width)
            left, top = ((cut, cut), (0, cut), (cut, 0), (0, 0))[(number // len(COPY_KINDS)) % 4]
            picture.crop((left, top, left + width - cut, top + height - cut)).save(copy)
        planted.append((source, copy, kind))
    return planted


def plant_label_errors(root: Path, rate: float, rng: random.Random) -> set[Path]:
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    images = sorted(root.glob("*/*.png"))
    moved = set()
    for source in rng.sample(images, round(rate * len(images))):
        target = rng.choice([f for f in folders if f != source.parent])
        destination = target / f"moved_{source.parent.name}_{source.name}"
        source.rename(destination)
        moved.add(destination)
    return moved


def check(root: Path, cache_dir: Path, backbone, shots: int, val: int):
    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.doctor import examine_dataset
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings

    scan = scan_dataset(root)
    settings = RunSettings(model="mma-tiny", pretrained="shapes", device="cpu", shots=shots, val_per_class=val)
    cache = FeatureCache(cache_dir)
    examine_dataset(scan, settings, backbone=backbone, cache=cache)  # extraction, cached for the timed run
    started = time.perf_counter()
    report = examine_dataset(scan, settings, backbone=backbone, cache=cache)
    return scan, settings, report, time.perf_counter() - started


def reported(figure: str, value: float, note: str, unit: str = "") -> Row:
    """A figure on its own: no baseline, no target (module doc)."""
    return Row(figure, value, None, unit, None, "", None, note)


def ratio(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def scale_rows(quick: bool) -> list[Row]:
    """Cells against exact tiles on the same features, interleaved (module doc)."""
    from mma_studio.core.doctor.similar_pairs import similar_pairs
    from mma_studio.toy.planted_embeddings import planted_embeddings

    rows: list[Row] = []
    for n in (2000, 6000) if quick else (5000, 20000, 50000):
        log(f"similar pairs: {n:,} x 512")
        features = planted_embeddings(n, 512, clustered=0.5, seed=n)
        found: dict[str, set] = {}
        peaks: dict[str, int] = {}
        for name, exact in (("exact", True), ("cells", False)):
            with PeakTensorMemory() as memory:
                first, second, _ = similar_pairs(features, 0.9, exact=exact)
            peaks[name] = memory.peak
            found[name] = set(zip(first.tolist(), second.tolist()))
        seconds = interleaved_medians(
            {
                "exact": lambda rows=features: similar_pairs(rows, 0.9, exact=True),
                "cells": lambda rows=features: similar_pairs(rows, 0.9, exact=False),
            },
            rounds=3,
            warmup=0,
        )
        both = len(found["exact"] & found["cells"])
        rows.append(
            cost_row(
                f"similar pairs {n:,} x 512: time, cells vs exact tiles",
                seconds["cells"],
                seconds["exact"],
                "s",
                note="median of interleaved runs, 2-core CPU",
            )
        )
        rows.append(
            cost_row(
                f"similar pairs {n:,} x 512: peak tensor memory, cells vs exact tiles",
                peaks["cells"],
                peaks["exact"],
                "B",
                note=f"both include the input ({features.numel() * 4 / 2**20:.0f} MiB): the tracker "
                "counts a sliced tensor's whole storage",
            )
        )
        rows.append(
            reported(
                f"similar pairs {n:,} x 512: recall of the cells (exact pairs found)",
                ratio(both, len(found["exact"])),
                f"{both} of {len(found['exact'])} pairs at cosine >= 0.9; "
                f"{len(found['cells'] - found['exact'])} not in the exact set",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", action="store_true", help="similar pairs only: k-means cells vs exact tiles at 5,000 to 50,000 rows"
    )
    args = parser.parse_args(argv)
    apply_threads(args)
    if args.scale:
        emit(scale_rows(args.quick), args, "data_doctor")
        return 0
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.doctor import CONFLICT, DUPLICATE, LABEL, LEAK
    from mma_studio.core.pipeline import build_split

    classes, per_class, per_kind = (6, 10, 2) if args.quick else (30, 40, 15)
    rates = (0.1,) if args.quick else (0.05, 0.10, 0.20)
    shots, val = (4, 2) if args.quick else (16, 4)
    backbone = load_backbone("mma-tiny", "shapes", device="cpu")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="mma-doctor-bench-") as tmp:
        tmp = Path(tmp)
        rng = random.Random(0)
        log(f"duplicates: {classes} classes x {per_class} images, {per_kind} copies of each kind")
        root = write_data(tmp / "copies", classes, per_class)
        planted = plant_copies(root, per_kind, rng)
        scan, settings, report, seconds = check(root, tmp / "cache", backbone, shots, val)
        groups = [set(f.paths) for f in report.findings if f.kind in (DUPLICATE, LEAK, CONFLICT)]
        found = [any({source, copy} <= g for g in groups) for source, copy, _ in planted]
        for kind in COPY_KINDS:
            hits = [ok for ok, (_, _, k) in zip(found, planted) if k == kind]
            rows.append(
                reported(
                    f"duplicates: recall, {kind} copies",
                    ratio(sum(hits), len(hits)),
                    f"{sum(hits)} of {len(hits)}",
                )
            )
        pairs = [{source, copy} for source, copy, _ in planted]
        right = sum(any(p <= g for p in pairs) for g in groups)
        rows.append(
            reported(
                "duplicates: precision (groups holding a planted pair)",
                ratio(right, len(groups)),
                f"{right} of {len(groups)} groups; the rest are near-identical renders",
            )
        )
        split = build_split(scan, settings)
        where = {
            s.path: name
            for name, samples in (
                ("train", split.train),
                ("val", split.val),
                ("test", split.test_base + split.test_new),
            )
            for s in samples
        }
        leaking = [{s, c} for s, c, _ in planted if where.get(s) and where.get(c) and where[s] != where[c]]
        leak_groups = [set(f.paths) for f in report.findings if f.kind == LEAK]
        leak_hits = sum(any(p <= g for g in leak_groups) for p in leaking)
        leak_right = sum(any(p <= g for p in leaking) for g in leak_groups)
        rows.append(
            reported(
                "leaks: recall (planted copies split across sets)",
                ratio(leak_hits, len(leaking)),
                f"{leak_hits} of {len(leaking)}",
            )
        )
        rows.append(
            reported(
                "leaks: precision",
                ratio(leak_right, len(leak_groups)),
                f"{leak_right} of {len(leak_groups)}",
            )
        )
        rows.append(
            reported(
                "check time, features cached (copies dataset)",
                seconds,
                f"{report.image_count} images, 2-core CPU",
                unit="s",
            )
        )

        for rate in rates:
            log(f"label errors: {round(100 * rate)} % moved")
            root = write_data(tmp / f"labels{round(100 * rate)}", classes, per_class)
            moved = plant_label_errors(root, rate, random.Random(round(1000 * rate)))
            _, _, report, seconds = check(root, tmp / "cache", backbone, shots, val)
            flagged = {f.paths[0] for f in report.findings if f.kind == LABEL}
            hits = len(flagged & moved)
            rows.append(
                reported(
                    f"label errors {round(100 * rate)} %: precision",
                    ratio(hits, len(flagged)),
                    f"{hits} of {len(flagged)} flagged ({report.label_source})",
                )
            )
            rows.append(
                reported(
                    f"label errors {round(100 * rate)} %: recall",
                    ratio(hits, len(moved)),
                    f"{hits} of {len(moved)} moved; check {seconds:.1f} s",
                )
            )
    emit(rows, args, "data_doctor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
