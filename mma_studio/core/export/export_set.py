"""Export a run: the adapter file, an optional model card and metrics beside it, an optional
standalone ONNX classifier, then proof that the saved files work.

The app's Export dialog and `mma-studio export` / `train --onnx` call `write_export_set`, so
both write the same set through the same code. Every file is written atomically (temp file +
rename), so a full disk or a refused folder never leaves half a file. If any file of the set
fails, or the user cancels, the files this export had already created are removed again, so
the folder holds the whole set or none of it (a file that existed before and was already
replaced keeps its new, complete content). Then the adapter is read back from disk through
the engine's predict path and must reproduce the run's predictions on a few test images
(`verify_exported_adapter`), and onnxruntime must reproduce `predict` with the ONNX file
(`verify_onnx_model`); a mismatch is reported, never hidden.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mma_studio.core.cancellation import Cancelled, CancelToken, check
from mma_studio.core.events import Progress

if TYPE_CHECKING:  # both import torch; the dialog imports this module on the GUI thread
    from mma_studio.core.export.onnx_check import OnnxCheck
    from mma_studio.core.export_check import ExportCheck

ADAPTER_SUFFIX = ".safetensors"
ONNX_SUFFIX = ".onnx"
PREDICT_SCRIPT = "predict.py"
VERIFY_IMAGES = 8
STAGE = "export"


class ExportableRun(Protocol):
    """What the export reads from a run: a `TrainingRun`, or an `AdapterFileRun` (a saved file)."""

    backbone: Any  # the loaded Backbone, or None (a restored run: loaded for the export)

    @property
    def adapter(self) -> Any: ...  # the MultiModalAdapter in memory

    @property
    def class_text_features(self) -> Any: ...  # (N, D) text embeddings of its classes

    @property
    def prompt_names(self) -> list[str]: ...

    @property
    def zero_shot(self) -> Any: ...  # EvaluationReport, or None without held-out figures

    @property
    def adapted(self) -> Any: ...

    def save(self, path: Path) -> Path: ...

    def to_adapter_file(self) -> Any: ...

    def summary(self) -> dict: ...


class ExportError(Exception):
    """A file could not be written; the message says which and why, in the user's words."""


@dataclass(frozen=True)
class ExportRequest:
    run: ExportableRun
    adapter_path: Path
    model_card: bool = True
    metrics: bool = True
    verify_images: int = VERIFY_IMAGES
    title: str | None = None  # the model card's heading (default: the file name)
    onnx: bool = False  # also the standalone ONNX classifier, its JSON and predict.py
    onnx_float16: bool = False  # ONNX weights stored as float16 (half the file)
    onnx_classes: tuple[str, ...] | None = None  # the ONNX model's classes (default: the adapter's)
    check_images: tuple[Path, ...] = ()  # images to check with (default: the run's held-out test images)


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    check: ExportCheck | None = None
    check_error: str = ""  # the file could not be read back or checked at all
    onnx_requested: bool = False
    onnx_check: OnnxCheck | None = None
    onnx_check_error: str = ""

    @property
    def adapter_verified(self) -> bool:
        return self.check is not None and self.check.ok and not self.check_error

    @property
    def onnx_verified(self) -> bool:
        return self.onnx_check is not None and self.onnx_check.ok and not self.onnx_check_error

    @property
    def verified(self) -> bool:
        return self.adapter_verified and (self.onnx_verified or not self.onnx_requested)

    def describe(self) -> str:
        """A few sentences for the user: verified, or what went wrong."""
        text = self.describe_adapter()
        return f"{text} {self.describe_onnx()}" if self.onnx_requested else text

    def describe_adapter(self) -> str:
        if self.check_error:
            return f"Saved, but the file could not be checked: {self.check_error}"
        check_result = self.check
        if check_result is None or check_result.checked == 0:
            return "Saved, but there was no readable test image to check the file with."
        images = "image" if check_result.checked == 1 else "images"
        if check_result.ok:
            return (
                f"Verified: loaded back from disk, the file gives the same predictions as the app on "
                f"{check_result.checked} test {images} (largest probability difference "
                f"{check_result.max_probability_gap:.1e})."
            )
        differing = [m for m in check_result.mismatches if not m.startswith("probabilities differ")]
        if differing:
            names = ", ".join(Path(m).name for m in differing[:3]) + (" …" if len(differing) > 3 else "")
            return (
                f"Mismatch: loaded back from disk, the file predicts a different class than the app for "
                f"{len(differing)} of {check_result.checked} test {images} ({names}). Do not share this file; "
                "export again."
            )
        return (
            f"Mismatch: loaded back from disk, the file's probabilities differ from the app's by up to "
            f"{check_result.max_probability_gap:.4f} on {check_result.checked} test {images}. Export again."
        )

    def describe_onnx(self) -> str:
        if self.onnx_check_error:
            return f"The ONNX model was saved but could not be checked: {self.onnx_check_error}"
        result = self.onnx_check
        if result is None or result.checked == 0:
            reason = "; ".join(result.mismatches) if result is not None and result.mismatches else ""
            return "The ONNX model was saved but is not verified: " + (
                reason if reason else "there was no readable test image to check it with."
            )
        images = "image" if result.checked == 1 else "images"
        weights = "float16 weights" if result.float16 else "float32"
        if result.ok:
            ties = f"; {result.ties} near-tie(s) ordered differently" if result.ties else ""
            return (
                f"ONNX model verified: onnxruntime and predict.py give the app's predictions on {result.checked} "
                f"test {images} (largest probability difference {result.largest_gap:.1e}, tolerance "
                f"{result.tolerance:.0e} for {weights}{ties})."
            )
        return (
            f"ONNX mismatch: onnxruntime does not reproduce the app's predictions ({'; '.join(result.mismatches[:3])}"
            f"{' …' if len(result.mismatches) > 3 else ''}; largest probability difference "
            f"{result.largest_gap:.1e}). Do not share the ONNX model."
        )

    def to_dict(self) -> dict:
        data: dict = {"written": [str(p) for p in self.written], "verified": self.verified, "message": self.describe()}
        if self.check is not None:
            data["adapter_check"] = {
                "checked": self.check.checked,
                "ok": self.check.ok,
                "max_probability_gap": self.check.max_probability_gap,
                "mismatches": list(self.check.mismatches),
            }
        if self.check_error:
            data["adapter_check_error"] = self.check_error
        if self.onnx_check is not None:
            data["onnx_check"] = self.onnx_check.to_dict()
        if self.onnx_check_error:
            data["onnx_check_error"] = self.onnx_check_error
        return data


