"""Held-out class probabilities for every image from the product's own adapter training.

Confident learning needs probabilities the model did not fit on the image itself. Folding
the cached features k ways (stratified by class, seeded) and training the same
`fit_features` on k-1 folds gives each image a prediction from an adapter that never saw it.
Every class is a training class here (the question is "does this image look like its
folder?", not base-to-new generalisation). On cached features this is small and fast: the
example dataset (1,200 images, 30 classes) takes about a second per fold on two CPU cores.
"""

from __future__ import annotations

import dataclasses

import torch

from mma_studio.core.cancellation import CancelToken, check

FOLDS = 4
EPOCHS = 10  # measured on the example: 78 % out-of-fold accuracy at 10 epochs, 79.5 % at 40, half the time


def stratified_folds(labels: torch.Tensor, folds: int, seed: int) -> torch.Tensor:
    """(n,) fold number of each image: each class spread evenly over the folds, seeded."""
    generator = torch.Generator().manual_seed(seed)
    fold = torch.empty(labels.shape[0], dtype=torch.long)
    for label in labels.unique().tolist():
        members = (labels == label).nonzero(as_tuple=True)[0]
        order = members[torch.randperm(members.numel(), generator=generator)]
        fold[order] = torch.arange(order.numel()) % folds
    return fold


def can_fold(labels: torch.Tensor, folds: int = FOLDS) -> bool:
    """Whether every fold's training part still holds two classes with images (and every
    image is held out once): classes of at least `folds` images, two classes or more."""
    counts = torch.bincount(labels)
    present = counts[counts > 0]
    return present.numel() >= 2 and int(present.min()) >= folds


def out_of_fold_probabilities(
    features: torch.Tensor,
    labels: torch.Tensor,
    text_features: torch.Tensor,
    logit_scale: float,
    *,
    folds: int = FOLDS,
    epochs: int = EPOCHS,
    seed: int = 42,
    adapter_config=None,
    token: CancelToken | None = None,
    on_fold=None,
) -> torch.Tensor:
    """(n, K) softmax probabilities; row i from the adapter trained without image i's fold."""
    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.training import TrainConfig, fit_features

    labels = labels.long()
    fold_of = stratified_folds(labels, folds, seed)
    config = TrainConfig(epochs=epochs, patience=0, seed=seed)
    base_config = adapter_config or AdapterConfig()
    base_config = dataclasses.replace(base_config, embed_dim=features.shape[1], logit_scale=logit_scale)
    probabilities = torch.zeros(features.shape[0], text_features.shape[0])
    for fold in range(folds):
        check(token)
        held_out = fold_of == fold
        if not held_out.any():
            continue
        result = fit_features(
            features[~held_out],
            labels[~held_out],
            text_features,
            config=config,
            adapter_config=base_config,
            token=token,
        )
        if result.cancelled:
            from mma_studio.core.cancellation import Cancelled

            raise Cancelled()
        with torch.no_grad():
            logits = result.adapter(features[held_out].float(), text_features.float())
        probabilities[held_out] = torch.softmax(logits.float(), dim=1)
        if on_fold is not None:
            on_fold(fold + 1, folds)
    return probabilities
