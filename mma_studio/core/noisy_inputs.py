"""Gaussian noise on the input images, for the robustness study (MMA paper, Figure 4).

The noise is added to the *normalised* pixels after the backbone's own preprocessing
(std 0.3 by default), drawn from a generator seeded by the pixels themselves, so an image
always gets the same noise and its noisy features can be cached like clean ones. The noisy
backbone is the same model with another `preprocess_id`, which is part of the feature
cache's key: noisy features live in their own cache namespace and never mix with clean ones.
"""

from __future__ import annotations

import dataclasses
import hashlib

import torch

DEFAULT_NOISE_STD = 0.3


class AddGaussianNoise:
    """`preprocess` followed by N(0, std²) on the normalised pixel tensor (picklable for loader workers)."""

    def __init__(self, preprocess, std: float) -> None:
        self.preprocess = preprocess
        self.std = float(std)

    def __call__(self, image) -> torch.Tensor:
        pixels = self.preprocess(image)
        digest = hashlib.blake2b(pixels.numpy().tobytes(), digest_size=8).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))
        return pixels + self.std * torch.randn(pixels.shape, generator=generator, dtype=pixels.dtype)


def noisy_backbone(backbone, std: float = DEFAULT_NOISE_STD):
    """The same frozen model whose preprocessing adds Gaussian noise (a distinct cache key)."""
    if std <= 0:
        raise ValueError(f"noise std must be positive, not {std}")
    return dataclasses.replace(
        backbone,
        preprocess=AddGaussianNoise(backbone.preprocess, std),
        preprocess_id=f"{backbone.preprocess_id}+gaussian-noise-{std:g}",
    )
