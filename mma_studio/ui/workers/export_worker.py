"""Export a run off the GUI thread: the adapter file, an optional model card and metrics beside
it, then proof that the saved file works.

Every file is written atomically (temp file + rename), so a full disk or a refused folder never
leaves half a file. If any file of the set fails, or the user cancels, the files this export
had already created are removed again, so the folder holds the whole set or none of it (a file
that existed before and was already replaced keeps its new, complete content). Then the adapter is read back from
disk through the engine's predict path and must reproduce the in-app predictions on a few
test images (`verify_exported_adapter`); a mismatch is reported, never hidden.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from mma_studio.core.cancellation import Cancelled, CancelToken, check
from mma_studio.core.events import Progress
from mma_studio.ui.widgets.adapter_drop import ADAPTER_SUFFIX

VERIFY_IMAGES = 8


class ExportError(Exception):
    """A file could not be written; the message says which and why, in the user's words."""


@dataclass(frozen=True)
class ExportRequest:
    run: object  # a TrainingRun
    adapter_path: Path
    model_card: bool = True
    metrics: bool = True
    verify_images: int = VERIFY_IMAGES
    title: str | None = None  # the model card's heading (default: the file name)


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    check: object | None = None  # ExportCheck
    check_error: str = ""  # the file could not be read back or checked at all

    @property
    def verified(self) -> bool:
        return self.check is not None and self.check.ok and not self.check_error

    def describe(self) -> str:
        """One or two sentences for the user: verified, or what went wrong."""
        if self.check_error:
            return f"Saved, but the file could not be checked: {self.check_error}"
        check_result = self.check
        if check_result is None or check_result.checked == 0:
            return "Saved, but there was no readable test image to check the file with."
        images = "image" if check_result.checked == 1 else "images"
        if check_result.ok:
            return (f"Verified: loaded back from disk, the file gives the same predictions as the app on "
                    f"{check_result.checked} test {images} (largest probability difference "
                    f"{check_result.max_probability_gap:.1e}).")
        differing = [m for m in check_result.mismatches if not m.startswith("probabilities differ")]
        if differing:
            names = ", ".join(Path(m).name for m in differing[:3]) + (" …" if len(differing) > 3 else "")
            return (f"Mismatch: loaded back from disk, the file predicts a different class than the app for "
                    f"{len(differing)} of {check_result.checked} test {images} ({names}). Do not share this file; "
                    "export again.")
        return (f"Mismatch: loaded back from disk, the file's probabilities differ from the app's by up to "
                f"{check_result.max_probability_gap:.4f} on {check_result.checked} test {images}. Export again.")


def companion_paths(adapter_path: Path | str) -> dict[str, Path]:
    """The files written beside `name.safetensors`: `name.md`, `name.metrics.json`, `name.confusion.csv`."""
    adapter_path = Path(adapter_path)
    stem = adapter_path.name[: -len(ADAPTER_SUFFIX)] if adapter_path.name.endswith(ADAPTER_SUFFIX) else adapter_path.stem
    folder = adapter_path.parent
    return {
        "model_card": folder / f"{stem}.md",
        "metrics": folder / f"{stem}.metrics.json",
        "confusion": folder / f"{stem}.confusion.csv",
    }


def with_adapter_suffix(path: Path | str) -> Path:
    path = Path(path)
    return path if path.name.endswith(ADAPTER_SUFFIX) else path.with_name(path.name + ADAPTER_SUFFIX)


def planned_files(adapter_path: Path | str, model_card: bool, metrics: bool) -> list[Path]:
    companions = companion_paths(adapter_path)
    files = [Path(adapter_path)]
    if model_card:
        files.append(companions["model_card"])
    if metrics:
        files += [companions["metrics"], companions["confusion"]]
    return files


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


def export_run(request: ExportRequest, on_progress: Callable[[Progress], None] | None = None,
               token: CancelToken | None = None) -> ExportResult:
    """Write the files, then verify the adapter file. Raises `ExportError` if a file fails."""
    from mma_studio.core.atomic_write import write_text_atomically
    from mma_studio.core.metrics_export import confusion_csv, metrics_json
    from mma_studio.core.model_card import model_card_markdown

    run = request.run
    adapter_path = Path(request.adapter_path)
    companions = companion_paths(adapter_path)
    steps: list[tuple[Path, Callable[[], object]]] = [(adapter_path, lambda: run.save(adapter_path))]
    if request.model_card:
        title = request.title or companions["model_card"].stem
        steps.append((companions["model_card"],
                      lambda: write_text_atomically(companions["model_card"], model_card_markdown(run.to_adapter_file(), title))))
    if request.metrics:
        extra = {"summary": _json_safe_summary(run)}
        steps.append((companions["metrics"],
                      lambda: write_text_atomically(companions["metrics"], metrics_json(run.zero_shot, run.adapted, extra))))
        steps.append((companions["confusion"],
                      lambda: write_text_atomically(companions["confusion"], confusion_csv(run.adapted))))
    total = len(steps) + 1

    def report(done: int, message: str) -> None:
        if on_progress:
            on_progress(Progress("export", done, total, message=message))

    result = ExportResult()
    created: list[Path] = []
    try:
        for done, (path, write) in enumerate(steps):
            check(token)
            report(done, f"Saving {path.name}")
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
        _verify(request, result, token)
        check(token)  # a cancel during the check still means "nothing exported"
    except BaseException:
        for path in created:  # all of the set or none of it
            try:
                path.unlink()
            except OSError:
                pass
        raise
    report(total, "Done")
    return result


def _verify(request: ExportRequest, result: ExportResult, token: CancelToken | None) -> None:
    """Read the adapter back from disk and compare its predictions with the run's (never raises)."""
    run = request.run
    try:
        from mma_studio.core.export_check import verify_exported_adapter

        backbone = run.backbone or _load_backbone(run, token)
        images = verification_images(run.adapted, request.verify_images)
        result.check = verify_exported_adapter(request.adapter_path, run, backbone, images)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - a file that cannot be read back is a finding, not a crash
        result.check_error = str(exc).strip() or type(exc).__name__


def _load_backbone(run, token):
    from mma_studio.core.backbone import load_backbone

    settings = run.settings
    return load_backbone(settings.model, settings.pretrained, device=settings.device, token=token)


def _json_safe_summary(run) -> dict:
    try:
        summary = run.summary()
    except Exception:  # noqa: BLE001 - the metrics file is still useful without it
        return {}
    return {key: value for key, value in summary.items() if key not in ("zero_shot", "adapted")}


def file_size_text(path: Path | str) -> str:
    try:
        size = os.path.getsize(path)
    except OSError:
        return ""
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def export_task(request: ExportRequest, parent=None):
    """A `BackgroundTask` (not started) that runs `export_run(request)` on a worker thread."""
    from mma_studio.ui.workers.background_task import BackgroundTask

    return BackgroundTask(lambda on_progress, token: export_run(request, on_progress, token), parent)
