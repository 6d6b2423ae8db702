"""FGVCAircraft as CoOp reads it (the archive's `data/` folder renamed `fgvc_aircraft/`):
`variants.txt` gives the classes in label order, `images_variant_{train,val,test}.txt` one
`<image id> <variant name>` per line, images in `images/<image id>.jpg`."""

from __future__ import annotations

from pathlib import Path

from mma_studio.core.protocols.protocol_files import MAX_LIST_FILE_BYTES, read_protocol_text
from mma_studio.core.protocols.spec import (
    DatasetContents,
    DatasetSpec,
    LabelledImage,
    ProtocolDataError,
)

PARTS = ("train", "val", "test")


def aircraft_required(spec: DatasetSpec, data_root: Path | str) -> list[Path]:
    folder = spec.dataset_dir(data_root)
    return [
        folder / "variants.txt",
        *(folder / f"images_variant_{part}.txt" for part in PARTS),
        spec.image_dir(data_root),
    ]


def _lines(path: Path) -> list[str]:
    text = read_protocol_text(path, MAX_LIST_FILE_BYTES, "a list file")
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_aircraft(spec: DatasetSpec, data_root: Path | str) -> DatasetContents:
    folder = spec.dataset_dir(data_root)
    variants = _lines(folder / "variants.txt")
    label_of = {name: label for label, name in enumerate(variants)}
    parts = {}
    for part in PARTS:
        path = folder / f"images_variant_{part}.txt"
        items = []
        for number, line in enumerate(_lines(path), 1):
            image_id, _, variant = line.partition(" ")
            if variant not in label_of:
                raise ProtocolDataError(f"{path}: line {number} names the variant {variant!r}, not in variants.txt")
            items.append(LabelledImage(spec.image_dir(data_root) / f"{image_id}.jpg", label_of[variant]))
        parts[part] = items
    return DatasetContents(
        spec=spec,
        class_ids=list(variants),
        class_names=[spec.readable(v) for v in variants],
        train=parts["train"],
        val=parts["val"],
        test=parts["test"],
    )
