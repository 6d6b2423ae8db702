"""A saved adapter file, in the shape the export set takes from a training run.

`mma-studio export FILE OUT_DIR` exports what a file holds, not a run in memory: this gives
the file the attributes `write_export_set` reads from a `TrainingRun` (its adapter and class
embeddings, its backbone, and, when a dataset folder was given, the figures on that folder's
held-out images), so the app and the CLI write the same set through the same code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mma_studio.core.adapter_file import AdapterFile


@dataclass
class AdapterFileRun:
    source_path: Path
    contents: AdapterFile
    backbone: Any  # the loaded Backbone
    evaluation: Any = None  # a FolderEvaluation, for the metrics files
    # The file's bytes as read when it was loaded (through `core.user_files`): what `save` writes.
    source_bytes: bytes | None = None
    adapter: Any = field(init=False)
    class_text_features: Any = field(init=False)

    def __post_init__(self) -> None:
        self.adapter = self.contents.build_adapter()
        features = self.contents.class_text_features
        if features is None:  # an older file without stored class embeddings: the backbone makes them
            from mma_studio.core.features import encode_class_texts

            features = encode_class_texts(self.backbone, self.contents.class_names, tuple(self.contents.templates))
        self.class_text_features = features

    @property
    def prompt_names(self) -> list[str]:
        return list(self.contents.class_names)

    @property
    def backbone_metadata(self) -> dict:
        return dict(self.contents.backbone)

    @property
    def zero_shot(self):
        return self.evaluation.zero_shot if self.evaluation is not None else None

    @property
    def adapted(self):
        return self.evaluation.adapted if self.evaluation is not None else None

    def summary(self) -> dict:
        return self.evaluation.summary() if self.evaluation is not None else {}

    def to_adapter_file(self) -> AdapterFile:
        return self.contents

    def save(self, path: Path | str) -> Path:
        """The file's exact bytes, unless the export goes to the file itself (then nothing changes)."""
        from mma_studio.core.atomic_write import write_bytes_atomically

        path = Path(path)
        if path.exists() and _same_file(path, self.source_path):
            return path
        data = self.source_bytes if self.source_bytes is not None else read_adapter_bytes(self.source_path)
        return write_bytes_atomically(path, data)


def read_adapter_bytes(path: Path) -> bytes:
    """The adapter file's bytes, read as every user file is (`core.user_files`: a regular file,
    capped as `load_adapter_file` caps it); a refusal is an AdapterFileError naming the file."""
    from mma_studio.core.adapter_file import MAX_FILE_BYTES, AdapterFileError
    from mma_studio.core.user_files import UserFileError, read_regular_file

    try:
        return read_regular_file(path, MAX_FILE_BYTES, what="an adapter file")
    except UserFileError as exc:
        raise AdapterFileError(str(exc)) from None
    except PermissionError:
        raise AdapterFileError(f"{path}: permission denied") from None
    except OSError as exc:
        raise AdapterFileError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def load_adapter_for_export(
    path: Path | str,
    *,
    model: str | None = None,
    pretrained: str | None = None,
    device: str = "auto",
    data_dir: Path | str | None = None,
    cache=None,
    on_progress=None,
    token=None,
) -> AdapterFileRun:
    """Read the adapter file, load its backbone (or the one given), and evaluate it on `data_dir`.

    The backbone is chosen as `predict` and `eval` choose it (`classifier_backbone_arguments`):
    another `model` alone gets that model's usual weights, never the adapter's weights tag."""
    from mma_studio.core.adapter_file import load_adapter_file_and_bytes
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.classifier_backbone import classifier_backbone_arguments

    contents, source_bytes = load_adapter_file_and_bytes(path)  # what `save` copies: the file checked
    chosen_model, chosen_pretrained = classifier_backbone_arguments(contents, model, pretrained)
    backbone = load_backbone(chosen_model, chosen_pretrained, device=device, on_progress=on_progress, token=token)
    evaluation = None
    if data_dir is not None:
        from mma_studio.core.dataset import scan_dataset
        from mma_studio.core.folder_evaluation import evaluate_adapter_on_folder

        scan = scan_dataset(Path(data_dir), on_progress=on_progress, token=token)
        evaluation = evaluate_adapter_on_folder(
            contents, scan, backbone, cache=cache, on_progress=on_progress, token=token
        )
    return AdapterFileRun(Path(path), contents, backbone, evaluation, source_bytes)


def export_adapter_file(
    path: Path | str,
    out_dir: Path | str,
    *,
    model_card: bool = False,
    metrics_data_dir: Path | str | None = None,
    onnx: bool = False,
    onnx_float16: bool = False,
    onnx_classes: list[str] | None = None,
    check_images: list[Path] | None = None,
    model: str | None = None,
    pretrained: str | None = None,
    device: str = "auto",
    cache=None,
    on_progress=None,
    token=None,
):
    """`mma-studio export`: the export set of a saved adapter file, written to `out_dir` under the
    file's own name, through the same `write_export_set` as the app's Export dialog."""
    from mma_studio.core.export.export_set import (
        ExportError,
        ExportRequest,
        with_adapter_suffix,
        write_export_set,
    )
    from mma_studio.core.export.onnx_extra import require_onnx

    if onnx:
        require_onnx()  # before minutes of loading and evaluating
    source = Path(path)
    run = load_adapter_for_export(
        source,
        model=model,
        pretrained=pretrained,
        device=device,
        data_dir=metrics_data_dir,
        cache=cache,
        on_progress=on_progress,
        token=token,
    )
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create the folder {out_dir}: {exc.strerror or exc}.") from exc
    request = ExportRequest(
        run,
        with_adapter_suffix(out_dir / source.name),
        model_card=model_card,
        metrics=metrics_data_dir is not None,
        onnx=onnx,
        onnx_float16=onnx_float16,
        onnx_classes=tuple(onnx_classes) if onnx_classes else None,
        check_images=tuple(Path(p) for p in check_images or ()),
    )
    return write_export_set(request, on_progress, token)
