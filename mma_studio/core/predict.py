"""A classifier from a frozen backbone, an adapter file and any list of class names.

The class list is free: the adapter never stores per-class weights, so it scores class names
it never trained on (that is the point of MMA). The backbone must be the one the adapter was
trained with; the stored class embeddings let us check that, instead of silently producing
nonsense with the wrong weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mma_studio.core.adapter import zero_shot_logits
from mma_studio.core.adapter_file import (
    AdapterFile,
    class_list_problem,
    load_adapter_file,
)
from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.images import UnusableImageError

BACKBONE_AGREEMENT = 0.98  # minimum cosine between stored and recomputed class embeddings


class BackboneMismatchError(Exception):
    """The loaded backbone is not the one the adapter was trained with."""


@dataclass
class Prediction:
    path: str
    labels: list[str] = field(default_factory=list)  # top-k, best first
    probabilities: list[float] = field(default_factory=list)
    zero_shot_labels: list[str] = field(default_factory=list)
    zero_shot_probabilities: list[float] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        data: dict[str, object] = {"path": self.path}
        if self.error:
            data["error"] = self.error
            return data
        data["top"] = [{"label": label, "probability": p} for label, p in zip(self.labels, self.probabilities)]
        data["zero_shot_top"] = [
            {"label": label, "probability": p} for label, p in zip(self.zero_shot_labels, self.zero_shot_probabilities)
        ]
        return data


def backbone_arguments(adapter_file: AdapterFile) -> tuple[str, str]:
    """The (model, pretrained) pair that reloads the backbone recorded in an adapter file."""
    info = adapter_file.backbone
    model = info.get("model_name") or info.get("model")
    pretrained = info.get("pretrained", "")
    if not model:
        raise BackboneMismatchError("the adapter file does not name its backbone model")
    return model, pretrained


class Classifier:
    def __init__(
        self,
        backbone,
        adapter_file: AdapterFile,
        class_names: Sequence[str] | None = None,
        templates: Sequence[str] | None = None,
        *,
        check_backbone: bool = True,
    ) -> None:
        if adapter_file.adapter_config.embed_dim != backbone.embed_dim:
            raise BackboneMismatchError(
                f"the adapter expects {adapter_file.adapter_config.embed_dim}-dimensional embeddings, "
                f"but {backbone.describe()} gives {backbone.embed_dim}"
            )
        self.backbone = backbone
        self.adapter_file = adapter_file
        self.adapter = adapter_file.build_adapter().to(backbone.device)
        self.templates = list(templates or adapter_file.templates)
        if check_backbone:
            self._check_same_backbone()
        self.set_classes(class_names or adapter_file.class_names)

    @classmethod
    def from_file(
        cls,
        path: Path | str,
        *,
        device: str = "auto",
        pretrained: str | None = None,
        class_names: Sequence[str] | None = None,
        on_progress: ProgressCallback | None = None,
        token: CancelToken | None = None,
    ) -> Classifier:
        """Load the adapter file and its backbone (or `pretrained`, e.g. a local weights file)."""
        from mma_studio.core.backbone import load_backbone

        adapter_file = load_adapter_file(path)
        model, recorded = backbone_arguments(adapter_file)
        backbone = load_backbone(model, pretrained or recorded, device=device, on_progress=on_progress, token=token)
        return cls(backbone, adapter_file, class_names)

    def _check_same_backbone(self) -> None:
        stored = self.adapter_file.class_text_features
        if stored is None:
            return
        from mma_studio.core.features import encode_class_texts

        recomputed = encode_class_texts(self.backbone, list(self.adapter_file.class_names), tuple(self.templates))
        agreement = torch.nn.functional.cosine_similarity(recomputed.float(), stored.float(), dim=-1).min().item()
        if agreement < BACKBONE_AGREEMENT:
            recorded = self.adapter_file.backbone.get("description") or self.adapter_file.backbone.get("model_name")
            raise BackboneMismatchError(
                f"this adapter was trained on {recorded}, but the loaded backbone ({self.backbone.describe()}) "
                f"encodes its classes differently (agreement {agreement:.2f}); load the same weights"
            )

    def set_classes(self, class_names: Sequence[str]) -> None:
        from mma_studio.core.features import encode_class_texts

        names = [name.strip() for name in class_names if name and name.strip()]
        if not names:
            raise ValueError("give at least one class name")
        if len(set(names)) != len(names):
            raise ValueError("class names must be unique")
        problem = class_list_problem(names, self.templates)
        if problem:
            raise ValueError(f"too many or too long class names to encode: {problem}")
        self.class_names = names
        self.text_features = encode_class_texts(self.backbone, names, tuple(self.templates)).to(self.backbone.device)

    @torch.inference_mode()
    def _probabilities(self, image_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        image_features = image_features.to(self.backbone.device)
        adapted = self.adapter(image_features, self.text_features).softmax(-1)
        zero = zero_shot_logits(image_features, self.text_features, self.backbone.logit_scale).softmax(-1)
        return adapted.cpu(), zero.cpu()

    def classify_images(self, images: Sequence, top_k: int = 5, names: Sequence[str] | None = None) -> list[Prediction]:
        """PIL images -> predictions (adapter and zero-shot CLIP)."""
        if not images:
            return []
        pixels = torch.stack([self.backbone.preprocess(image.convert("RGB")) for image in images])
        features = self.backbone.encode_images(pixels)
        return self._predictions(features, names or [f"image {i + 1}" for i in range(len(images))], top_k)

    def _predictions(self, features: torch.Tensor, names: Sequence[str], top_k: int) -> list[Prediction]:
        adapted, zero = self._probabilities(features)
        k = max(1, min(top_k, len(self.class_names)))
        results = []
        for row, name in enumerate(names):
            top_p, top_i = adapted[row].topk(k)
            zero_p, zero_i = zero[row].topk(k)
            results.append(
                Prediction(
                    path=str(name),
                    labels=[self.class_names[i] for i in top_i.tolist()],
                    probabilities=[round(p, 6) for p in top_p.tolist()],
                    zero_shot_labels=[self.class_names[i] for i in zero_i.tolist()],
                    zero_shot_probabilities=[round(p, 6) for p in zero_p.tolist()],
                )
            )
        return results

    def classify_paths(
        self,
        paths: Sequence[Path | str],
        top_k: int = 5,
        *,
        batch_size: int = 64,
        on_progress: ProgressCallback | None = None,
        token: CancelToken | None = None,
    ) -> list[Prediction]:
        """Classify image files in batches; an unreadable file gets a Prediction with `error`."""
        results: list[Prediction] = []
        started = time.perf_counter()
        total = len(paths)
        for start in range(0, total, batch_size):
            check(token)
            batch_paths = list(paths[start : start + batch_size])
            images, names = [], []
            for path in batch_paths:
                try:
                    images.append(self.backbone.load_image(path))
                    names.append(str(path))
                except UnusableImageError as exc:
                    results.append(Prediction(path=str(path), error=exc.reason))
            results.extend(self.classify_images(images, top_k, names))
            done = min(start + batch_size, total)
            elapsed = time.perf_counter() - started
            rate = done / elapsed if elapsed > 0 else None
            if on_progress:
                on_progress(Progress("predict", done, total, rate=rate, eta_s=(total - done) / rate if rate else None))
        order = {str(p): i for i, p in enumerate(paths)}
        results.sort(key=lambda r: order.get(r.path, 0))
        return results
