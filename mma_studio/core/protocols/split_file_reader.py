"""Datasets that come with CoOp's fixed split file `split_zhou_<Name>.json`:
`{"train"|"val"|"test": [[relative_image_path, label, class_name], ...]}`.

Nine of the eleven datasets are read this way (all but ImageNet and FGVCAircraft). Paths are
relative to the dataset's image folder, except StanfordCars' (relative to the dataset folder).
"""

from __future__ import annotations

import json
from pathlib import Path

from mma_studio.core.protocols.protocol_files import MAX_SPLIT_FILE_BYTES, read_protocol_text
from mma_studio.core.protocols.spec import (
    DatasetContents,
    DatasetSpec,
    LabelledImage,
    ProtocolDataError,
)

PARTS = ("train", "val", "test")


def split_file_required(spec: DatasetSpec, data_root: Path | str) -> list[Path]:
    """The files and folders this reader cannot do without."""
    return [spec.dataset_dir(data_root) / spec.split_file, spec.image_dir(data_root)]


def read_split_file_dataset(spec: DatasetSpec, data_root: Path | str) -> DatasetContents:
    split_path = spec.dataset_dir(data_root) / spec.split_file
    prefix = spec.dataset_dir(data_root) if spec.paths_relative_to_dataset else spec.image_dir(data_root)
    text = read_protocol_text(split_path, MAX_SPLIT_FILE_BYTES, "the split file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolDataError(f"{split_path}: cannot read the split file ({exc})") from exc
    if not isinstance(data, dict) or any(part not in data for part in PARTS):
        raise ProtocolDataError(f"{split_path}: expected an object with 'train', 'val' and 'test' lists")

    names: dict[int, str] = {}
    parts: dict[str, list[LabelledImage]] = {}
    for part in PARTS:
        items = []
        for position, entry in enumerate(data[part]):
            try:
                relative, label, class_name = entry
                label = int(label)
                relative, class_name = str(relative), str(class_name)
            except (TypeError, ValueError):
                raise ProtocolDataError(
                    f"{split_path}: {part}[{position}] is {entry!r}, not [relative_path, label, class_name]"
                ) from None
            if class_name in spec.ignored:
                continue
            known = names.setdefault(label, class_name)
            if known != class_name:
                raise ProtocolDataError(f"{split_path}: label {label} is called both {known!r} and {class_name!r}")
            items.append(LabelledImage(prefix / relative, label))
        parts[part] = items
    if not parts["train"]:
        raise ProtocolDataError(f"{split_path}: the 'train' list is empty")
    missing_in_train = sorted(set(names) - {item.label for item in parts["train"]})
    if missing_in_train:
        raise ProtocolDataError(f"{split_path}: labels {missing_in_train[:5]} have no training image")

    labels = sorted(names)
    return DatasetContents(
        spec=spec,
        class_ids=[spec.renames.get(names[label], names[label]) for label in labels],
        class_names=[spec.readable(names[label]) for label in labels],
        train=_dense(parts["train"], labels),
        val=_dense(parts["val"], labels),
        test=_dense(parts["test"], labels),
    )


def _dense(items: list[LabelledImage], labels: list[int]) -> list[LabelledImage]:
    """Labels as positions in sorted label order (the same as CoOp's when they are 0..N-1)."""
    position = {label: index for index, label in enumerate(labels)}
    return [LabelledImage(item.path, position[item.label]) for item in items]
