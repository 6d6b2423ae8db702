"""Training on cached features: it learns, it chooses epochs on validation only, it stops when asked."""

import pytest
import torch
import torch.nn.functional as F

from mma_studio.core.adapter import AdapterConfig
from mma_studio.core.cancellation import CancelToken
from mma_studio.core.events import EpochEvent, FinishedEvent, ZeroShotEvent
from mma_studio.core.training import TrainConfig, fit_features


def learnable_problem(seed=0, dim=64, classes=10, train=160, val=60, noise=1.05, text_noise=2.7):
    """Image clusters around class prototypes; text embeddings are noisy prototypes, so
    zero-shot is imperfect and the adapter has a relation to learn."""
    generator = torch.Generator().manual_seed(seed)
    prototypes = F.normalize(torch.randn(classes, dim, generator=generator), dim=-1)
    texts = F.normalize(prototypes + text_noise * torch.randn(classes, dim, generator=generator) / dim**0.5, dim=-1)

    def sample(count):
        labels = torch.arange(count) % classes
        features = prototypes[labels] + noise * torch.randn(count, dim, generator=generator) / dim**0.5
        return features, labels

    return texts, sample(train), sample(val)


def test_training_lifts_base_accuracy_well_above_zero_shot():
    texts, (x, y), (vx, vy) = learnable_problem()
    events = []
    result = fit_features(
        x,
        y,
        texts,
        val_image_features=vx,
        val_labels=vy,
        config=TrainConfig(epochs=100),
        adapter_config=AdapterConfig(embed_dim=64, logit_scale=50.0),
        on_event=events.append,
    )
    assert isinstance(events[0], ZeroShotEvent) and isinstance(events[-1], FinishedEvent)
    assert all(isinstance(e, EpochEvent) for e in events[1:-1])
    best = next(e for e in result.history if e.epoch == result.best_epoch)
    assert result.zero_shot.val_acc < 0.8
    assert best.val_acc >= result.zero_shot.val_acc + 0.15
    assert not any(p.requires_grad for p in result.adapter.parameters())
    # the returned adapter is the best epoch's: re-evaluating it reproduces the recorded figure
    with torch.no_grad():
        accuracy = (result.adapter(vx, texts).argmax(-1) == vy).float().mean().item()
    assert accuracy == pytest.approx(best.val_acc)


def test_new_classes_are_reported_but_never_choose_the_epoch():
    texts, (x, y), (vx, vy) = learnable_problem(seed=1)
    new_texts, _, (nx, ny) = learnable_problem(seed=2)
    result = fit_features(
        x,
        y,
        texts,
        val_image_features=vx,
        val_labels=vy,
        new_image_features=nx,
        new_labels=ny,
        new_text_features=new_texts,
        config=TrainConfig(epochs=30, patience=0),
        adapter_config=AdapterConfig(embed_dim=64, logit_scale=50.0),
    )
    assert all(e.new_acc is not None and e.hm is not None for e in result.history)
    assert result.zero_shot.new_acc is not None
    best_val = max(e.val_acc for e in result.history)
    chosen = next(e for e in result.history if e.epoch == result.best_epoch)
    assert chosen.val_acc == best_val
    assert chosen.epoch == max(e.epoch for e in result.history if e.val_acc == best_val)


def test_deterministic_on_cpu_for_a_fixed_seed():
    texts, (x, y), (vx, vy) = learnable_problem()
    config = TrainConfig(epochs=5, seed=7, batch_size=32)
    adapter_config = AdapterConfig(embed_dim=64, logit_scale=50.0)
    first = fit_features(
        x, y, texts, val_image_features=vx, val_labels=vy, config=config, adapter_config=adapter_config
    )
    second = fit_features(
        x, y, texts, val_image_features=vx, val_labels=vy, config=config, adapter_config=adapter_config
    )
    for name, tensor in first.adapter.state_dict().items():
        assert torch.equal(tensor, second.adapter.state_dict()[name]), name
    assert [e.train_loss for e in first.history] == [e.train_loss for e in second.history]


def test_early_stopping_needs_patience_epochs_and_steps():
    texts, (x, y), (vx, vy) = learnable_problem()
    # batch 8 -> 20 steps an epoch, so 10 epochs of patience exceed the 50-step floor
    result = fit_features(
        x,
        y,
        texts,
        val_image_features=vx,
        val_labels=vy,
        config=TrainConfig(epochs=100, batch_size=8, lr=5e-2, patience=3, min_patience_steps=50),
        adapter_config=AdapterConfig(embed_dim=64, logit_scale=50.0),
    )
    assert result.finished.stopped_early
    last = result.history[-1].epoch
    assert last - result.best_epoch >= 3
    assert (last - result.best_epoch) * 20 >= 50


def test_cancel_between_batches_keeps_best_so_far():
    texts, (x, y), (vx, vy) = learnable_problem()
    token = CancelToken()
    seen = []

    def on_event(event):
        seen.append(event)
        if isinstance(event, EpochEvent) and event.epoch == 3:
            token.cancel()

    result = fit_features(
        x,
        y,
        texts,
        val_image_features=vx,
        val_labels=vy,
        config=TrainConfig(epochs=50, batch_size=16),
        adapter_config=AdapterConfig(embed_dim=64, logit_scale=50.0),
        on_event=on_event,
        token=token,
    )
    assert result.cancelled and result.finished.cancelled
    assert len(result.history) == 3
    assert 1 <= result.best_epoch <= 3


def test_augmented_views_are_accepted():
    texts, (x, y), (vx, vy) = learnable_problem()
    views = torch.stack([x, x + 0.01 * torch.randn_like(x)])
    result = fit_features(
        views,
        y,
        texts,
        val_image_features=vx,
        val_labels=vy,
        config=TrainConfig(epochs=3),
        adapter_config=AdapterConfig(embed_dim=64),
    )
    assert len(result.history) == 3


def test_bad_arguments_are_explained():
    texts, (x, y), _ = learnable_problem()
    with pytest.raises(ValueError, match="labels"):
        fit_features(x, y[:-1], texts)
    with pytest.raises(ValueError, match="no training images"):
        fit_features(x[:0], y[:0], texts)
