"""The backbones a user can choose, and whether each one's weights are on this computer.

This is what the app's model chooser lists at start-up, so it must be ready within a
fraction of a second: it reads the Hugging Face cache folders and the shipped files
directly and imports neither open_clip nor torch (issue 12 §6; a test checks
`sys.modules`). `backbone.list_backbone_choices` builds on the same list (and adds any other
open_clip weights found cached through open_clip's registry), so there is one source of truth
for what is recommended, in which order and with which labels.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mma_studio.core.hub_cache import cached_hub_file, hub_weights_filenames
from mma_studio.core.model_configs import resources_dir, shipped_config_dir
from mma_studio.core.recommended_backbones import RECOMMENDED_BACKBONES, RecommendedBackbone

TINY_MODEL = "mma-tiny"
DEMO_TAG = "shapes"
RANDOM_TAG = "random"
FILE_PREFIX = "file:"
LOCAL_DIR_PREFIX = "local-dir:"


@dataclass(frozen=True)
class BackboneChoice:
    """One entry of the backbone chooser.

    kind: "pretrained" (an open_clip tag), "demo" (the shipped toy weights), "random" (for
    tests), "file" (a weights file the user chose before; `pretrained` is `file:<path>`) or
    "local" (ask the user for a weights file; `pretrained` is then empty). `downloaded` says
    whether the weights are on this computer.
    """

    model: str
    pretrained: str
    label: str
    downloaded: bool
    kind: str
    note: str = ""  # a sentence on why it is listed ("The paper's backbone.")


def shipped_weights_path() -> Path:
    """Where the demo weights (`mma-tiny` · `shapes`) live in the installed package."""
    return resources_dir() / f"{TINY_MODEL}-{DEMO_TAG}.safetensors"


def cached_recommended_weights(entry: RecommendedBackbone, cache_dir: Path | str | None = None) -> Path | None:
    """The cached weights file of a recommended backbone, or None when not downloaded."""
    return cached_hub_file(entry.hf_repo, hub_weights_filenames(entry.hf_filename), cache_dir)


def find_recommended(model: str, pretrained: str) -> RecommendedBackbone | None:
    name = model.replace("/", "-")
    for entry in RECOMMENDED_BACKBONES:
        if (entry.model, entry.pretrained) == (name, pretrained) or (
            pretrained == "openai" and (f"{entry.model}-quickgelu", entry.pretrained) == (name, pretrained)
        ):
            return entry
    return None


def local_file_label(model: str, path: str | Path) -> str:
    return f"{model} · local file {Path(path).name}"


def catalogue_choices(
    *,
    local_files: Iterable[tuple[str, str]] = (),
    demo_weights: Path | None = None,
    cache_dir: Path | str | None = None,
) -> list[BackboneChoice]:
    """Chooser entries: downloaded recommended weights first, then the demo model, the
    recommended downloads, random weights (labelled as such), the weights files chosen before
    (`local_files`: (architecture, path) pairs, the app keeps them in its settings) and the
    local-file route. Each says whether its weights are on this computer."""
    downloaded: list[BackboneChoice] = []
    downloadable: list[BackboneChoice] = []
    for entry in RECOMMENDED_BACKBONES:
        present = cached_recommended_weights(entry, cache_dir) is not None
        choice = BackboneChoice(entry.model, entry.pretrained, entry.label, present, "pretrained", entry.note)
        (downloaded if present else downloadable).append(choice)
    demo_path = shipped_weights_path() if demo_weights is None else demo_weights
    demo = BackboneChoice(TINY_MODEL, DEMO_TAG, f"{TINY_MODEL} · {DEMO_TAG} (demo model)", demo_path.is_file(), "demo")
    random_choice = BackboneChoice(
        TINY_MODEL, RANDOM_TAG, f"{TINY_MODEL} · random weights (for testing)", True, "random"
    )
    files: list[BackboneChoice] = []
    seen: set[tuple[str, str]] = set()
    for model, path in local_files:
        if not model or not path or (model, str(path)) in seen:
            continue
        seen.add((model, str(path)))
        files.append(
            BackboneChoice(model, f"{FILE_PREFIX}{path}", local_file_label(model, path), _is_file(path), "file")
        )
    local = BackboneChoice("", "", "Local weights file…", True, "local")
    return [*downloaded, demo, *downloadable, random_choice, *files, local]


def recommended_choice(choices: list[BackboneChoice]) -> BackboneChoice:
    """What the chooser should preselect: downloaded pretrained weights if any, else the demo
    model when it is installed (the offline experience), else the paper's backbone to download."""
    for kind, must_be_downloaded in (("pretrained", True), ("demo", True), ("pretrained", False)):
        for choice in choices:
            if choice.kind == kind and (choice.downloaded or not must_be_downloaded):
                return choice
    return next(c for c in choices if c.kind == "random")


def weights_present(
    model: str, pretrained: str, *, demo_weights: Path | None = None, cache_dir: Path | str | None = None
) -> bool | None:
    """Whether (model, pretrained) has its weights on this computer, from a few `stat` calls;
    None when only open_clip's registry could tell (a pretrained tag this catalogue does not list)."""
    spec = (pretrained or "").strip()
    if spec == RANDOM_TAG or spec.startswith(RANDOM_TAG + ":"):
        return True
    if model.startswith(LOCAL_DIR_PREFIX):
        return os.path.isdir(os.path.expanduser(model[len(LOCAL_DIR_PREFIX) :]))
    if spec.startswith(FILE_PREFIX):
        return _is_file(spec[len(FILE_PREFIX) :])
    if spec.startswith(LOCAL_DIR_PREFIX):
        return os.path.isdir(os.path.expanduser(spec[len(LOCAL_DIR_PREFIX) :]))
    if (model, spec) == (TINY_MODEL, DEMO_TAG):
        return (shipped_weights_path() if demo_weights is None else demo_weights).is_file()
    if "/" in spec or os.sep in spec or spec.startswith("~"):
        expanded = os.path.expanduser(spec)
        return os.path.isfile(expanded) or os.path.isdir(expanded)
    entry = find_recommended(model, spec)
    if entry is None:
        return None
    return cached_recommended_weights(entry, cache_dir) is not None


def list_architectures() -> list[str]:
    """Every model architecture open_clip can build here (its `model_configs/*.json` and the
    configs shipped with MMA Studio), read from the folders: open_clip is found, not imported."""
    folders = [shipped_config_dir()]
    spec = importlib.util.find_spec("open_clip")
    if spec is not None and spec.origin:
        folders.append(Path(spec.origin).parent / "model_configs")
    names: set[str] = set()
    for folder in folders:
        try:
            names.update(entry.name[:-5] for entry in os.scandir(folder) if entry.name.endswith(".json"))
        except OSError:
            continue
    return sorted(names)


def _is_file(path: str | Path) -> bool:
    try:
        return Path(path).expanduser().is_file()
    except OSError:
        return False
