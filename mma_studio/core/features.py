"""Frozen-encoder features: images (batched, cached, cancellable) and class prompts.

The adapter trains on final CLIP embeddings, so each image goes through the image encoder
once per (model, weights, preprocessing, view); afterwards everything reads the cache.
Decoding runs in DataLoader workers so that it overlaps the model; only images missing from
the cache reach the model; an unreadable image is reported, never raised.

Every returned feature is rounded through float16 (the cache's storage type) and
re-normalised, so a cold run and a cached run give bit-identical features, and so identical
training results.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from mma_studio.core.cancellation import CancelToken, check
from mma_studio.core.cpu_threads import torch_threads
from mma_studio.core.decode_workers import start_loader_iterator
from mma_studio.core.events import Progress, ProgressCallback
from mma_studio.core.feature_cache import (
    SHARD_ROWS,
    FeatureCache,
    FeatureCacheError,
    image_key,
)
from mma_studio.core.images import UnusableImageError, load_rgb_image

AUGMENT_SCALE = (0.5, 1.0)  # fraction of the image area kept by a random-resized crop
AUGMENT_RATIO = (3 / 4, 4 / 3)


@dataclass
class ExtractionResult:
    """features[i] belongs to paths[kept[i]]; `failed` lists unusable files with the reason."""

    features: torch.Tensor  # (n_ok, D) float32, L2-normalised
    kept: list[int]
    failed: list[tuple[Path, str]]
    from_cache: int
    encoded: int = 0  # images that went through the model in this call
    seconds: float = 0.0
    cache_error: str | None = None  # set when the cache could not be written (results still valid)
    warnings: list[str] = field(default_factory=list)


def canonical_features(features: torch.Tensor) -> torch.Tensor:
    """Round through float16 and re-normalise: the form every feature takes, cached or not."""
    return F.normalize(features.to(torch.float16).float(), dim=-1)


# --------------------------------------------------------------------------- augmented views


def _seed_for(file_key, view: int) -> int:
    digest = hashlib.blake2b(f"{file_key!r}|view={int(view)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _crop_box(width: int, height: int, rng: random.Random) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop parameter draw, driven by a private `random.Random`."""
    area = width * height
    log_ratio = (math.log(AUGMENT_RATIO[0]), math.log(AUGMENT_RATIO[1]))
    for _ in range(10):
        target = area * rng.uniform(*AUGMENT_SCALE)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, width - w), rng.randint(0, height - h), w, h
    # Fallback: the largest central crop within the allowed aspect ratios.
    in_ratio = width / height
    if in_ratio < AUGMENT_RATIO[0]:
        w, h = width, int(round(width / AUGMENT_RATIO[0]))
    elif in_ratio > AUGMENT_RATIO[1]:
        h, w = height, int(round(height * AUGMENT_RATIO[1]))
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, max(1, w), max(1, h)


class AugmentedView:
    """A deterministic random-resized crop + horizontal flip, then the eval preprocess.

    The crop and flip are drawn from a generator seeded by (file identity, view), so view k
    of a file is the same picture every time and can be cached like view 0.
    """

    def __init__(self, preprocess: Callable, seed: int, size: tuple[int, int], interpolation: str) -> None:
        self.preprocess = preprocess
        self.seed = seed
        self.size = size  # (height, width)
        self.interpolation = interpolation

    def __call__(self, image):
        from PIL import Image

        rng = random.Random(self.seed)
        left, top, w, h = _crop_box(image.width, image.height, rng)
        flip = rng.random() < 0.5
        resample = {
            "bicubic": Image.Resampling.BICUBIC,
            "bilinear": Image.Resampling.BILINEAR,
            "nearest": Image.Resampling.NEAREST,
        }.get(self.interpolation, Image.Resampling.BICUBIC)
        image = image.crop((left, top, left + w, top + h)).resize((self.size[1], self.size[0]), resample=resample)
        if flip:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return self.preprocess(image)


def augmented_view_transform(backbone, view: int, file_key) -> Callable:
    """The PIL -> tensor transform for `view` of one file: view 0 is the eval preprocess;
    view k >= 1 is a reproducible augmentation seeded by (file_key, k)."""
    if view < 0:
        raise ValueError(f"view must be >= 0, got {view}")
    if view == 0:
        return backbone.preprocess
    cfg = getattr(backbone, "preprocess_cfg", {}) or {}
    size = cfg.get("size", 224)
    size = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
    return AugmentedView(backbone.preprocess, _seed_for(file_key, view), size, str(cfg.get("interpolation", "bicubic")))


