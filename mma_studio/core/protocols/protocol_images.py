"""The images a reproduction reads: for each dataset found, every seed's shots and validation
images plus the whole test set. `mma-studio extract --datasets ...` extracts exactly these
(under torchrun, across ranks), so a later `reproduce` finds them all in the cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mma_studio.core.protocols.fewshot import protocol_split
from mma_studio.core.protocols.registry import get_spec, missing_files, read_dataset


def protocol_image_paths(
    data_root: Path | str, datasets: Sequence[str], seeds: Sequence[int], shots: int
) -> tuple[list[Path], dict[str, list[str]]]:
    """(paths, {dataset: the files it lacks}) for the datasets that could be read."""
    paths: dict[Path, None] = {}
    skipped: dict[str, list[str]] = {}
    for name in datasets:
        spec = get_spec(name)
        lacking = missing_files(spec, data_root)
        if lacking:
            skipped[spec.name] = [str(p) for p in lacking]
            continue
        contents = read_dataset(spec, data_root)
        for seed in seeds:
            split = protocol_split(contents, seed, shots)
            paths.update(dict.fromkeys(s.path for s in split.train + split.val))
        paths.update(dict.fromkeys(item.path for item in contents.test))
    return list(paths), skipped
