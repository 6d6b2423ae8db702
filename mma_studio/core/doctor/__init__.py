"""The data doctor: duplicates, conflicts, leaks, likely label errors and outliers, found from
the cached image embeddings (`examine_dataset`), reported as `Finding`s.

Each idea has its own module: `similar_pairs` (blockwise cosine; `cell_pairs` from 3,000
images), `union_find`,
`image_signature` (confirming copies), `duplicates`, `confident_learning`, `out_of_fold`,
`outliers`, `findings`, and `examine` (the engine call that ties them together).
Importing the package is light (no torch): the app reads finding kinds on the GUI thread;
`examine_dataset` is imported on first use.
"""

from mma_studio.core.doctor.findings import (
    CONFLICT,
    DUPLICATE,
    KIND_ORDER,
    KIND_TITLES,
    LABEL,
    LEAK,
    OUTLIER,
    SPREAD,
    DataHealthReport,
    Finding,
)

__all__ = [
    "CONFLICT",
    "DUPLICATE",
    "KIND_ORDER",
    "KIND_TITLES",
    "LABEL",
    "LEAK",
    "OUTLIER",
    "SPREAD",
    "DataHealthReport",
    "Finding",
    "examine_dataset",
]


def __getattr__(name: str):
    if name == "examine_dataset":
        from mma_studio.core.doctor.examine import examine_dataset

        return examine_dataset
    raise AttributeError(name)