# --------------------------------------------------------------------------- decoding


class _DecodeDataset(Dataset):
    """Decode + preprocess one file; failures come back as a reason instead of an exception."""

    def __init__(
        self,
        paths: list[str],
        keys: list,
        preprocess: Callable,
        view: int,
        size,
        interpolation: str,
        decode_min_side: int,
    ):
        self.paths = paths
        self.keys = keys
        self.preprocess = preprocess
        self.view = view
        self.size = size
        self.interpolation = interpolation
        self.decode_min_side = decode_min_side  # `Backbone.load_image`'s (the backbone stays in the parent)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        path = self.paths[index]
        try:
            image = load_rgb_image(path, min_side=self.decode_min_side)
            if self.view == 0:
                transform = self.preprocess
            else:
                file_key = self.keys[index] if self.keys[index] is not None else path
                transform = AugmentedView(
                    self.preprocess, _seed_for(file_key, self.view), self.size, self.interpolation
                )
            return index, transform(image), None
        except UnusableImageError as exc:
            return index, None, exc.reason
        except Exception as exc:  # a transform choking on an odd image must not stop the run
            return index, None, f"cannot preprocess image ({type(exc).__name__}: {exc})"


def _collate(items):
    ok = [(index, pixels) for index, pixels, _ in items if pixels is not None]
    bad = [(index, reason) for index, pixels, reason in items if pixels is None]
    pixels = torch.stack([p for _, p in ok]) if ok else None
    return [index for index, _ in ok], pixels, bad


def default_batch_size(device: torch.device) -> int:
    from mma_studio.core.run_defaults import EXTRACTION_BATCH_SIZE  # also `extract --help`'s

    return EXTRACTION_BATCH_SIZE["gpu" if device.type in ("cuda", "mps") else "cpu"]


def default_num_workers(n_images: int, batch_size: int) -> int:
    """min(4, cores - 1) decode workers; none for small jobs, where starting workers costs more."""
    if n_images <= 2 * batch_size:
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


@contextlib.contextmanager
def _leave_cores_for_decoding(device: torch.device, workers: int):
    """On the CPU, run the model on the cores the decode workers leave free.

    Otherwise torch's intra-op threads and the workers oversubscribe the CPU; on 2 cores
    (2 torch threads + 1 worker) that measured 3-5x slower than 1 thread + 1 worker.
    """
    if device.type != "cpu" or workers == 0:
        yield
        return
    with torch_threads((os.cpu_count() or 1) - workers):
        yield


# --------------------------------------------------------------------------- extraction


