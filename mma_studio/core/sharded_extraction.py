"""Image-feature extraction split across the processes of an existing launcher (torchrun).

Extraction is the one cost that grows with the data, and it is embarrassingly parallel:
under `torchrun --nproc-per-node G -m mma_studio extract ...` (or across machines with
torchrun's rendezvous) each rank takes a disjoint, deterministic shard of the files,
`sorted(files)[rank::world_size]`, encodes it on its own device (`cuda:LOCAL_RANK`, or the
CPU) and writes into the one shared feature cache; training later reads that cache on one
machine. Without torchrun's variables the same call is a plain single-process extraction.

Why concurrent writers are safe: every rank only *adds* shard files (unique names, each
written to a temporary file and renamed into place), and no rank merges or deletes shards
while others write (`FeatureCache(merge_shards=False)`); the cache root and its marker are
created by rank 0 before the others open it. After all ranks have finished (a collective
gather), rank 0 merges the small shards once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mma_studio.core.cancellation import CancelToken
from mma_studio.core.events import ProgressCallback


@dataclass(frozen=True)
class RankInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RankInfo:
        """The rank as torchrun (or any launcher setting RANK / WORLD_SIZE / LOCAL_RANK) gives it."""
        env = os.environ if env is None else env
        try:
            world = int(env.get("WORLD_SIZE", "1"))
            rank = int(env.get("RANK", "0"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError as exc:
            raise ValueError(f"RANK / WORLD_SIZE / LOCAL_RANK are not integers ({exc})") from None
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"RANK={rank} is not within WORLD_SIZE={world}")
        return cls(rank, world, local)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def shard_of(paths: Sequence[Path | str], rank: int, world_size: int) -> list[Path]:
    """This rank's files: every `world_size`-th of the sorted, de-duplicated list from `rank`.
    The shards are disjoint, cover every file, and do not depend on the order given."""
    ordered = sorted({str(Path(p)) for p in paths})
    return [Path(p) for p in ordered[rank::world_size]]


def rank_device(info: RankInfo, requested: str = "auto") -> str:
    """`cuda:LOCAL_RANK` when CUDA is asked for (or `auto` finds it), else what was asked."""
    import torch

    if not info.distributed:
        return requested  # one process: the usual device choice (`auto` may pick MPS)
    if requested in ("auto", "cuda", "gpu") and torch.cuda.is_available():
        return f"cuda:{info.local_rank % max(1, torch.cuda.device_count())}"
    if requested == "auto":
        return "cpu"  # one process per rank on the CPU (torchrun gives each one thread)
    return requested


@dataclass
class RankSummary:
    rank: int
    device: str
    files: int
    encoded: int
    from_cache: int
    failed: list[tuple[str, str]]
    seconds: float


@dataclass
class ShardedExtraction:
    """What all ranks did (every rank gets the whole picture)."""

    world_size: int
    total: int
    ranks: list[RankSummary]
    cache_root: Path
    backend: str | None = None  # the torch.distributed backend, None for one process
    warnings: list[str] = field(default_factory=list)

    @property
    def encoded(self) -> int:
        return sum(r.encoded for r in self.ranks)

    @property
    def from_cache(self) -> int:
        return sum(r.from_cache for r in self.ranks)

    @property
    def failed(self) -> list[tuple[str, str]]:
        return [f for r in self.ranks for f in r.failed]

    def to_dict(self) -> dict:
        return {
            "world_size": self.world_size,
            "total": self.total,
            "encoded": self.encoded,
            "from_cache": self.from_cache,
            "cache_root": str(self.cache_root),
            "backend": self.backend,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "ranks": [
                {
                    "rank": r.rank,
                    "device": r.device,
                    "files": r.files,
                    "encoded": r.encoded,
                    "from_cache": r.from_cache,
                    "failed": len(r.failed),
                    "seconds": round(r.seconds, 3),
                }
                for r in self.ranks
            ],
            "warnings": list(self.warnings),
        }


def extract_sharded(
    paths: Sequence[Path | str],
    *,
    model: str,
    pretrained: str,
    device: str = "auto",
    cache_root: Path | str | None = None,
    batch_size: int | None = None,
    info: RankInfo | None = None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> ShardedExtraction:
    """Extract this rank's shard of `paths` into the shared cache (see the module docstring).

    Initialises torch.distributed (nccl on CUDA, gloo on the CPU) when launched with several
    ranks and it is not initialised yet, and shuts it down again afterwards."""
    import torch
    import torch.distributed as dist

    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.feature_cache import FeatureCache
    from mma_studio.core.features import extract_image_features

    info = info or RankInfo.from_env()
    chosen_device = rank_device(info, device)
    backend = None
    started_here = False
    if info.distributed:
        backend = "nccl" if chosen_device.startswith("cuda") else "gloo"
        if not dist.is_initialized():
            if backend == "nccl":
                torch.cuda.set_device(torch.device(chosen_device))
            dist.init_process_group(backend=backend)
            started_here = True
    try:
        # Rank 0 decides where the cache is and marks it; the others open what it decided.
        root_box: list[str] = [""]
        if info.rank == 0:
            first = FeatureCache(cache_root)
            first.prepare()
            root_box[0] = str(first.root)
        if info.distributed:
            dist.broadcast_object_list(root_box, src=0)
        shared_root = Path(root_box[0])
        cache = FeatureCache(shared_root, merge_shards=not info.distributed)

        backbone = load_backbone(model, pretrained, device=chosen_device, on_progress=on_progress, token=token)
        mine = shard_of(paths, info.rank, info.world_size)
        started = time.monotonic()
        result = extract_image_features(
            backbone, mine, cache=cache, batch_size=batch_size, on_progress=on_progress, token=token
        )
        summary = RankSummary(
            info.rank,
            chosen_device,
            len(mine),
            result.encoded,
            result.from_cache,
            [(str(p), r) for p, r in result.failed],
            time.monotonic() - started,
        )
        problems = [*result.warnings, *([result.cache_error] if result.cache_error else [])]

        gathered: list = [None] * info.world_size
        if info.distributed:
            dist.all_gather_object(gathered, (summary, problems))  # also: every rank has finished writing
        else:
            gathered = [(summary, problems)]
        if info.rank == 0:
            cache.compact(cache.image_namespace(backbone), backbone.embed_dim)
        if info.distributed:
            dist.barrier()
        total = len({str(Path(p)) for p in paths})
        return ShardedExtraction(
            world_size=info.world_size,
            total=total,
            ranks=[s for s, _ in gathered],
            cache_root=shared_root,
            backend=backend,
            warnings=[w for _, found in gathered for w in found],
        )
    finally:
        if started_here and dist.is_initialized():
            dist.destroy_process_group()
