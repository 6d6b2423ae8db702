"""What the paper's protocol needs to know about one dataset: where CoOp puts it on disk, how
its files are read, which prompt template and which readable class names it uses.

A `DatasetSpec` is data, not code (timm's pretrained-config idea): the registry lists the 11
datasets of the paper, and three small readers (`split_file_reader`, `imagenet_reader`,
`aircraft_reader`) turn a spec plus a data root into `DatasetContents`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ProtocolDataError(ValueError):
    """A dataset file is malformed; the message names the file and the reason."""


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the paper's name, e.g. "OxfordPets"
    folder: str  # CoOp's folder under the data root, e.g. "oxford_pets"
    reader: str  # "split_file", "imagenet" or "aircraft"
    template: str  # CoOp's one prompt template for this dataset
    image_folder: str = "images"  # CoOp's image folder inside `folder`
    split_file: str = ""  # split_zhou_*.json (split_file reader only)
    # StanfordCars' split paths are relative to the dataset folder, the others' to the image folder.
    paths_relative_to_dataset: bool = False
    # CoOp's readable names for raw class names (applied when a split still holds a raw name).
    renames: Mapping[str, str] = field(default_factory=dict)
    # Raw class folders CoOp leaves out (Caltech101's background and duplicate face classes).
    ignored: tuple[str, ...] = ()

    def dataset_dir(self, data_root: Path | str) -> Path:
        return Path(data_root) / self.folder

    def image_dir(self, data_root: Path | str) -> Path:
        return self.dataset_dir(data_root) / self.image_folder

    def readable(self, class_name: str) -> str:
        """The name in the prompt: CoOp's rename, then `_` as a space (as its trainers do)."""
        return self.renames.get(class_name, class_name).replace("_", " ")


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int  # the dataset's own label (CoOp's label order)


@dataclass
class DatasetContents:
    """A dataset as CoOp reads it, before few-shot sampling and the base/new halves."""

    spec: DatasetSpec
    class_ids: list[str]  # by label: a unique id (ImageNet's wnid, else the class name)
    class_names: list[str]  # by label: the readable name that goes into the prompt
    train: list[LabelledImage]  # in file order: the few-shot sampler depends on it
    val: list[LabelledImage] | None  # None: no validation split (ImageNet); sampled from train
    test: list[LabelledImage]
    notes: list[str] = field(default_factory=list)  # deviations from CoOp worth printing