def companion_paths(adapter_path: Path | str) -> dict[str, Path]:
    """The files written beside `name.safetensors`: `name.md`, `name.metrics.json`, `name.confusion.csv`,
    and for the ONNX export `name.onnx`, `name.onnx.json` and `predict.py`."""
    adapter_path = Path(adapter_path)
    stem = (
        adapter_path.name[: -len(ADAPTER_SUFFIX)] if adapter_path.name.endswith(ADAPTER_SUFFIX) else adapter_path.stem
    )
    folder = adapter_path.parent
    return {
        "model_card": folder / f"{stem}.md",
        "metrics": folder / f"{stem}.metrics.json",
        "confusion": folder / f"{stem}.confusion.csv",
        "onnx": folder / f"{stem}{ONNX_SUFFIX}",
        "onnx_json": folder / f"{stem}{ONNX_SUFFIX}.json",
        "predict_script": folder / PREDICT_SCRIPT,
    }


def with_adapter_suffix(path: Path | str) -> Path:
    path = Path(path)
    return path if path.name.endswith(ADAPTER_SUFFIX) else path.with_name(path.name + ADAPTER_SUFFIX)


def companion_groups(adapter_path: Path | str) -> dict[str, list[Path]]:
    """The files each option of an export adds beside the adapter file: "model_card",
    "metrics" and "onnx"."""
    companions = companion_paths(adapter_path)
    return {
        "model_card": [companions["model_card"]],
        "metrics": [companions["metrics"], companions["confusion"]],
        "onnx": [companions["onnx"], companions["onnx_json"], companions["predict_script"]],
    }


def planned_files(adapter_path: Path | str, model_card: bool, metrics: bool, onnx: bool = False) -> list[Path]:
    groups = companion_groups(adapter_path)
    chosen = {"model_card": model_card, "metrics": metrics, "onnx": onnx}
    return [Path(adapter_path)] + [file for option, files in groups.items() if chosen[option] for file in files]


def verification_images(report, count: int) -> list[str]:
    """Up to `count` test images, taken in turn from each true class (so every class is tried)."""
    by_class: dict[int, list[str]] = {}
    for path, label in zip(report.paths, report.true_labels):
        by_class.setdefault(int(label), []).append(path)
    chosen: list[str] = []
    depth = 0
    while len(chosen) < count and any(depth < len(paths) for paths in by_class.values()):
        for label in sorted(by_class):
            if depth < len(by_class[label]) and len(chosen) < count:
                chosen.append(by_class[label][depth])
        depth += 1
    return chosen