def extract_image_features(
    backbone,
    paths: Sequence[Path | str],
    *,
    cache: FeatureCache | None = None,
    view: int = 0,
    batch_size: int | None = None,
    num_workers: int | None = None,
    on_progress: ProgressCallback | None = None,
    token: CancelToken | None = None,
) -> ExtractionResult:
    """Features for every usable image in `paths` (cached rows reused, the rest encoded).

    Raises `Cancelled` between batches when `token` is cancelled; rows encoded before that
    are already in the cache, so the next run resumes where this one stopped.
    """
    started = time.monotonic()
    paths = [Path(p) for p in paths]
    total = len(paths)
    keys = [image_key(p) for p in paths]
    result_warnings: list[str] = []
    cache_error: str | None = None

    namespace: Path | None = None
    rows: dict[int, torch.Tensor] = {}
    if cache is not None:
        namespace = cache.image_namespace(backbone, view)
        try:
            rows.update(cache.lookup(namespace, keys, width=getattr(backbone, "embed_dim", None)))
        except OSError as exc:
            result_warnings.append(f"feature cache unreadable, encoding everything ({exc})")
    from_cache = len(rows)
    todo = [i for i in range(total) if i not in rows]
    failures: dict[int, str] = {}

    if on_progress is not None:
        message = f"{from_cache} of {total} images cached" if from_cache else f"Encoding {total} images"
        on_progress(Progress("extract", from_cache, total, None, None, message))

    batch_size = batch_size or default_batch_size(backbone.device)
    workers = default_num_workers(len(todo), batch_size) if num_workers is None else max(0, num_workers)
    pending_keys: list = []
    pending_rows: list[torch.Tensor] = []

    def flush() -> None:
        nonlocal cache_error
        if cache is None or namespace is None or not pending_rows:
            pending_keys.clear()
            pending_rows.clear()
            return
        try:
            cache.store(namespace, list(pending_keys), torch.stack(pending_rows))
        except (FeatureCacheError, OSError) as exc:
            if cache_error is None:
                cache_error = str(exc)
                warnings.warn(f"Features computed but not cached: {exc}", RuntimeWarning, stacklevel=3)
        pending_keys.clear()
        pending_rows.clear()

    encoded = 0
    if todo:
        cfg = getattr(backbone, "preprocess_cfg", {}) or {}
        size = cfg.get("size", 224)
        size = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))
        dataset = _DecodeDataset(
            [str(paths[i]) for i in todo],
            [keys[i] for i in todo],
            backbone.preprocess,
            view,
            size,
            str(cfg.get("interpolation", "bicubic")),
            backbone.decode_min_side,
        )
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=False,
            num_workers=workers,
            collate_fn=_collate,
            pin_memory=backbone.device.type == "cuda",
            prefetch_factor=2 if workers else None,
        )
        encode_started = time.monotonic()
        processed = 0
        iterator = None
        try:
            check(token)
            with _leave_cores_for_decoding(backbone.device, workers):
                iterator = start_loader_iterator(loader)
                for local_indices, pixels, bad in iterator:
                    for local, reason in bad:
                        failures[todo[local]] = reason
                    if pixels is not None:
                        features = backbone.encode_images(pixels).to(torch.float16)
                        for local, row in zip(local_indices, features):
                            index = todo[local]
                            rows[index] = row
                            if keys[index] is not None:
                                pending_keys.append(keys[index])
                                pending_rows.append(row)
                        encoded += len(local_indices)
                    processed += len(local_indices) + len(bad)
                    if len(pending_rows) >= SHARD_ROWS:
                        flush()
                    if on_progress is not None:
                        elapsed = max(time.monotonic() - encode_started, 1e-9)
                        rate = processed / elapsed
                        eta = (len(todo) - processed) / rate if rate > 0 else None
                        on_progress(
                            Progress(
                                "extract",
                                from_cache + processed,
                                total,
                                rate,
                                eta,
                                f"{from_cache + processed}/{total} images · {rate:.0f} images/s",
                            )
                        )
                    check(token)
        finally:
            shutdown = getattr(iterator, "_shutdown_workers", None)
            if shutdown is not None:
                shutdown()
            flush()  # keep what was computed, even when cancelled

    kept = sorted(rows)
    embed_dim = getattr(backbone, "embed_dim", 0)
    features = canonical_features(torch.stack([rows[i].float() for i in kept])) if kept else torch.zeros(0, embed_dim)
    return ExtractionResult(
        features=features,
        kept=kept,
        failed=[(Path(paths[i]), failures[i]) for i in sorted(failures)],
        from_cache=from_cache,
        encoded=encoded,
        seconds=time.monotonic() - started,
        cache_error=cache_error,
        warnings=result_warnings,
    )


# --------------------------------------------------------------------------- class prompts


def encode_class_texts(
    backbone,
    class_names: Sequence[str],
    templates: Sequence[str] = ("a photo of a {}.",),
    *,
    cache: FeatureCache | None = None,
) -> torch.Tensor:
    """(N, D) class embeddings: per class, the mean of its normalised prompt embeddings, renormalised."""
    templates = list(templates)
    if not templates:
        raise ValueError("at least one prompt template is needed")
    for template in templates:
        if "{}" not in template:
            raise ValueError(f"prompt template {template!r} has no '{{}}' where the class name goes")
    class_names = list(class_names)
    if not class_names:
        return torch.zeros(0, backbone.embed_dim)
    prompts = [template.replace("{}", name) for name in class_names for template in templates]
    unique = list(dict.fromkeys(prompts))
    found: dict[int, torch.Tensor] = {}
    if cache is not None:
        try:
            found.update(cache.get_texts(backbone, unique))
        except OSError:
            pass
    missing = [i for i in range(len(unique)) if i not in found]
    if missing:
        encoded = backbone.encode_texts([unique[i] for i in missing]).to(torch.float16)
        for i, row in zip(missing, encoded):
            found[i] = row
        if cache is not None:
            try:
                cache.put_texts(backbone, [unique[i] for i in missing], encoded)
            except (FeatureCacheError, OSError) as exc:
                warnings.warn(f"Prompt features computed but not cached: {exc}", RuntimeWarning, stacklevel=2)
    position = {prompt: i for i, prompt in enumerate(unique)}
    per_prompt = canonical_features(torch.stack([found[position[p]] for p in prompts]))
    per_class = per_prompt.view(len(class_names), len(templates), -1).mean(dim=1)
    return F.normalize(per_class, dim=-1)
