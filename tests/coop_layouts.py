"""Fake datasets in CoOp's on-disk layouts (DATASETS.md), a few tiny images per class, with
split files in the real format, for the protocol readers and the `reproduce` tests.

`write_layout(data_root, name, raw_classes, ...)` writes dataset `name` (a registry name) and
returns the per-part image counts it wrote; the class names given are the *raw* ones a real
split or folder holds (e.g. EuroSAT's "AnnualCrop"), so the readers' renames are exercised.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.image_factory import class_color, make_image

PARTS = ("train", "val", "test")


def _image(path: Path, label: int, index: int) -> None:
    make_image(path, size=(16, 16), color=class_color(label), noise=12, seed=label * 1000 + index)


def write_layout(
    data_root: Path, name: str, raw_classes: list[str], counts=(6, 3, 2), ignored: dict[str, int] | None = None
) -> dict[str, int]:
    """Write dataset `name` with `counts` = images per class in (train, val, test).

    `ignored` = {raw class name: label} entries to add to the split file as CoOp's reader
    would skip them (Caltech101's BACKGROUND_Google)."""
    from mma_studio.core.protocols import get_spec

    spec = get_spec(name)
    folder = spec.dataset_dir(data_root)
    if spec.reader == "imagenet":
        wnids = [f"n{index:08d}" for index in range(len(raw_classes))]
        (folder).mkdir(parents=True, exist_ok=True)
        (folder / "classnames.txt").write_text("".join(f"{w} {c}\n" for w, c in zip(wnids, raw_classes)))
        for label, wnid in enumerate(wnids):
            for i in range(counts[0]):
                _image(folder / "images" / "train" / wnid / f"{wnid}_{i}.JPEG", label, i)
            for i in range(counts[2]):
                _image(folder / "images" / "val" / wnid / f"ILSVRC2012_val_{label:04d}{i}.JPEG", label, 100 + i)
        return {"train": counts[0] * len(raw_classes), "val": 0, "test": counts[2] * len(raw_classes)}
    if spec.reader == "aircraft":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "variants.txt").write_text("".join(f"{c}\n" for c in raw_classes))
        image_id = 1000000
        for part, count in zip(PARTS, counts):
            lines = []
            for label, variant in enumerate(raw_classes):
                for _ in range(count):
                    image_id += 1
                    _image(folder / "images" / f"{image_id}.jpg", label, image_id)
                    lines.append(f"{image_id} {variant}\n")
            (folder / f"images_variant_{part}.txt").write_text("".join(lines))
        return dict(zip(PARTS, (c * len(raw_classes) for c in counts)))

    split: dict[str, list] = {part: [] for part in PARTS}
    entries = [(label, c) for label, c in enumerate(raw_classes)]
    for raw, label in (ignored or {}).items():
        entries.append((label, raw))
    for label, raw in entries:
        for part, count in zip(PARTS, counts):
            for i in range(count):
                if spec.paths_relative_to_dataset:  # StanfordCars: cars_train/00001.jpg
                    relative = f"cars_{'test' if part == 'test' else 'train'}/{label:03d}{part}{i}.jpg"
                    path = folder / relative
                else:
                    relative = f"{raw.replace(' ', '_')}/{part}_{i}.jpg"
                    path = spec.image_dir(data_root) / relative
                _image(path, label, PARTS.index(part) * 100 + i)
                split[part].append([relative, label, raw])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / spec.split_file).write_text(json.dumps(split))
    return dict(zip(PARTS, (c * len(raw_classes) for c in counts)))
