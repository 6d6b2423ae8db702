"""Train an adapter off the GUI thread: a worker QObject in its own QThread, driven by a `TrainingJob`.

The worker calls the engine's `train_adapter` and relays what it reports as Qt signals
(queued to the GUI thread): `Progress` at a bounded rate, every training event, then exactly
one of `succeeded(run)`, `failed(title, message, details)` or `cancelled()`, then `done()`.
Cancel and pause go through the engine's thread-safe `CancelToken`; nothing is terminated
by force. The engine (and torch) is imported inside `run`, on the worker thread.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from mma_studio.core.cancellation import Cancelled, CancelToken

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress updates a second reach the GUI thread


@dataclass(frozen=True)
class TrainRequest:
    """Everything a run needs, gathered on the GUI thread from the pages' state."""

    scan: Any  # core.dataset.ScanResult
    model: str
    pretrained: str
    base_classes: list[str] = field(default_factory=list)  # ClassFolder.name values
    new_classes: list[str] = field(default_factory=list)
    display_names: dict[str, str] = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # SettingsPanel.values(): RunSettings-shaped
    cache_dir: Path | None = None  # feature cache folder; None = the user cache
    fixes: Any = None  # core.data_fixes.DataFixes: the project's exclusions and class moves


def build_run_settings(request: TrainRequest):
    """`TrainRequest` -> the engine's `RunSettings` (imports the engine)."""
    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.pipeline import RunSettings
    from mma_studio.core.training import TrainConfig

    values = dict(request.values)
    adapter_values = dict(values.pop("adapter", {}) or {})
    training_values = dict(values.pop("training", {}) or {})
    defaults = RunSettings()
    adapter = AdapterConfig.from_dict(
        {**defaults.adapter.to_dict(), "bottleneck_dim": defaults.adapter.bottleneck_dim, **adapter_values}
    )
    training = TrainConfig.from_dict({**defaults.training.to_dict(), **training_values})
    known = set(RunSettings.__dataclass_fields__)
    extra = {key: value for key, value in values.items() if key in known}
    return RunSettings(
        **{
            **extra,
            "model": request.model,
            "pretrained": request.pretrained,
            "base_classes": list(request.base_classes) or None,
            "new_classes": list(request.new_classes) if request.base_classes else None,
            "display_names": dict(request.display_names),
            "adapter": adapter,
            "training": training,
        }
    )


def request_cache(request: TrainRequest):
    """The request's feature cache folder as a `FeatureCache`; None: the engine's default
    (imports the engine)."""
    if request.cache_dir is None:
        return None
    from mma_studio.core.feature_cache import FeatureCache

    return FeatureCache(request.cache_dir)


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def describe_error(exc: BaseException) -> tuple[str, str]:
    """(title, message) a user can act on. Engine errors carry their own explanation."""
    names = _class_names(exc)
    text = str(exc).strip()
    if "SplitError" in names:
        return "The dataset cannot be split for training", text
    if "BackboneLoadError" in names:
        from mma_studio.ui.weights_messages import MODEL_NOT_LOADED, weights_failure

        reason = getattr(exc, "reason", "") or text or "the backbone failed to load"
        label = f"{getattr(exc, 'model', 'The model')} · {getattr(exc, 'pretrained', '')}".strip(" ·")
        return MODEL_NOT_LOADED, weights_failure(label, reason, downloading=False)
    if "DatasetError" in names:
        return "The dataset cannot be used", text
    if "UnusableImageError" in names:
        path, reason = getattr(exc, "path", ""), getattr(exc, "reason", text)
        return "An image could not be read", f"{path}\n\n{reason}\n\nRemove or replace the file and train again."
    if "OutOfMemoryError" in names or isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return (
            "Out of memory",
            "The model or a batch did not fit in memory.\n\nLower the batch size, use fewer augmented views, "
            "choose a smaller model, or train on the CPU." + (f"\n\n({text})" if text else ""),
        )
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return "A file could not be read", text
    if isinstance(exc, OSError):
        return "A file or download failed", text or type(exc).__name__
    if isinstance(exc, ValueError):
        return "These settings cannot train", text
    return "Training failed", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class TrainingWorker(QObject):
    """Lives in the training thread; `run()` is the whole job."""

    progress = Signal(object)  # core.events.Progress
    zeroShot = Signal(object)  # ZeroShotEvent
    epoch = Signal(object)  # EpochEvent
    trainingFinished = Signal(object)  # FinishedEvent
    succeeded = Signal(object)  # TrainingRun
    failed = Signal(str, str, str)  # title, message, traceback
    cancelled = Signal()
    done = Signal()  # always last

    def __init__(self, request: TrainRequest, token: CancelToken) -> None:
        super().__init__()
        self._request = request
        self._token = token
        self._last_progress = 0.0
        self._last_stage: str | None = None
        self._lock = threading.Lock()

    def _on_progress(self, progress) -> None:
        now = time.monotonic()
        complete = progress.total is not None and progress.done >= progress.total
        with self._lock:
            new_stage = progress.stage != self._last_stage
            if not (new_stage or complete) and now - self._last_progress < PROGRESS_INTERVAL_S:
                return
            self._last_progress = now
            self._last_stage = progress.stage
        self.progress.emit(progress)

    def _on_event(self, event) -> None:
        kind = type(event).__name__
        if kind == "EpochEvent":
            self.epoch.emit(event)
        elif kind == "ZeroShotEvent":
            self.zeroShot.emit(event)
        elif kind == "FinishedEvent":
            self.trainingFinished.emit(event)

    @Slot()
    def run(self) -> None:
        try:
            from mma_studio.core.pipeline import train_adapter

            run = train_adapter(
                self._request.scan,
                build_run_settings(self._request),
                cache=request_cache(self._request),
                on_progress=self._on_progress,
                on_event=self._on_event,
                token=self._token,
                fixes=self._request.fixes,
            )
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # every failure reaches the user as a message; the app lives on
            details = traceback.format_exc()
            title, message = describe_error(exc)
            self.failed.emit(title, message, details)
        else:
            self.succeeded.emit(run)
        finally:
            self.done.emit()
            # Quit from this thread: a queued quit would need the GUI event loop, which is
            # blocked while the window waits for this thread on close.
            QThread.currentThread().quit()


class TrainingJob(QObject):
    """One training run in its own QThread. Create, connect signals, `start()`."""

    progress = Signal(object)
    zeroShot = Signal(object)
    epoch = Signal(object)
    trainingFinished = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str, str)
    cancelled = Signal()
    finished = Signal()  # the thread has stopped (after the outcome signal)

    def __init__(self, request: TrainRequest, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = CancelToken()
        self.thread = QThread()
        self.thread.setObjectName("trainingThread")
        self.worker = TrainingWorker(request, self.token)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        for name in ("progress", "zeroShot", "epoch", "trainingFinished", "succeeded", "failed", "cancelled"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.thread.finished.connect(self._on_thread_finished)
        self._running = False

    def start(self) -> None:
        self._running = True
        self.thread.start()

    def cancel(self) -> None:
        self.token.cancel()

    def pause(self) -> None:
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    @property
    def paused(self) -> bool:
        return self.token.paused

    def is_running(self) -> bool:
        """True from `start()` until the GUI thread has seen the thread stop."""
        return self._running

    def wait(self, timeout_ms: int) -> bool:
        """Block until the thread stops; True if it did within the timeout."""
        if self.thread.isFinished() or not self.thread.isRunning():
            return True
        return self.thread.wait(max(0, int(timeout_ms)))

    def _on_thread_finished(self) -> None:
        self._running = False
        self.finished.emit()
