"""The standalone classifier as one ONNX file: image encoder + adapter + class embeddings.

What `mma-studio predict` computes for a fixed class list, as a graph that runs without MMA
Studio, open_clip or torch: pixels (float32, N x 3 x H x W, any N) -> the frozen image
encoder -> L2 normalisation -> the adapter (with the default cross-modal mask, its closed
form needs only the image embedding and the class text embeddings) -> logits and softmax
probabilities. The class text embeddings are computed here once, by the engine's predict
path (`Classifier.set_classes`), and stored as constants, so the text encoder is not in the
file and any class list can be shipped, also classes the adapter never trained on.

Exporter: torch's TorchScript-based `torch.onnx.export(dynamo=False)`, opset 17. It traces
open_clip's ViTs reliably once PyTorch's fused attention fast path
(`_native_multi_head_attention`, which has no ONNX form) is switched off for the trace; the
torch.export-based exporter needs onnxscript, which is not a dependency. The file is checked
with onnxruntime after writing (`onnx_check`), so an exporter problem is reported, not shipped.

Float16 weights (an option) halve the file: the weights are stored as float16 and cast back
to float32 when the model is loaded (onnxruntime folds the casts once), so the arithmetic
stays float32 and only the weights' rounding (relative 2^-11) changes the results.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from mma_studio import __version__

OPSET = 17
INPUT_NAME = "pixels"
OUTPUT_NAMES = ("probabilities", "logits")
FORMAT_NAME = "mma-studio-onnx"
FORMAT_VERSION = 1
METADATA_KEY = "mma_studio"  # the ONNX metadata entry holding the whole JSON (as predict.py reads it)
PROTOBUF_LIMIT_BYTES = 2 * 1024**3 - 1  # one ONNX file without external data cannot be larger
SMALLEST_FLOAT16_TENSOR = 16  # smaller float32 tensors stay float32: no saving, one Cast node less


class OnnxExportError(Exception):
    """The model could not be exported as one ONNX file; the message says why."""


class StandaloneClassifier(nn.Module):
    """pixels -> (probabilities, logits) over a fixed class list: what gets traced."""

    def __init__(self, visual: nn.Module, adapter: nn.Module, class_embeddings: torch.Tensor) -> None:
        super().__init__()
        self.visual = visual
        self.adapter = adapter
        self.register_buffer("class_embeddings", F.normalize(class_embeddings.float(), dim=-1))

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        image_embeddings = F.normalize(self.visual(pixels).float(), dim=-1)
        logits = self.adapter(image_embeddings, self.class_embeddings)
        return logits.softmax(dim=-1), logits


def input_size(backbone) -> tuple[int, int]:
    size = (backbone.preprocess_cfg or {}).get("size", 224)
    if isinstance(size, (list, tuple)):
        return (int(size[0]), int(size[-1]))
    return (int(size), int(size))


def preprocessing_metadata(backbone) -> dict:
    """How the engine turns an image file into the model's input (what predict.py follows)."""
    cfg = backbone.preprocess_cfg or {}
    height, width = input_size(backbone)
    return {
        "input_size": [height, width],
        "resize_mode": cfg.get("resize_mode", "shortest"),
        "interpolation": cfg.get("interpolation", "bicubic"),
        "crop": "center",
        "scale": "1/255",
        "mean": [float(v) for v in cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))],
        "std": [float(v) for v in cfg.get("std", (0.26862954, 0.26130258, 0.27577711))],
        "jpeg_min_side": int(backbone.decode_min_side),
        "decode": "EXIF orientation applied; RGB, transparent pixels composited on white, 16-bit grey as v // 257; "
        "a large JPEG decoded by libjpeg at 1/2, 1/4 or 1/8 scale, never below jpeg_min_side on a side",
        "steps": "decode; resize (shortest side to the input size, Pillow, interpolation above; 'squash': "
        "both sides); center crop; scale to [0, 1]; (x - mean) / std per channel",
    }


def onnx_metadata(classifier, *, float16: bool, classes_from: str) -> dict:
    """What a user needs to feed the model and to know what it is (also written as JSON beside it)."""
    backbone = classifier.backbone
    contents = classifier.adapter_file
    height, width = input_size(backbone)
    recorded = contents.backbone or {}
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "mma_studio_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "input": {
            "name": INPUT_NAME,
            "shape": ["N", 3, height, width],
            "dtype": "float32",
            "layout": "NCHW, RGB channels",
        },
        "outputs": {
            "probabilities": "N x classes, softmax over class_names",
            "logits": "N x classes, the adapter's logits (logit scale included)",
        },
        "preprocessing": preprocessing_metadata(backbone),
        "class_names": list(classifier.class_names),
        "classes_from": classes_from,
        "adapter_classes": [{"name": n, "role": r} for n, r in zip(contents.class_names, contents.roles)],
        "templates": list(classifier.templates),
        "backbone": {
            "model_name": recorded.get("model_name", backbone.model_name),
            "pretrained": recorded.get("pretrained", backbone.pretrained),
            "weights_id": recorded.get("weights_id", backbone.weights_id),
            "description": recorded.get("description", backbone.describe()),
            "is_random": bool(recorded.get("is_random", backbone.is_random)),
        },
        "adapter": contents.adapter_config.to_dict(),
        "weights_dtype": "float16" if float16 else "float32",
        "opset": OPSET,
    }


