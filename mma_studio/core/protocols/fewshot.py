"""CoCoOp's base-to-new protocol on a dataset read in CoOp's layout, as a `DatasetSplit`.

- Shots: per seed, Dassl's `generate_fewshot_dataset` after `set_random_seed(seed)`: one
  Python `random` stream seeded with the seed; for each label, in the order labels first
  appear in the file, `random.sample(images, k)` (all of them when a class has fewer); then
  the same for the validation split with min(k, 4). Replaying that stream gives the same
  images CoOp draws from the same split file.
- Halves: base = the first ceil(N/2) labels in label order, new = the rest; each half is
  relabelled from 0 (`DatasetSplit.local_labels`).
- Test: the split's whole test set; base test images are scored among base classes only,
  new among new only.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict

from mma_studio.core.protocols.spec import DatasetContents, LabelledImage
from mma_studio.core.split import DatasetSplit, Sample

MAX_VAL_SHOTS = 4


def few_shot(items: list[LabelledImage], shots: int, rng: random.Random) -> list[LabelledImage]:
    """Dassl's `generate_fewshot_dataset(items, num_shots=shots)` (repeat=False) on `rng`."""
    by_label: dict[int, list[LabelledImage]] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)
    chosen: list[LabelledImage] = []
    for members in by_label.values():
        chosen.extend(rng.sample(members, shots) if len(members) >= shots else members)
    return chosen


def base_count(num_classes: int) -> int:
    return math.ceil(num_classes / 2)


def protocol_split(contents: DatasetContents, seed: int, shots: int) -> DatasetSplit:
    """The few-shot base-to-new split of one seed (see the module docstring)."""
    if shots < 1:
        raise ValueError(f"shots must be at least 1, got {shots}")
    rng = random.Random(seed)
    val_shots = min(shots, MAX_VAL_SHOTS)
    train = few_shot(contents.train, shots, rng)
    if contents.val is not None:
        val = few_shot(contents.val, val_shots, rng)
    else:  # ImageNet: validation from the training images the shots left (see imagenet_reader)
        taken = {item.path for item in train}
        val = few_shot([item for item in contents.train if item.path not in taken], val_shots, rng)

    num_classes = len(contents.class_names)
    base = list(range(base_count(num_classes)))
    new = list(range(len(base), num_classes))
    is_base = set(base)

    def samples(items: list[LabelledImage], want_base: bool) -> list[Sample]:
        return [Sample(item.path, item.label) for item in items if (item.label in is_base) == want_base]

    return DatasetSplit(
        classes=list(contents.class_ids),
        display_names=list(contents.class_names),
        base=base,
        new=new,
        train=samples(train, True),
        val=samples(val, True),
        test_base=samples(contents.test, True),
        test_new=samples(contents.test, False),
        seed=seed,
        shots=shots,
        val_per_class=val_shots,
    )
