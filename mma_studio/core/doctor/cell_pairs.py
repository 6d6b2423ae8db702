"""Similar pairs in near-linear time: compare each image only with the images of the few
coarse cells it falls near (an inverted-file index, as in FAISS's IVF), not with every image.

How: spherical k-means on the unit embeddings puts C ~ sqrt(4 N) centroids where the data is
(fitted on a seeded sample of ~32 images a cell, 6 rounds). Each image lives in its `HOMES`
(2) nearest cells and visits its `PROBES` (3) nearest cells, plus any other of its 12 nearest
whose centroid is within `probe_margin` of its best; exact cosines are computed only between
the visitors and the residents of a cell, as matrix products (BLAS). Cost: N * C * D to
assign, ~N * (probes * homes * N / C) * D to compare, i.e. O(N^1.5 * D) against the exact
tiles' O(N^2 * D); memory O(N * probes) plus one cell's tile.

Why this and not random-hyperplane LSH: a pair at the doctor's threshold (cosine 0.90, 26
degrees apart) survives one 10-bit hash with probability 0.21, so LSH needs ~20 tables for
99 % recall, and its buckets are gathered row by row (no BLAS). Cells follow the data's own
clusters, where near-duplicates are; the homes, probes and margin catch pairs that straddle a
border. Why the margin: for unit x, y at cosine >= t and a unit centroid c, the two cosines
to c differ by (x - y) . c, where |x - y| <= sqrt(2 (1 - t)) and, spread over D dimensions,
its share along c is typically sqrt(2 (1 - t) / D) (0.02 at t = 0.9, D = 512); three times
that covers the centroid ranking's noise. It matters on featureless (isotropic random) data,
where every centroid is about as far as the next: there rows visit more cells, on clustered
data one to three. Recall is measured, not proven: on generated embeddings (random and
clustered, planted near-duplicates at cosine 0.9 to 0.99, 5,000 to 50,000 x 512) the cells
found every pair the exact tiles found (tests; `benchmarks/data_doctor.py --scale`).

The per-image cap of `similar_pairs` (each image's best `max_neighbours` partners) is kept:
it is applied within each visited cell and again after merging, so whenever an image has
fewer partners than the cap (every case but a weak backbone's saturated class) the result is
the exact one.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.cpu_threads import adapter_training_threads, torch_threads

PROBES = 3  # cells each image always visits
HOMES = 2  # cells each image lives in
MAX_PROBES = 12  # the most cells one image visits (the margin's extra cells)
KMEANS_ITERATIONS = 6
KMEANS_SAMPLE_PER_CELL = 32  # k-means is fitted on a sample: centroids need ~tens of points each
ROW_CHUNK = 4096  # rows of the image x centroid similarities computed at once
TILE_ROWS = 2048


def cell_count(n: int) -> int:
    """~sqrt(4 N) cells: assigning costs N * C * D, comparing ~N^2 * PROBES * HOMES / C * D;
    their sum is smallest near C = sqrt(6 N), and fewer cells fit a sample faster."""
    return max(1, min(n, round(math.sqrt(4 * n))))


def probe_margin(threshold: float, dimensions: int) -> float:
    """How much worse than its best a centroid may be and still be visited (module doc)."""
    return 3.0 * math.sqrt(2.0 * max(0.0, 1.0 - threshold) / max(1, dimensions))


def spherical_kmeans(
    features: torch.Tensor,
    cells: int,
    *,
    iterations: int = KMEANS_ITERATIONS,
    seed: int = 0,
    token: CancelToken | None = None,
) -> torch.Tensor:
    """(cells, D) unit centroids fitted on a seeded sample of the unit rows of `features`."""
    generator = torch.Generator().manual_seed(seed)
    n = features.shape[0]
    sample_size = min(n, cells * KMEANS_SAMPLE_PER_CELL)
    sample = features[torch.randperm(n, generator=generator)[:sample_size]]
    centroids = sample[torch.randperm(sample_size, generator=generator)[:cells]].clone()
    for _ in range(iterations):
        check(token)
        nearest = (sample @ centroids.T).argmax(dim=1)
        sums = torch.zeros_like(centroids).index_add_(0, nearest, sample)
        counts = torch.bincount(nearest, minlength=cells)
        empty = counts == 0
        if empty.any():  # reseed an empty cell on a random point rather than lose it
            sums[empty] = sample[torch.randint(sample_size, (int(empty.sum()),), generator=generator)]
        centroids = torch.nn.functional.normalize(sums, dim=1)
    return centroids


def nearest_cells(
    features: torch.Tensor, centroids: torch.Tensor, probes: int, token: CancelToken | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, probes) indices and cosines of each row's closest centroids, closest first."""
    probes = min(probes, centroids.shape[0])
    indices, scores = [], []
    for start in range(0, features.shape[0], ROW_CHUNK):
        check(token)
        best = (features[start : start + ROW_CHUNK] @ centroids.T).topk(probes, dim=1)
        indices.append(best.indices)
        scores.append(best.values)
    if not indices:
        return torch.zeros((0, probes), dtype=torch.long), torch.zeros((0, probes))
    return torch.cat(indices), torch.cat(scores)


