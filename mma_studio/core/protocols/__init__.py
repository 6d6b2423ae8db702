"""The paper's protocol on the paper's datasets: CoOp's dataset layouts and split files,
CoCoOp's base/new halves and few-shot sampling, CoOp's prompt templates, and the
`reproduce` runner that puts MMA (and the other methods) beside the published figures."""

from mma_studio.core.protocols.fewshot import few_shot, protocol_split
from mma_studio.core.protocols.reference_figures import (
    COCOOP_CLIP_CITATION,
    COCOOP_CLIP_REFERENCE,
)
from mma_studio.core.protocols.registry import (
    DATASETS,
    PAPER_ORDER,
    get_spec,
    missing_files,
    read_dataset,
)
from mma_studio.core.protocols.spec import (
    DatasetContents,
    DatasetSpec,
    LabelledImage,
    ProtocolDataError,
)

__all__ = [
    "COCOOP_CLIP_CITATION",
    "COCOOP_CLIP_REFERENCE",
    "DATASETS",
    "PAPER_ORDER",
    "DatasetContents",
    "DatasetSpec",
    "LabelledImage",
    "ProtocolDataError",
    "few_shot",
    "get_spec",
    "missing_files",
    "protocol_split",
    "read_dataset",
]
