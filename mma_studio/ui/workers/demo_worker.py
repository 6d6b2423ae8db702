"""The Demo page's engine work, as functions for `BackgroundTask` (`fn(on_progress, token)`).

Everything here runs off the GUI thread: reading an adapter file, loading its backbone,
encoding class names, decoding and classifying an image, classifying a folder into a CSV.
The page runs these one at a time, so the `Classifier` is only ever used by one thread.

Backbones are large (ViT-B/16 is ~600 MB), so they are shared: the last training run's
backbone is reused for its own adapter and for any adapter file trained on the same
weights, and the last loaded ones are kept for the next file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from mma_studio.core.events import Progress

PREVIEW_MAX_SIDE = 1024  # the preview is scaled down to this; the model gets the full image
KEPT_BACKBONES = 2


@dataclass
class DemoModel:
    """What the demo classifies with: the classifier and where its adapter came from."""

    classifier: Any  # core.predict.Classifier
    adapter_file: Any  # core.adapter_file.AdapterFile
    source: str  # "run" (the last training run) or "file"
    path: Path | None = None
    run: Any = None  # the TrainingRun, for source == "run"

    @property
    def class_names(self) -> list[str]:
        return list(self.adapter_file.class_names)

    @property
    def roles(self) -> list[str]:
        return list(self.adapter_file.roles)


@dataclass
class DemoResult:
    """One classified image (`prediction` is None when there was no model to run)."""

    image: Any  # PIL.Image, RGB and upright: what the model saw
    preview: QImage
    class_names: list[str]
    prediction: Any = None  # core.predict.Prediction
    source_name: str = ""


@dataclass
class FolderResult:
    rows: int
    csv_path: Path
    folder: Path


@dataclass
class BackboneCache:
    """Loaded backbones by (model name, weights id), newest last; used from one worker at a time."""

    entries: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, backbone) -> None:
        if backbone is None:
            return
        with self.lock:
            key = (backbone.model_name, backbone.weights_id)
            self.entries = [b for b in self.entries if (b.model_name, b.weights_id) != key]
            self.entries.append(backbone)
            del self.entries[:-KEPT_BACKBONES]

    def find(self, model_name: str, weights_id: str | None, preprocess_id: str | None = None):
        if not weights_id:
            return None
        with self.lock:
            for backbone in reversed(self.entries):
                if (backbone.model_name, backbone.weights_id) == (model_name, weights_id) and (
                    preprocess_id is None or backbone.preprocess_id == preprocess_id
                ):
                    return backbone
        return None


def preview_image(image) -> QImage:
    """A QImage copy of a PIL image, at most PREVIEW_MAX_SIDE on its long side."""
    preview = image.copy()
    preview.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    preview = preview.convert("RGB")
    data = preview.tobytes()
    qimage = QImage(data, preview.width, preview.height, 3 * preview.width, QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: `data` goes away with this function


def pil_from_qimage(qimage: QImage):
    """A pasted QImage as an RGB PIL image (alpha flattened on white)."""
    from PIL import Image

    if qimage.hasAlphaChannel():
        flat = QImage(qimage.size(), QImage.Format.Format_RGB888)
        flat.fill(0xFFFFFFFF)
        from PySide6.QtGui import QPainter

        painter = QPainter(flat)
        painter.drawImage(0, 0, qimage)
        painter.end()
        qimage = flat
    rgb = qimage.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    raw = bytes(rgb.constBits())[: stride * height]
    return Image.frombuffer("RGB", (width, height), raw, "raw", "RGB", stride, 1).copy()


@dataclass
class TaskFailure:
    """An expected failure (a refused adapter file, an unreadable image, a missing backbone),
    returned rather than raised: it is the user's to fix, not a bug worth a traceback."""

    message: str


def _expected_errors() -> tuple[type[BaseException], ...]:
    from mma_studio.core.adapter_file import AdapterFileError
    from mma_studio.core.backbone import BackboneLoadError
    from mma_studio.core.images import UnusableImageError
    from mma_studio.core.predict import BackboneMismatchError

    return (AdapterFileError, BackboneLoadError, BackboneMismatchError, UnusableImageError, ValueError, OSError)


def _reporting_expected_errors(fn):
    def run(on_progress, token):
        try:
            return fn(on_progress, token)
        except Exception as exc:
            if isinstance(exc, _expected_errors()):
                from mma_studio.ui.workers.background_task import user_message

                return TaskFailure(user_message(exc))
            raise

    return run