def _groups(keys: torch.Tensor, count: int) -> list[torch.Tensor]:
    """For each value 0..count-1, the positions of `keys` that hold it."""
    order = torch.argsort(keys, stable=True)
    sizes = torch.bincount(keys, minlength=count).tolist()
    return list(torch.split(order, sizes))


def cell_similar_pairs(
    features: torch.Tensor,
    threshold: float,
    *,
    max_neighbours: int,
    probes: int = PROBES,
    homes: int = HOMES,
    max_probes: int = MAX_PROBES,
    margin: float | None = None,
    cells: int | None = None,
    seed: int = 0,
    token: CancelToken | None = None,
    on_block=None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(first, second, similarity) for pairs first < second with cos >= threshold, each
    row's best `max_neighbours` partners, found within visited cells. Unit rows (n, D).

    On half the cores (`cpu_threads`): the per-cell products are small, and on 2 busy cores
    they measured 2-8x slower on 2 threads than on 1 (spinning intra-op threads)."""
    with torch_threads(adapter_training_threads()):
        return _cell_similar_pairs(
            features,
            threshold,
            max_neighbours=max_neighbours,
            probes=probes,
            homes=homes,
            max_probes=max_probes,
            margin=margin,
            cells=cells,
            seed=seed,
            token=token,
            on_block=on_block,
        )


def _cell_similar_pairs(
    features, threshold, *, max_neighbours, probes, homes, max_probes, margin, cells, seed, token, on_block
):
    n = features.shape[0]
    features = features.float().contiguous()
    cells = cells or cell_count(n)
    homes = min(homes, cells)
    margin = probe_margin(threshold, features.shape[1]) if margin is None else margin
    centroids = spherical_kmeans(features, cells, seed=seed, token=token)
    probe, score = nearest_cells(features, centroids, max(probes, max_probes), token=token)
    residents = _groups(probe[:, :homes].reshape(-1), cells)
    rank = torch.arange(probe.shape[1])
    wanted = (rank < probes) | (score >= score[:, :1] - margin)
    visitor_rows = torch.arange(n)[:, None].expand_as(probe)[wanted]
    visitor_cells = probe[wanted]
    visitors = _groups(visitor_cells, cells)

    slot = torch.full((n,), -1, dtype=torch.long)  # a row's place in the current tile, else -1
    firsts, seconds, sims = [], [], []
    for number, (members, flat) in enumerate(zip(residents, visitors)):
        check(token)
        if len(members) and len(flat):
            members = members // homes
            queries = visitor_rows[flat]
            column = features[members]
            for start in range(0, len(queries), TILE_ROWS):
                rows = queries[start : start + TILE_ROWS]
                tile = features[rows] @ column.T
                slot[rows] = torch.arange(len(rows))
                own = slot[members]  # where a member is also a row: an image is not its own pair
                is_row = own >= 0
                tile[own[is_row], is_row.nonzero(as_tuple=True)[0]] = -4.0
                slot[rows] = -1
                hit_rows = (tile.amax(dim=1) >= threshold).nonzero(as_tuple=True)[0]
                row, col = (tile[hit_rows] >= threshold).nonzero(as_tuple=True)
                if not len(row) or int(torch.bincount(row).max()) <= max_neighbours:  # the usual case
                    row = hit_rows[row]
                    firsts.append(rows[row])
                    seconds.append(members[col])
                    sims.append(tile[row, col])
                    continue
                later = rows[:, None] < members[None, :]
                k = min(max_neighbours, tile.shape[1])
                # each row's best later partners (what the cap is about), and its best earlier
                # ones: a pair seen only from its later row's side is still found
                for side in (later, ~later & (rows[:, None] != members[None, :])):
                    values, index = tile.masked_fill(~side, -4.0).topk(k, dim=1)
                    row, col = (values >= threshold).nonzero(as_tuple=True)
                    firsts.append(rows[row])
                    seconds.append(members[index[row, col]])
                    sims.append(values[row, col])
        if on_block is not None and (number + 1) % 64 == 0:
            on_block(number + 1, cells)
    if on_block is not None:
        on_block(cells, cells)
    if not firsts:
        empty = torch.zeros(0, dtype=torch.long)
        return empty, empty, torch.zeros(0)
    return _capped_unique_pairs(torch.cat(firsts), torch.cat(seconds), torch.cat(sims), n, max_neighbours)


def _capped_unique_pairs(a: torch.Tensor, b: torch.Tensor, sim: torch.Tensor, n: int, cap: int):
    """Each pair once as (low, high), then each low row's best `cap` partners, surest first."""
    low = torch.minimum(a, b).numpy()
    high = torch.maximum(a, b).numpy()
    values = sim.numpy()
    _, first_seen = np.unique(low.astype(np.int64) * n + high, return_index=True)
    low, high, values = low[first_seen], high[first_seen], values[first_seen]
    order = np.lexsort((-values, low))  # by row, then best first
    low, high, values = low[order], high[order], values[order]
    starts = np.searchsorted(low, low, side="left")
    keep = (np.arange(len(low)) - starts) < cap
    return torch.from_numpy(low[keep]), torch.from_numpy(high[keep]), torch.from_numpy(values[keep])