def describe_os_error(exc: OSError, path: Path) -> str:
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EACCES: "you do not have permission to write in this folder",
        errno.EPERM: "you do not have permission to write in this folder",
        errno.EROFS: "the folder is on a read-only disk",
        errno.ENOENT: "the folder does not exist",
        errno.ENAMETOOLONG: "the file name is too long",
    }.get(exc.errno or -1, exc.strerror or str(exc) or type(exc).__name__)
    return f"Could not save {path.name} in {path.parent}: {reason}."


def write_export_set(
    request: ExportRequest, on_progress: Callable[[Progress], None] | None = None, token: CancelToken | None = None
) -> ExportResult:
    """Write the files, then verify them. Raises `ExportError` if a file fails (nothing is left
    behind), `Cancelled` on cancel (likewise), `OnnxUnavailableError` without the [onnx] extra."""
    from mma_studio.core.atomic_write import (
        write_bytes_atomically,
        write_text_atomically,
    )
    from mma_studio.core.metrics_export import confusion_csv, metrics_json

    run = request.run
    adapter_path = Path(request.adapter_path)
    companions = companion_paths(adapter_path)
    if request.onnx:
        from mma_studio.core.export.onnx_extra import require_onnx

        require_onnx()
    if request.metrics and getattr(run, "adapted", None) is None:
        raise ExportError("The metrics files need figures on held-out images: give a dataset folder to evaluate on.")
    state: dict = {}

    steps: list[tuple[Path, str, Callable[[], object]]] = [
        (adapter_path, f"Saving {adapter_path.name}", lambda: run.save(adapter_path))
    ]
    if request.model_card:
        steps.append(
            (
                companions["model_card"],
                f"Saving {companions['model_card'].name}",
                lambda: write_text_atomically(companions["model_card"], _model_card(request, companions)),
            )
        )
    if request.metrics:
        extra = {"summary": _json_safe_summary(run)}
        steps.append(
            (
                companions["metrics"],
                f"Saving {companions['metrics'].name}",
                lambda: write_text_atomically(companions["metrics"], metrics_json(run.zero_shot, run.adapted, extra)),
            )
        )
        steps.append(
            (
                companions["confusion"],
                f"Saving {companions['confusion'].name}",
                lambda: write_text_atomically(companions["confusion"], confusion_csv(run.adapted)),
            )
        )
    if request.onnx:
        from mma_studio.core.export.onnx_model import (
            metadata_json,
            standalone_predict_source,
        )

        steps.append(
            (
                companions["onnx"],
                f"Building and saving {companions['onnx'].name}",
                lambda: _write_onnx(request, companions["onnx"], state, token),
            )
        )
        steps.append(
            (
                companions["onnx_json"],
                f"Saving {companions['onnx_json'].name}",
                lambda: write_text_atomically(companions["onnx_json"], metadata_json(state["metadata"])),
            )
        )
        steps.append(
            (
                companions["predict_script"],
                f"Saving {PREDICT_SCRIPT}",
                lambda: write_bytes_atomically(companions["predict_script"], standalone_predict_source()),
            )
        )
    checks = 2 if request.onnx else 1
    total = len(steps) + checks

    def report(done: int, message: str) -> None:
        if on_progress:
            on_progress(Progress(STAGE, done, total, message=message))

    result = ExportResult(onnx_requested=request.onnx)
    created: list[Path] = []
    try:
        for done, (path, message, write) in enumerate(steps):
            check(token)
            report(done, message)
            existed = path.exists()
            try:
                write()
            except OSError as exc:
                raise ExportError(describe_os_error(exc, path)) from exc
            if not existed:
                created.append(path)
            result.written.append(path)
        check(token)
        report(len(steps), "Checking the saved file")
        images = _check_images(request)
        _verify_adapter(request, result, images, state, token)
        if request.onnx:
            check(token)
            report(len(steps) + 1, f"Checking {companions['onnx'].name} with onnxruntime")
            _verify_onnx(request, result, state, images, token)
        check(token)  # a cancel during a check still means "nothing exported"
    except BaseException:
        for path in created:  # all of the set or none of it
            try:
                path.unlink()
            except OSError:
                pass
        raise
    report(total, "Done")
    return result


