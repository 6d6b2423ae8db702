"""The training worker: real `train_adapter` runs in a QThread with mma-tiny, relayed as signals."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QThread

from mma_studio.core.events import EpochEvent, FinishedEvent, Progress, ZeroShotEvent
from mma_studio.ui.workers.training_worker import TrainingJob, TrainRequest, build_run_settings, describe_error
from tests.training_helpers import RANDOM_BACKBONE, fast_values, scanned_dataset


@pytest.fixture
def scan(tmp_path):
    return scanned_dataset(tmp_path / "data", classes=6, per_class=8)


def request_for(scan, tmp_path, **values) -> TrainRequest:
    model, tag, _ = RANDOM_BACKBONE
    return TrainRequest(
        scan=scan, model=model, pretrained=tag, values=fast_values(**values), cache_dir=tmp_path / "cache"
    )


class Recorder:
    """Every signal of a job, in arrival order (on the GUI thread)."""

    def __init__(self, job: TrainingJob) -> None:
        self.items: list[tuple[str, object]] = []
        for name in ("progress", "zeroShot", "epoch", "trainingFinished", "succeeded", "cancelled"):
            getattr(job, name).connect(lambda value=None, name=name: self.items.append((name, value)))
        job.failed.connect(lambda title, message, details: self.items.append(("failed", (title, message, details))))
        job.finished.connect(lambda: self.items.append(("finished", None)))

    def kinds(self) -> list[str]:
        return [name for name, _ in self.items]

    def values(self, kind: str) -> list:
        return [value for name, value in self.items if name == kind]


def test_job_runs_train_adapter_in_its_thread_and_relays_every_event(qtbot, tmp_path, scan, warm):
    job = TrainingJob(request_for(scan, tmp_path, epochs=4))
    recorder = Recorder(job)
    worker_threads = []
    job.epoch.connect(lambda _event: worker_threads.append(QThread.currentThread()))
    with qtbot.waitSignal(job.finished, timeout=60_000):
        job.start()
    kinds = recorder.kinds()
    assert kinds[-2:] == ["succeeded", "finished"], kinds[-5:]
    assert not job.is_running() and job.thread.isFinished()
    # zero-shot first, then epochs 1..4 in order, then the finished event
    events = [value for name, value in recorder.items if name in ("zeroShot", "epoch", "trainingFinished")]
    assert isinstance(events[0], ZeroShotEvent)
    assert [event.epoch for event in events[1:-1]] == [1, 2, 3, 4]
    assert all(isinstance(event, EpochEvent) for event in events[1:-1])
    assert isinstance(events[-1], FinishedEvent) and events[-1].epochs_run == 4
    stages = [p.stage for p in recorder.values("progress")]
    assert all(isinstance(p, Progress) for p in recorder.values("progress"))
    for stage in ("load_model", "extract", "train", "evaluate"):
        assert stage in stages, stages
    run = recorder.values("succeeded")[0]
    assert len(run.history) == 4 and not run.cancelled
    assert run.settings.model == "mma-tiny" and run.settings.training.epochs == 4
    # the slots ran on the GUI thread (queued), the work on the job's own thread
    assert worker_threads and all(thread is QThread.currentThread() for thread in worker_threads)


def test_too_small_class_fails_with_the_split_error_text(qtbot, tmp_path, warm):
    scan = scanned_dataset(tmp_path / "data", sizes={"apple": 2, "banana": 8, "cherry": 8, "date": 8})
    job = TrainingJob(request_for(scan, tmp_path, shots=4, val_per_class=2))
    recorder = Recorder(job)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        job.start()
    assert "succeeded" not in recorder.kinds()
    [(title, message, details)] = recorder.values("failed")
    assert title == "The dataset cannot be split for training"
    assert "apple" in message and "SplitError" in details  # apple is a base class (first half)


def test_cancel_while_paused_before_training_ends_the_thread_within_a_second(qtbot, tmp_path, scan, warm):
    job = TrainingJob(request_for(scan, tmp_path, epochs=2))
    recorder = Recorder(job)
    stopped_at = []
    job.thread.finished.connect(lambda: stopped_at.append(time.perf_counter()), type=_direct())
    job.pause()  # the engine blocks at its first check, before any epoch
    job.start()
    qtbot.wait(300)
    assert job.is_running() and job.paused
    clicked = time.perf_counter()
    job.cancel()
    # The job's own (queued) end slot is posted before the direct stamp runs on the worker
    # thread: the GUI thread can see the job stop before `stopped_at` is filled. Wait for both.
    qtbot.waitUntil(lambda: not job.is_running() and bool(stopped_at), timeout=10_000)
    latency = stopped_at[0] - clicked
    print(f"\ncancel while paused -> thread finished: {latency * 1000:.0f} ms")
    assert latency < 1.0
    assert "cancelled" in recorder.kinds() and "succeeded" not in recorder.kinds()


def test_unknown_backbone_tag_reports_a_load_error(qtbot, tmp_path, scan, warm):
    request = TrainRequest(
        scan=scan, model="mma-tiny", pretrained="no-such-weights", values=fast_values(), cache_dir=tmp_path / "c"
    )
    job = TrainingJob(request)
    recorder = Recorder(job)
    with qtbot.waitSignal(job.finished, timeout=60_000):
        job.start()
    [(title, message, _details)] = recorder.values("failed")
    assert title == "The model could not be loaded"
    assert "no-such-weights" in message


def test_build_run_settings_maps_every_panel_value_onto_run_settings(tmp_path, scan):
    values = {
        "shots": 3,
        "val_per_class": 1,
        "seed": 7,
        "augment_views": 2,
        "device": "cpu",
        "training": {
            "epochs": 9,
            "lr": 1e-3,
            "weight_decay": 0.0,
            "batch_size": 32,
            "patience": 4,
            "min_patience_steps": 5,
            "seed": 7,
        },
        "adapter": {
            "bottleneck_dim": 16,
            "heads": 2,
            "blend": 0.35,
            "adapt": "image",
            "mask": "full",
            "projection": "mlp",
        },
    }
    request = TrainRequest(
        scan=scan,
        model="mma-tiny",
        pretrained="random:0",
        base_classes=["colour 00", "colour 01"],
        new_classes=["colour 02"],
        display_names={"colour 00": "red"},
        values=values,
    )
    settings = build_run_settings(request)
    assert (settings.model, settings.pretrained, settings.device) == ("mma-tiny", "random:0", "cpu")
    assert (settings.shots, settings.val_per_class, settings.seed, settings.augment_views) == (3, 1, 7, 2)
    assert settings.base_classes == ["colour 00", "colour 01"] and settings.new_classes == ["colour 02"]
    assert settings.display_names == {"colour 00": "red"}
    t = settings.training
    assert (t.epochs, t.lr, t.weight_decay, t.batch_size, t.patience, t.min_patience_steps, t.seed) == (
        9,
        1e-3,
        0.0,
        32,
        4,
        5,
        7,
    )
    a = settings.adapter
    assert (a.bottleneck_dim, a.heads, a.blend, a.adapt, a.mask, a.projection) == (16, 2, 0.35, "image", "full", "mlp")


def test_build_run_settings_leaves_roles_to_the_engine_when_none_are_set(scan):
    settings = build_run_settings(
        TrainRequest(scan=scan, model="mma-tiny", pretrained="random", values={"adapter": {"bottleneck_dim": None}})
    )
    assert settings.base_classes is None and settings.new_classes is None
    assert settings.adapter.bottleneck_dim is None  # automatic: D / 4 from the backbone


def test_describe_error_names_the_cause_a_user_can_act_on(tmp_path):
    from mma_studio.core.backbone import BackboneLoadError
    from mma_studio.core.images import UnusableImageError
    from mma_studio.core.split import SplitError

    assert describe_error(SplitError("Not enough images for 16 shots"))[1] == "Not enough images for 16 shots"
    assert describe_error(BackboneLoadError("ViT-B-16", "openai", "offline"))[0] == "The model could not be loaded"
    title, message = describe_error(UnusableImageError(tmp_path / "x.jpg", "truncated file"))
    assert title == "An image could not be read" and "x.jpg" in message and "truncated file" in message
    assert describe_error(MemoryError())[0] == "Out of memory"
    title, message = describe_error(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert title == "Out of memory" and "batch size" in message
    assert describe_error(FileNotFoundError(2, "No such file", "a.png"))[0] == "A file could not be read"
    assert describe_error(ConnectionError("download failed"))[0] == "A file or download failed"
    assert describe_error(KeyError("x"))[0] == "Training failed"


def _direct():
    from PySide6.QtCore import Qt

    return Qt.ConnectionType.DirectConnection
