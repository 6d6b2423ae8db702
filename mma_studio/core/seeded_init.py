"""Random initial weights that depend on the seed alone, whatever other threads do meanwhile.

torch has one global generator per process. A seeded build (random backbone weights, which
tests and the feature cache name by their seed; an adapter's initial weights, which a run's
seed must reproduce) seeds that generator and draws from it. A thread building another
module at the same moment draws from the middle of that sequence, and the "seeded" weights
come out different while everything downstream takes them to be the same: features cached
under the seed's name that another build of it does not give, a run that does not repeat.
So every construction in the engine that draws from the global generator holds one lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

_GLOBAL_GENERATOR = threading.RLock()  # re-entrant: a seeded build may build models inside


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draw from the global generator as seeded by `seed`, alone; its state is put back after."""
    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def drawing_unseeded() -> Iterator[None]:
    """An unseeded construction (a model built, then given its trained weights): its draws
    wait until no seeded build is under way, instead of landing in the middle of one."""
    with _GLOBAL_GENERATOR:
        yield