def _check_images(request: ExportRequest) -> list[str]:
    if request.check_images:
        return [str(p) for p in request.check_images]
    adapted = getattr(request.run, "adapted", None)
    return verification_images(adapted, request.verify_images) if adapted is not None else []


def _model_card(request: ExportRequest, companions: dict[str, Path]) -> str:
    from mma_studio.core.export.usage import usage_markdown
    from mma_studio.core.model_card import model_card_markdown

    contents = request.run.to_adapter_file()
    title = request.title or companions["model_card"].stem
    card = model_card_markdown(contents, title)
    usage = usage_markdown(
        Path(request.adapter_path),
        class_names=list(contents.class_names),
        onnx_path=companions["onnx"] if request.onnx else None,
        onnx_classes=list(request.onnx_classes) if request.onnx_classes else None,
        metrics_paths=[companions["metrics"], companions["confusion"]] if request.metrics else None,
    )
    return card.rstrip("\n") + "\n\n" + usage


def _write_onnx(request: ExportRequest, path: Path, state: dict, token: CancelToken | None) -> None:
    """Build the ONNX classifier from the run's adapter (the predict path) and write it."""
    from mma_studio.core.atomic_write import write_bytes_atomically
    from mma_studio.core.export.onnx_model import OnnxExportError, build_onnx_model
    from mma_studio.core.predict import Classifier

    run = request.run
    backbone = _backbone(run, state, token)
    check(token)
    try:
        classifier = Classifier(backbone, run.to_adapter_file(), list(request.onnx_classes or []) or None)
    except ValueError as exc:  # an empty or duplicated class list
        raise ExportError(f"Cannot export the ONNX model: {exc}.") from exc
    try:
        data, metadata = build_onnx_model(
            classifier, float16=request.onnx_float16, classes_from="export list" if request.onnx_classes else "adapter"
        )
    except OnnxExportError as exc:
        raise ExportError(f"Cannot export {path.name}: {exc}.") from exc
    state["metadata"] = metadata
    state["classes"] = list(classifier.class_names)
    check(token)
    write_bytes_atomically(path, data)


def _verify_adapter(request: ExportRequest, result: ExportResult, images: list[str], state: dict, token) -> None:
    """Read the adapter back from disk and compare its predictions with the run's (never raises)."""
    run = request.run
    try:
        from mma_studio.core.export_check import verify_exported_adapter

        backbone = _backbone(run, state, token)
        result.check = verify_exported_adapter(request.adapter_path, run, backbone, images)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - a file that cannot be read back is a finding, not a crash
        result.check_error = str(exc).strip() or type(exc).__name__


def _verify_onnx(request: ExportRequest, result: ExportResult, state: dict, images: Sequence[str], token) -> None:
    """onnxruntime on the saved .onnx vs `predict` with the saved adapter file (never raises)."""
    run = request.run
    try:
        from mma_studio.core.adapter_file import load_adapter_file
        from mma_studio.core.export.onnx_check import verify_onnx_model
        from mma_studio.core.predict import Classifier

        backbone = _backbone(run, state, token)
        classifier = Classifier(backbone, load_adapter_file(request.adapter_path), state.get("classes"))
        check(token)
        result.onnx_check = verify_onnx_model(
            companion_paths(request.adapter_path)["onnx"], classifier, images, float16=request.onnx_float16
        )
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - reported to the user as "could not be checked"
        result.onnx_check_error = " ".join(str(exc).split()) or type(exc).__name__


def _backbone(run, state: dict, token):
    """The run's backbone, or (a run restored without one) loaded once for this export."""
    if run.backbone is not None:
        return run.backbone
    if "backbone" not in state:
        from mma_studio.core.backbone import load_backbone

        settings = run.settings  # only a TrainingRun comes without a backbone
        state["backbone"] = load_backbone(settings.model, settings.pretrained, device=settings.device, token=token)
    return state["backbone"]


def _json_safe_summary(run) -> dict:
    try:
        summary = run.summary()
    except Exception:  # noqa: BLE001 - the metrics file is still useful without it
        return {}
    return {key: value for key, value in summary.items() if key not in ("zero_shot", "adapted")}


def file_size_text(path_or_size: Path | str | int) -> str:
    """ "1.2 MB" for a file (or a byte count); "" when the file cannot be read."""
    if isinstance(path_or_size, int):
        size: float = path_or_size
    else:
        try:
            size = os.path.getsize(path_or_size)
        except OSError:
            return ""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
