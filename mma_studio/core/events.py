"""Events that long work reports: one vocabulary for the CLI, the live plots and the tests.

Every event is a frozen dataclass with `to_dict()` (a JSON-ready dict with an `event` key),
so the CLI's `--json` lines and the GUI's signals carry the same thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Progress of one stage of work: `scan`, `load_model`, `extract`, `train`, `evaluate`, `predict`."""

    stage: str
    done: int
    total: int | None = None
    rate: float | None = None  # items per second
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)

    def to_dict(self) -> dict:
        return {"event": "progress", **dataclasses.asdict(self)}


@dataclass(frozen=True)
class ZeroShotEvent:
    """Frozen CLIP without adapter: the baseline every chart shows. Emitted before epoch 1."""

    val_acc: float | None
    new_acc: float | None = None
    hm: float | None = None

    def to_dict(self) -> dict:
        return {"event": "zero_shot", **dataclasses.asdict(self)}


@dataclass(frozen=True)
class EpochEvent:
    """End of one training epoch. `new_acc` is shown, never used to pick an epoch."""

    epoch: int  # 1-based
    epochs: int  # the maximum number of epochs
    train_loss: float
    val_acc: float | None
    new_acc: float | None
    hm: float | None
    best_epoch: int
    is_best: bool
    samples_per_s: float
    eta_s: float

    def to_dict(self) -> dict:
        # Not `dataclasses.asdict`: its deep copy of scalar fields cost ~0.2 ms an event, and a
        # finished run's 100+ events are recorded on the GUI thread.
        return {"event": "epoch", **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}


@dataclass(frozen=True)
class FinishedEvent:
    """Training ended: by running out of epochs, by early stopping or by cancellation."""

    epochs_run: int
    best_epoch: int
    best_val_acc: float | None
    stopped_early: bool
    cancelled: bool = False

    def to_dict(self) -> dict:
        return {"event": "finished", **dataclasses.asdict(self)}


TrainingEvent = ZeroShotEvent | EpochEvent | FinishedEvent
EventCallback = Callable[[TrainingEvent], None]
ProgressCallback = Callable[[Progress], None]
