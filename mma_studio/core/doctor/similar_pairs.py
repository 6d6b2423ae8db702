"""Pairs of rows whose cosine similarity exceeds a threshold, without an N x N matrix.

Two ways, one answer: below `EXACT_BELOW` rows every pair is compared (exact tiles, below);
from there on `cell_pairs` compares each row only with the rows of the coarse k-means cells
it falls near, O(N^1.5 * D) instead of O(N^2 * D) (50,000 x 512: see the README's "Data
doctor" for the measured times and memory). The crossover was measured on 2 shared CPU
cores (x 512): 1,000 rows 0.011 s exact / 0.015 s cells, 2,000 0.036 / 0.033, 3,000 0.061 /
0.052, 5,000 0.137 / 0.087; at 20,000 the cells take about a fifth of the time. Below
`EXACT_BELOW` the exact answer costs nothing worth saving. Tests check both find the same pairs.

The exact features are compared tile by tile (`BLOCK` x `BLOCK` rows, upper triangle only), and
each row keeps only its `max_neighbours` most similar partners, so memory is O(N * k) and
time O(N^2 * D / cores) with small constants: 20,000 x 512 features are 200 million dot
products per tile row, a few seconds on two CPU cores. The neighbour cap matters for weak
backbones, where a whole class can sit above the threshold (see `duplicates.py`).
"""

from __future__ import annotations

import torch

from mma_studio.core.cancellation import CancelToken, check

BLOCK = 2048
MAX_NEIGHBOURS = 16
EXACT_BELOW = 3000  # rows; from here on the cells are faster (measured, module doc)


def similar_pairs(
    features: torch.Tensor,
    threshold: float,
    *,
    block: int = BLOCK,
    max_neighbours: int = MAX_NEIGHBOURS,
    exact: bool | None = None,
    token: CancelToken | None = None,
    on_block=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(first, second, similarity) for pairs i < j with cos >= threshold, each row's best
    `max_neighbours` partners among later rows. `features` must be L2-normalised (n, D).
    `exact`: None chooses by size (`EXACT_BELOW`), True the tiles, False the cells."""
    if exact is None:
        exact = features.shape[0] < EXACT_BELOW
    if not exact:
        from mma_studio.core.doctor.cell_pairs import cell_similar_pairs

        return cell_similar_pairs(features, threshold, max_neighbours=max_neighbours, token=token, on_block=on_block)
    return exact_similar_pairs(
        features, threshold, block=block, max_neighbours=max_neighbours, token=token, on_block=on_block
    )


def exact_similar_pairs(
    features: torch.Tensor,
    threshold: float,
    *,
    block: int = BLOCK,
    max_neighbours: int = MAX_NEIGHBOURS,
    token: CancelToken | None = None,
    on_block=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pair compared, in `block` x `block` tiles (upper triangle)."""
    n = features.shape[0]
    features = features.float()
    firsts, seconds, sims = [], [], []
    blocks = range(0, n, block)
    for number, start in enumerate(blocks):
        check(token)
        rows = features[start : start + block]
        count = rows.shape[0]
        best_values = torch.full((count, 0), -2.0)
        best_index = torch.zeros((count, 0), dtype=torch.long)
        for column_start in range(start, n, block):
            tile = rows @ features[column_start : column_start + block].T
            if column_start == start:  # the diagonal tile: only j > i
                tile = torch.triu(tile, diagonal=1) - torch.tril(torch.full_like(tile, 4.0))
            k = min(max_neighbours, tile.shape[1])
            values, index = tile.topk(k, dim=1)
            best_values = torch.cat([best_values, values], dim=1)
            best_index = torch.cat([best_index, index + column_start], dim=1)
            if best_values.shape[1] > max_neighbours:
                best_values, keep = best_values.topk(max_neighbours, dim=1)
                best_index = best_index.gather(1, keep)
        row, column = (best_values >= threshold).nonzero(as_tuple=True)
        firsts.append(row + start)
        seconds.append(best_index[row, column])
        sims.append(best_values[row, column])
        if on_block is not None:
            on_block(number + 1, len(blocks))
    if not firsts:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty, torch.zeros(0)
    return torch.cat(firsts), torch.cat(seconds), torch.cat(sims)
