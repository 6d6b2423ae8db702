"""One small, real `TrainingRun` for the Evaluate page and export tests.

`mma-tiny` with random weights on a generated colour dataset, a few epochs: a couple of seconds
on one thread. The figures are near chance (random weights), which is fine: the tests compare
what the page shows with what the run holds, not with fixed numbers.
"""

from __future__ import annotations

from pathlib import Path

from tests.image_factory import make_class_dataset
from tests.training_helpers import limit_torch_threads

CLASSES = ["amber", "blue", "coral", "denim", "ebony", "fern"]


def train_small_run(root: Path, *, classes=CLASSES, per_class: int = 8, epochs: int = 4, **changes):
    """Write the dataset under `root/data`, train (cache in `root/cache`), and return (scan, run).
    `changes` replace fields of the RunSettings (roles, display names, val_per_class...)."""
    import dataclasses

    from mma_studio.core.dataset import scan_dataset
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.pipeline import RunSettings, train_adapter
    from mma_studio.core.training import TrainConfig

    limit_torch_threads()
    make_class_dataset(root / "data", list(classes), per_class=per_class)
    scan = scan_dataset(root / "data")
    settings = RunSettings(
        model="mma-tiny",
        pretrained="random:0",
        device="cpu",
        shots=2,
        val_per_class=2,
        training=TrainConfig(epochs=epochs, patience=0),
    )
    settings = dataclasses.replace(settings, **changes)
    run = train_adapter(scan, settings, cache=FeatureCache(root / "cache"))
    return scan, run
