"""Generated embeddings with planted near-duplicates: what the data doctor's fast similar
pairs are tested and benchmarked on (`tests/test_doctor_cell_pairs.py`,
`benchmarks/data_doctor.py --scale`), so both use the same data."""

from __future__ import annotations

import torch


def planted_embeddings(n: int, dimensions: int, *, clustered: float, seed: int) -> torch.Tensor:
    """Unit rows: a share `clustered` of the originals around centres (50 a centre, sibling
    cosine ~0.5), the rest isotropic; 5 % of the rows are near-duplicates of an original at
    cosine ~0.90 to 0.99, shuffled in."""
    generator = torch.Generator().manual_seed(seed)
    copies = n // 20
    originals = n - copies
    centres = torch.nn.functional.normalize(
        torch.randn(max(1, originals // 50), dimensions, generator=generator), dim=1
    )
    rows = torch.randn(originals, dimensions, generator=generator) / dimensions**0.5
    around = torch.rand(originals, generator=generator) < clustered
    rows[around] += centres[torch.randint(len(centres), (int(around.sum()),), generator=generator)]
    rows = torch.nn.functional.normalize(rows, dim=1)
    source = torch.randint(originals, (copies,), generator=generator)
    noise = (0.1 + 0.38 * torch.rand(copies, 1, generator=generator)) * torch.randn(
        copies, dimensions, generator=generator
    )
    near = torch.nn.functional.normalize(rows[source] + noise / dimensions**0.5, dim=1)
    everything = torch.cat([rows, near])
    return everything[torch.randperm(n, generator=generator)]
