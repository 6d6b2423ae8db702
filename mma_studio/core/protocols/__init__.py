"""The paper's protocol on the paper's datasets: CoOp's dataset layouts and split files,
CoCoOp's base/new halves and few-shot sampling, CoOp's prompt templates, and the
`reproduce` runner that puts MMA (and the other methods) beside the published figures.

Names are imported on first use (PEP 562), so the CLI's parser can list the datasets
(`registry`) without importing the engine.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "few_shot": "fewshot",
    "protocol_split": "fewshot",
    "COCOOP_CLIP_CITATION": "reference_figures",
    "COCOOP_CLIP_REFERENCE": "reference_figures",
    "DATASETS": "registry",
    "PAPER_ORDER": "registry",
    "get_spec": "registry",
    "missing_files": "registry",
    "read_dataset": "registry",
    "DatasetContents": "spec",
    "DatasetSpec": "spec",
    "LabelledImage": "spec",
    "ProtocolDataError": "spec",
}

__all__ = list(_EXPORTS)  # every name above, imported when first used


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