# --- tasks ------------------------------------------------------------------------------------


def read_adapter_task(path: Path):
    """Read and validate an adapter file (AdapterFileError carries the one-line reason)."""

    def run(on_progress, token):
        from mma_studio.core.adapter_file import load_adapter_file

        on_progress(Progress("load_model", 0, None, message=f"Reading {Path(path).name}"))
        return load_adapter_file(path)

    return _reporting_expected_errors(run)


def model_from_file_task(adapter_file, path: Path, device: str, backbones: BackboneCache):
    """The classifier for an adapter file: its recorded backbone, reused when already loaded."""

    def run(on_progress, token):
        from mma_studio.core.backbone import load_backbone
        from mma_studio.core.classifier_backbone import classifier_backbone_arguments
        from mma_studio.core.predict import Classifier

        model, pretrained = classifier_backbone_arguments(adapter_file)  # as `predict` without --model
        info = adapter_file.backbone
        backbone = backbones.find(info.get("model_name") or model, info.get("weights_id"), info.get("preprocess_id"))
        if backbone is None:
            on_progress(Progress("load_model", 0, None, message=f"Loading {info.get('description') or model}"))
            backbone = load_backbone(model, pretrained, device=device, on_progress=on_progress, token=token)
            backbones.remember(backbone)
        on_progress(Progress("load_model", 0, None, message="Encoding the class names"))
        classifier = Classifier(backbone, adapter_file)
        return DemoModel(classifier, adapter_file, "file", Path(path))

    return _reporting_expected_errors(run)


def model_from_run_task(run):
    """The classifier for a finished training run, on the backbone the run already loaded."""

    def task(on_progress, token):
        from mma_studio.core.predict import Classifier

        if run.backbone is None:
            raise ValueError("this training run no longer holds its model; export it and load the file")
        adapter_file = run.to_adapter_file()
        on_progress(Progress("load_model", 0, None, message="Encoding the class names"))
        # The very backbone that trained it: the stored-embeddings check would only repeat the run's work.
        classifier = Classifier(run.backbone, adapter_file, check_backbone=False)
        return DemoModel(classifier, adapter_file, "run", None, run)

    return _reporting_expected_errors(task)


def classify_task(
    classifier,
    class_names: list[str],
    *,
    image=None,
    path: Path | None = None,
    qimage: QImage | None = None,
    top_k: int = 5,
    source_name: str = "",
):
    """Decode the image (a path, a pasted QImage or one already decoded) and classify it into
    `class_names` with the adapter and with zero-shot CLIP. Without a classifier, only decodes."""

    def run(on_progress, token):
        from mma_studio.core.images import load_rgb_image

        picture = image
        if picture is None and path is not None:
            # Decoded as the engine decodes files (a large JPEG at reduced scale), so the figures
            # match `mma-studio predict` on the same file. UnusableImageError reaches the user.
            picture = classifier.backbone.load_image(path) if classifier is not None else load_rgb_image(path)
        if picture is None and qimage is not None:
            picture = pil_from_qimage(qimage)
        if picture is None:
            raise ValueError("no image to classify")
        preview = preview_image(picture)
        if classifier is None:
            return DemoResult(picture, preview, list(class_names), None, source_name)
        if list(classifier.class_names) != list(class_names):
            classifier.set_classes(class_names)
        prediction = classifier.classify_images([picture], top_k)[0]
        return DemoResult(picture, preview, list(classifier.class_names), prediction, source_name)

    return _reporting_expected_errors(run)


def folder_task(classifier, class_names: list[str], folder: Path, csv_path: Path, top_k: int = 3):
    """Classify every image below `folder` into a CSV (written atomically; a cancel writes nothing)."""

    def run(on_progress, token):
        from mma_studio.core.batch_classify import classify_folder_to_csv

        if list(classifier.class_names) != list(class_names):
            classifier.set_classes(class_names)
        on_progress(Progress("predict", 0, None, message=f"Listing images in {Path(folder).name}"))
        # No images, or a folder that cannot be listed: an ImageListingError (a ValueError) naming it.
        rows = classify_folder_to_csv(classifier, folder, csv_path, top_k=top_k, on_progress=on_progress, token=token)
        return FolderResult(rows, Path(csv_path), Path(folder))

    return _reporting_expected_errors(run)
