"""About how many bytes an export will write, shown before the user starts it.

Counted from the parameters, not by exporting: the adapter file holds the adapter's float32
weights and the class embeddings (float16); the ONNX file holds the image encoder's weights
(float32, or float16), the adapter and the class embeddings, plus the graph (~80 kB: measured
528 kB for mma-tiny's 0.47 MB of float32 weights, 345.7 MB for ViT-B-16's 86 M parameters).
Cheap enough for the GUI thread: a sum over a few hundred tensor shapes.
"""

from __future__ import annotations

ONNX_GRAPH_BYTES = 80_000
SMALL_FILES_BYTES = {"model_card": 5_000, "predict_script": 9_000, "onnx_json": 3_000}


def _parameter_count(module) -> int:
    return sum(int(p.numel()) for p in module.parameters()) if module is not None else 0


def estimated_export_bytes(
    run, *, model_card: bool, metrics: bool, onnx: bool, float16: bool = False, onnx_class_count: int | None = None
) -> int | None:
    """Bytes the export set will take; None when the ONNX size cannot be known (no backbone in memory)."""
    classes = len(run.prompt_names)
    embed_dim = int(getattr(run.adapter.config, "embed_dim", 512))
    adapter_parameters = _parameter_count(run.adapter)
    total = adapter_parameters * 4 + classes * embed_dim * 2 + 4_000
    if model_card:
        total += SMALL_FILES_BYTES["model_card"] + 40 * classes
    if metrics:
        total += 1_500 + 450 * classes + 4 * classes * classes
    if onnx:
        backbone = getattr(run, "backbone", None)
        if backbone is None:
            return None
        onnx_classes = onnx_class_count or classes
        weights = _parameter_count(backbone.model.visual) + adapter_parameters + onnx_classes * embed_dim
        total += weights * (2 if float16 else 4) + ONNX_GRAPH_BYTES
        total += SMALL_FILES_BYTES["onnx_json"] + 40 * onnx_classes + SMALL_FILES_BYTES["predict_script"]
    return total
