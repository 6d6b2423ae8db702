"""Seeded random weights are the seed's alone, whatever other threads build meanwhile: the
feature cache names random backbone weights by their seed, and a run's seed must repeat it."""

from __future__ import annotations

import threading

import torch

from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter
from mma_studio.core.backbone import load_backbone
from mma_studio.core.seeded_init import drawing_unseeded, seeded


def test_seeded_draws_are_the_seeds_alone_while_other_threads_build_modules():
    with seeded(3):
        expected = torch.rand(2000)
    stop = threading.Event()

    def build_modules() -> None:  # as an engine thread does: under the lock
        while not stop.is_set():
            with drawing_unseeded():
                torch.nn.Linear(64, 64)

    threads = [threading.Thread(target=build_modules) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(50):
            with seeded(3):
                drawn = [torch.rand(1) for _ in range(2000)]  # many draws, many chances to interleave
            assert torch.equal(torch.cat(drawn), expected)
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def test_random_backbones_built_in_parallel_with_adapters_have_the_same_weights():
    reference = load_backbone("mma-tiny", "random", device="cpu").model.state_dict()
    results: list[dict] = []
    stop = threading.Event()

    def train_like() -> None:  # the initial weights of runs, in another thread (training.py)
        while not stop.is_set():
            with seeded(0):
                MultiModalAdapter.from_config(AdapterConfig(embed_dim=256))

    def load() -> None:
        for _ in range(3):
            results.append(load_backbone("mma-tiny", "random", device="cpu").model.state_dict())

    helpers = [threading.Thread(target=train_like)]
    loaders = [threading.Thread(target=load) for _ in range(2)]
    for thread in helpers + loaders:
        thread.start()
    for thread in loaders:
        thread.join()
    stop.set()
    for thread in helpers:
        thread.join()
    assert len(results) == 6
    for state in results:
        assert state.keys() == reference.keys()
        assert all(torch.equal(state[name], reference[name]) for name in reference)
