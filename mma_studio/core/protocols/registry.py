"""The paper's 11 datasets (CoOp's layouts and templates) and how each is read.

Like timm's model registry: `DATASETS` maps a name to its `DatasetSpec`; `read_dataset` and
`missing_files` dispatch on the spec's reader. Names match case-insensitively, and CoOp's own
names (`OxfordFlowers`, `DescribableTextures`) are accepted too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mma_studio.core.protocols.aircraft_reader import aircraft_required, read_aircraft
from mma_studio.core.protocols.class_renames import (
    CALTECH101_IGNORED,
    CALTECH101_RENAMES,
    EUROSAT_RENAMES,
)
from mma_studio.core.protocols.imagenet_reader import imagenet_required, read_imagenet
from mma_studio.core.protocols.spec import DatasetContents, DatasetSpec
from mma_studio.core.protocols.split_file_reader import (
    read_split_file_dataset,
    split_file_required,
)

DATASETS: dict[str, DatasetSpec] = {}
_ALIASES = {"oxfordflowers": "Flowers102", "describabletextures": "DTD", "caltech-101": "Caltech101"}


def register(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in DATASETS:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    DATASETS[spec.name] = spec
    return spec


for _spec in (
    DatasetSpec("ImageNet", "imagenet", "imagenet", "a photo of a {}."),
    DatasetSpec(
        "Caltech101",
        "caltech-101",
        "split_file",
        "a photo of a {}.",
        "101_ObjectCategories",
        "split_zhou_Caltech101.json",
        renames=CALTECH101_RENAMES,
        ignored=CALTECH101_IGNORED,
    ),
    DatasetSpec(
        "OxfordPets",
        "oxford_pets",
        "split_file",
        "a photo of a {}, a type of pet.",
        "images",
        "split_zhou_OxfordPets.json",
    ),
    DatasetSpec(
        "StanfordCars",
        "stanford_cars",
        "split_file",
        "a photo of a {}.",
        "",
        "split_zhou_StanfordCars.json",
        paths_relative_to_dataset=True,
    ),
    DatasetSpec(
        "Flowers102",
        "oxford_flowers",
        "split_file",
        "a photo of a {}, a type of flower.",
        "jpg",
        "split_zhou_OxfordFlowers.json",
    ),
    DatasetSpec(
        "Food101", "food-101", "split_file", "a photo of {}, a type of food.", "images", "split_zhou_Food101.json"
    ),
    DatasetSpec("FGVCAircraft", "fgvc_aircraft", "aircraft", "a photo of a {}, a type of aircraft."),
    DatasetSpec("SUN397", "sun397", "split_file", "a photo of a {}.", "SUN397", "split_zhou_SUN397.json"),
    DatasetSpec("DTD", "dtd", "split_file", "{} texture.", "images", "split_zhou_DescribableTextures.json"),
    DatasetSpec(
        "EuroSAT",
        "eurosat",
        "split_file",
        "a centered satellite photo of {}.",
        "2750",
        "split_zhou_EuroSAT.json",
        renames=EUROSAT_RENAMES,
    ),
    DatasetSpec(
        "UCF101", "ucf101", "split_file", "a photo of a person doing {}.", "UCF-101-midframes", "split_zhou_UCF101.json"
    ),
):
    register(_spec)

PAPER_ORDER = tuple(DATASETS)  # the column order of CoCoOp's Table 1

_READERS: dict[
    str, tuple[Callable[[DatasetSpec, Path], list[Path]], Callable[[DatasetSpec, Path], DatasetContents]]
] = {
    "split_file": (split_file_required, read_split_file_dataset),
    "imagenet": (imagenet_required, read_imagenet),
    "aircraft": (aircraft_required, read_aircraft),
}


def get_spec(name: str) -> DatasetSpec:
    wanted = _ALIASES.get(name.lower(), name).lower()
    for key, spec in DATASETS.items():
        if key.lower() == wanted or spec.folder.lower() == wanted:
            return spec
    raise KeyError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")


def missing_files(spec: DatasetSpec, data_root: Path | str) -> list[Path]:
    """The files or folders of CoOp's layout that are not under `data_root` (empty: readable)."""
    required, _ = _READERS[spec.reader]
    return [path for path in required(spec, Path(data_root)) if not path.exists()]


def read_dataset(spec: DatasetSpec, data_root: Path | str) -> DatasetContents:
    """Read a dataset in CoOp's layout; raises `ProtocolDataError` naming a malformed file."""
    _, reader = _READERS[spec.reader]
    return reader(spec, Path(data_root))
