"""Before an ONNX model is called verified: onnxruntime must reproduce `mma-studio predict`.

The engine's own predict path (a `Classifier` built from the saved adapter file, for the
exported class list) scores a few held-out images; onnxruntime runs the saved `.onnx` file on
the same images twice: once on the engine's preprocessed pixels (is the graph the engine's
computation?) and once on pixels prepared by the shipped `predict.py` (does the standalone
preprocessing match the engine's?). Top-1 must be identical and every probability within
the tolerance, on both routes; otherwise the file is reported as a mismatch.

Tolerances: float32 weights 1e-4 (the same arithmetic in another order: observed ~1e-7).
Float16 weights 1e-2: rounding each weight to float16 (relative error up to 2^-11 = 4.9e-4)
moves the image embedding by ~1e-3, and the logit scale (100 for CLIP) turns that into logit
changes of ~0.1, i.e. probability changes of up to ~1e-2 where two classes are close. A top-1
flip between two classes the engine itself scores within the tolerance of each other is a
tie, counted separately and not a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

FLOAT32_TOLERANCE = 1e-4
FLOAT16_TOLERANCE = 1e-2


@dataclass
class OnnxCheck:
    checked: int
    tolerance: float
    max_probability_gap: float = 0.0  # onnxruntime on the engine's pixels vs the engine
    max_standalone_gap: float = 0.0  # onnxruntime on predict.py's pixels vs the engine
    mismatches: list[str] = field(default_factory=list)  # images whose top-1 differs (or a gap too large)
    ties: int = 0  # top-1 flips between classes the engine scores within the tolerance
    float16: bool = False

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.mismatches

    @property
    def largest_gap(self) -> float:
        return max(self.max_probability_gap, self.max_standalone_gap)

    def to_dict(self) -> dict:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "tolerance": self.tolerance,
            "max_probability_gap": self.max_probability_gap,
            "max_standalone_gap": self.max_standalone_gap,
            "mismatches": list(self.mismatches),
            "ties": self.ties,
            "float16": self.float16,
        }


def reference_probabilities(classifier, pixels: torch.Tensor) -> np.ndarray:
    """The engine's predict computation for preprocessed `pixels`, in float32 as the ONNX model computes.

    On the CPU that is exactly `predict`. On a GPU the app encodes images under autocast
    (bfloat16/float16; on mma-tiny `shapes` bfloat16 moves probabilities by up to 2.3e-2), so the
    reference is then computed by a float32 copy of the image encoder and adapter on the CPU."""
    backbone = classifier.backbone
    with torch.inference_mode():
        if backbone.device.type == "cpu":
            features = backbone.encode_images(pixels)
            return classifier.adapter(features, classifier.text_features).softmax(-1).float().numpy()
        return float32_cpu_probabilities(backbone.model.visual, classifier.adapter, classifier.text_features, pixels)


def float32_cpu_probabilities(visual, adapter, text_features: torch.Tensor, pixels: torch.Tensor) -> np.ndarray:
    import copy

    import torch.nn.functional as F

    visual = copy.deepcopy(visual).float().cpu()
    adapter = copy.deepcopy(adapter).float().cpu()
    with torch.inference_mode():
        features = F.normalize(visual(pixels.float().cpu()).float(), dim=-1)
        return adapter(features, text_features.float().cpu()).softmax(-1).numpy()


def tolerance_for(float16: bool) -> float:
    return FLOAT16_TOLERANCE if float16 else FLOAT32_TOLERANCE


def verify_onnx_model(
    onnx_path: Path | str,
    classifier,
    image_paths: Sequence[Path | str],
    *,
    float16: bool = False,
    tolerance: float | None = None,
) -> OnnxCheck:
    """Compare onnxruntime's probabilities with the classifier's (the engine's predict path)."""
    import onnxruntime

    from mma_studio.core.export.onnx_model import METADATA_KEY
    from mma_studio.core.export.standalone_predict import load_metadata, prepare
    from mma_studio.core.images import UnusableImageError

    tolerance = tolerance_for(float16) if tolerance is None else tolerance
    backbone = classifier.backbone
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    metadata = load_metadata(onnx_path)  # as predict.py reads it: the JSON beside the model
    inside = json.loads(session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, "{}"))
    for source, data in (("its JSON", metadata), ("the model's metadata", inside)):
        if data.get("class_names") != list(classifier.class_names):
            return OnnxCheck(
                checked=0,
                tolerance=tolerance,
                float16=float16,
                mismatches=[f"the class list in {source} is not the one exported"],
            )
    engine_pixels, standalone_pixels, names = [], [], []
    for path in image_paths:
        try:
            engine_pixels.append(backbone.preprocess(backbone.load_image(path)))
        except UnusableImageError:
            continue
        standalone_pixels.append(torch.from_numpy(prepare(path, metadata["preprocessing"])))
        names.append(str(path))
    check = OnnxCheck(checked=len(names), tolerance=tolerance, float16=float16)
    if not names:
        return check
    engine = torch.stack(engine_pixels)
    expected = reference_probabilities(classifier, engine)
    from_engine_pixels = session.run(["probabilities"], {"pixels": engine.cpu().numpy().astype(np.float32)})[0]
    from_standalone = session.run(["probabilities"], {"pixels": torch.stack(standalone_pixels).numpy()})[0]
    check.max_probability_gap = float(np.abs(from_engine_pixels - expected).max())
    check.max_standalone_gap = float(np.abs(from_standalone - expected).max())
    for route, got in (("", from_engine_pixels), (" (standalone preprocessing)", from_standalone)):
        for name, want_row, got_row in zip(names, expected, got):
            want_top, got_top = int(want_row.argmax()), int(got_row.argmax())
            if want_top == got_top:
                continue
            if abs(float(want_row[want_top] - want_row[got_top])) < tolerance:
                check.ties += 1
            else:
                check.mismatches.append(f"{name}{route}")
    if check.largest_gap > tolerance and not check.mismatches:
        check.mismatches.append(f"probabilities differ by {check.largest_gap:.2e}, more than {tolerance:.0e}")
    return check