@contextlib.contextmanager
def _attention_fast_path_off():
    """The fused attention kernel has no ONNX form; the plain one traces to standard ops."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        yield
        return
    previous = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(previous)


def build_onnx_model(classifier, *, float16: bool = False, classes_from: str = "adapter") -> tuple[bytes, dict]:
    """Trace the classifier for its current class list; returns (serialized model, metadata)."""
    import onnx

    backbone = classifier.backbone
    device = backbone.device
    module = StandaloneClassifier(backbone.model.visual, classifier.adapter, classifier.text_features.to(device))
    module.eval()
    height, width = input_size(backbone)
    example = torch.zeros(2, 3, height, width, device=device)  # 2: no batch size is baked in
    buffer = io.BytesIO()
    with _attention_fast_path_off(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice and tracer remarks
        try:
            torch.onnx.export(
                module,
                (example,),
                buffer,  # type: ignore[arg-type]  # this exporter writes to file objects
                dynamo=False,
                opset_version=OPSET,
                do_constant_folding=True,
                input_names=[INPUT_NAME],
                output_names=list(OUTPUT_NAMES),
                dynamic_axes={INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in OUTPUT_NAMES}},
            )
        except Exception as exc:
            raise OnnxExportError(
                f"the ONNX exporter could not trace {backbone.describe()} "
                f"({type(exc).__name__}: {' '.join(str(exc).split())[:300]})"
            ) from exc
    model = onnx.load_from_string(buffer.getvalue())
    del buffer
    if float16:
        store_weights_as_float16(model)
    metadata = onnx_metadata(classifier, float16=float16, classes_from=classes_from)
    _set_metadata(model, metadata)
    data = model.SerializeToString()
    if len(data) > PROTOBUF_LIMIT_BYTES:
        raise OnnxExportError(
            f"the model is {len(data) / 1024**3:.1f} GB, over the 2 GB an ONNX file can hold "
            "in one piece; try --float16"
        )
    return data, metadata


def _set_metadata(model, metadata: dict) -> None:
    from onnx import helper

    flat = {
        METADATA_KEY: json.dumps(metadata, ensure_ascii=False),
        "class_names": json.dumps(metadata["class_names"], ensure_ascii=False),
        "input_size": json.dumps(metadata["preprocessing"]["input_size"]),
        "resize": f"{metadata['preprocessing']['resize_mode']} side, {metadata['preprocessing']['interpolation']}",
        "crop": metadata["preprocessing"]["crop"],
        "mean": json.dumps(metadata["preprocessing"]["mean"]),
        "std": json.dumps(metadata["preprocessing"]["std"]),
        "backbone": metadata["backbone"]["model_name"],
        "weights": metadata["backbone"]["pretrained"],
        "adapter": json.dumps(metadata["adapter"]),
        "mma_studio_version": metadata["mma_studio_version"],
    }
    helper.set_model_props(model, flat)
    model.producer_name = "MMA Studio"
    model.producer_version = __version__
    model.doc_string = (
        "Image classifier exported by MMA Studio: frozen CLIP image encoder + Multi-Modal Adapter, "
        f"classes: {', '.join(metadata['class_names'])[:500]}"
    )


def store_weights_as_float16(model) -> int:
    """Store float32 weights as float16, each read through a Cast back to float32; returns how many."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(initializer)
        if array.size < SMALLEST_FLOAT16_TENSOR:
            continue
        half = array.astype(np.float16)
        if not np.isfinite(half).all():  # beyond float16's range: keep this one exact
            continue
        name = initializer.name
        initializer.CopyFrom(numpy_helper.from_array(half, f"{name}.float16"))
        casts.append(
            helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT, name=f"{name}.to_float32")
        )
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return len(casts)


def metadata_json(metadata: dict) -> str:
    return json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"


def standalone_predict_source() -> bytes:
    """The `predict.py` written beside the model (this package's `standalone_predict.py`)."""
    from importlib.resources import files

    return files("mma_studio.core.export").joinpath("standalone_predict.py").read_bytes()
