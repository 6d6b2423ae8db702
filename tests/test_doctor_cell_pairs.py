"""The data doctor's near-linear pairs (k-means cells) find what the exact tiles find."""

from __future__ import annotations

import pytest
import torch

from mma_studio.core.doctor.cell_pairs import cell_similar_pairs
from mma_studio.core.doctor.similar_pairs import similar_pairs
from mma_studio.toy.planted_embeddings import planted_embeddings


def as_dict(first, second, sims) -> dict[tuple[int, int], float]:
    return dict(zip(zip(first.tolist(), second.tolist()), sims.tolist()))


@pytest.mark.parametrize("clustered", [0.5, 0.0])  # 0.0: isotropic, where cells help least
def test_cells_find_every_pair_the_exact_tiles_find(clustered):
    features = planted_embeddings(6000, 512, clustered=clustered, seed=1)
    exact = as_dict(*similar_pairs(features, 0.9, exact=True))
    fast = as_dict(*similar_pairs(features, 0.9, exact=False))
    assert len(exact) > 250  # the planted near-duplicates (300) above the threshold
    assert fast.keys() == exact.keys()
    assert all(abs(fast[pair] - exact[pair]) < 1e-4 for pair in exact)


def test_cells_keep_each_rows_cap_in_a_saturated_cluster():
    generator = torch.Generator().manual_seed(0)
    spread = torch.nn.functional.normalize(torch.randn(400, 64, generator=generator), dim=1)
    tight = torch.nn.functional.normalize(torch.ones(64) + 0.02 * torch.randn(100, 64, generator=generator), dim=1)
    features = torch.cat([spread, tight])  # 100 rows all above 0.9 with each other
    first, second, sims = cell_similar_pairs(features, 0.9, max_neighbours=5, cells=20)
    assert (first < second).all() and (sims >= 0.9).all()
    assert torch.bincount(first).max() <= 5
    exact = as_dict(*similar_pairs(features, 0.9, max_neighbours=5, exact=True))
    fast = as_dict(first, second, sims)
    assert all(pair[0] >= 400 and pair[1] >= 400 for pair in fast)
    exact_rows = torch.bincount(torch.tensor([i for i, _ in exact]), minlength=500)
    assert torch.equal(torch.bincount(first, minlength=500), exact_rows)  # 5 each, fewer at the end


def test_cells_are_deterministic_and_the_size_chooses_the_path(monkeypatch):
    import mma_studio.core.doctor.similar_pairs as module

    features = planted_embeddings(1200, 64, clustered=0.5, seed=3)
    once = as_dict(*cell_similar_pairs(features, 0.9, max_neighbours=16))
    assert once == as_dict(*cell_similar_pairs(features, 0.9, max_neighbours=16))
    calls = []
    monkeypatch.setattr(
        "mma_studio.core.doctor.cell_pairs.cell_similar_pairs",
        lambda *args, **kwargs: calls.append(len(args[0])) or once,
    )
    monkeypatch.setattr(module, "EXACT_BELOW", 1000)
    similar_pairs(features, 0.9)
    monkeypatch.setattr(module, "EXACT_BELOW", 3000)
    similar_pairs(features, 0.9)
    assert calls == [1200]
