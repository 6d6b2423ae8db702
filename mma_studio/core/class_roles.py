"""Which classes are base (trained on) and which are new (only tested): the CoCoOp convention
of DESIGN.md section 2, or a seeded shuffle of it.

Below both the scan (`dataset.dataset_advice` names the base classes that are short of images)
and the split (`split.make_split` samples from them), so neither imports the other to get it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

MIN_BASE_CLASSES = 2  # one class gives a constant softmax: zero loss, nothing to learn


def _base_count(n: int, base_ratio: float) -> int:
    """`ceil(n * base_ratio)`, but never fewer than the 2 base classes training needs: a
    two-class dataset (cats vs dogs) trains on both and simply has no new classes, rather
    than being split 1 + 1 and refused."""
    if not 0.0 < base_ratio <= 1.0:
        raise ValueError(f"base_ratio must be in (0, 1], got {base_ratio}")
    if n == 0:
        return 0
    # The small tolerance keeps e.g. 10 * 0.7 = 7.000000000000001 at 7.
    return min(n, max(MIN_BASE_CLASSES, math.ceil(n * base_ratio - 1e-9)))


def default_roles(class_names: Sequence[str], base_ratio: float = 0.5) -> tuple[list[str], list[str]]:
    """CoCoOp convention: sort by name, the first `ceil(N * base_ratio)` (at least 2) are base, the rest new."""
    names = sorted(class_names)
    if len(set(names)) != len(names):
        raise ValueError("class names must be unique")
    k = _base_count(len(names), base_ratio)
    return names[:k], names[k:]


def shuffled_roles(class_names: Sequence[str], seed: int, base_ratio: float = 0.5) -> tuple[list[str], list[str]]:
    """A seeded random base/new partition of the same sizes as `default_roles`; each list sorted."""
    names = sorted(class_names)
    if len(set(names)) != len(names):
        raise ValueError("class names must be unique")
    k = _base_count(len(names), base_ratio)
    random.Random(f"roles/{seed}").shuffle(names)
    return sorted(names[:k]), sorted(names[k:])
