"""ImageNet as CoOp lays it out: `imagenet/images/{train,val}/<wnid>/*` and `classnames.txt`
(`<wnid> <readable name>` per line, CLIP's names). Labels follow the sorted train folders.

CoOp evaluates on the validation set and has no validation split of its own (it tests the
last epoch). Selecting an epoch on test images would be tuning on test data, so here the
min(k, 4) validation images per class are drawn from the training images left after the
shots were drawn (see `fewshot`); this is the one deviation from CoOp, and it is printed.
"""

from __future__ import annotations

import os
from pathlib import Path

from mma_studio.core.protocols.protocol_files import MAX_LIST_FILE_BYTES, read_protocol_text
from mma_studio.core.protocols.spec import (
    DatasetContents,
    DatasetSpec,
    LabelledImage,
    ProtocolDataError,
)

VALIDATION_NOTE = (
    "ImageNet has no validation split in CoOp (its val set is the test set): the validation "
    "images that choose the epoch are drawn from the training images not used as shots."
)


def imagenet_required(spec: DatasetSpec, data_root: Path | str) -> list[Path]:
    folder = spec.dataset_dir(data_root)
    return [folder / "classnames.txt", spec.image_dir(data_root) / "train", spec.image_dir(data_root) / "val"]


def read_classnames(path: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    lines = read_protocol_text(path, MAX_LIST_FILE_BYTES, "the class names").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        folder, _, name = line.strip().partition(" ")
        if not name.strip():
            raise ProtocolDataError(f"{path}: line {number} is {line!r}, not '<folder> <class name>'")
        names[folder] = name.strip()
    return names


def _images(folder: Path) -> list[str]:
    """Non-hidden file names, sorted (CoOp lists them unsorted, in file-system order)."""
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def read_imagenet(spec: DatasetSpec, data_root: Path | str) -> DatasetContents:
    names_file = spec.dataset_dir(data_root) / "classnames.txt"
    names = read_classnames(names_file)
    train_dir, val_dir = spec.image_dir(data_root) / "train", spec.image_dir(data_root) / "val"
    folders = sorted(entry.name for entry in os.scandir(train_dir) if entry.is_dir())
    unnamed = [f for f in folders if f not in names]
    if unnamed:
        raise ProtocolDataError(f"{names_file}: no class name for the folder(s) {', '.join(unnamed[:5])}")
    if not folders:
        raise ProtocolDataError(f"{train_dir}: no class folders")

    def read(split_dir: Path) -> list[LabelledImage]:
        items: list[LabelledImage] = []
        for label, folder in enumerate(folders):
            class_dir = split_dir / folder
            if not class_dir.is_dir():
                raise ProtocolDataError(f"{class_dir}: missing (every train class needs a folder here too)")
            items.extend(LabelledImage(class_dir / name, label) for name in _images(class_dir))
        return items

    return DatasetContents(
        spec=spec,
        class_ids=folders,
        class_names=[spec.readable(names[f]) for f in folders],
        train=read(train_dir),
        val=None,
        test=read(val_dir),
        notes=[VALIDATION_NOTE],
    )
