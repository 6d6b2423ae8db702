"""Train the adapter on cached feature tensors: the frozen encoders never run in this loop.

`fit_features` is the whole training algorithm of the product; the image-folder pipeline, the
CLI, the app and the tests all call it. The epoch is chosen on base validation accuracy only
(a tie moves the choice to the later epoch); new-class figures are reported, never used to choose.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import time
from dataclasses import asdict, dataclass, field, fields

import torch
import torch.nn.functional as F

from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter, zero_shot_logits
from mma_studio.core.cancellation import Cancelled, CancelToken
from mma_studio.core.cpu_threads import adapter_training_threads, torch_threads
from mma_studio.core.events import (
    EpochEvent,
    EventCallback,
    FinishedEvent,
    ZeroShotEvent,
)
from mma_studio.core.metrics import harmonic_mean
from mma_studio.core.seeded_init import seeded

EVAL_CHUNK = 4096
MAX_EPOCHS = 100_000
_LABELS = {
    "lr": "learning rate",
    "weight_decay": "weight decay",
    "epochs": "epochs",
    "batch_size": "batch size",
    "patience": "patience",
    "min_patience_steps": "min_patience_steps",
    "seed": "seed",
}


class TrainingDivergedError(ArithmeticError):
    """The loss or the adapter's weights became NaN or infinite: the run is stopped and its
    adapter is not kept (it would only predict nonsense, or be refused when loaded)."""

    def __init__(self, epoch: int, what: str, lr: float) -> None:
        super().__init__(
            f"training diverged at epoch {epoch}: the {what} became NaN or infinite; nothing was saved. "
            f"Lower the learning rate (it is {lr:g}; the default is 5e-3)."
        )
        self.epoch = epoch


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; the defaults follow the authors' released code."""

    epochs: int = 100
    lr: float = 5e-3
    weight_decay: float = 1e-4
    batch_size: int = 256
    patience: int = 10  # epochs without a better validation score before stopping; 0 = never stop early
    # ...and at least this many optimizer steps: on a small dataset an epoch is a single step
    # (160 images < one batch of 256), and ten steps are far too few to judge a plateau.
    min_patience_steps: int = 50
    seed: int = 42

    def __post_init__(self) -> None:
        # NaN compares false with everything, so `lr <= 0` alone let `--lr nan` through to a
        # run that trained on NaN and saved it: every number is checked for finiteness first.
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"{_LABELS[name]} must be a finite number, not {value!r}")
        for name in ("epochs", "batch_size", "patience", "min_patience_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                # a ValueError, not a TypeError: every invalid setting is a ValueError to its callers
                raise ValueError(f"{_LABELS[name]} must be a whole number, not {value!r}")  # noqa: TRY004
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.epochs > MAX_EPOCHS:
            raise ValueError(f"epochs must be at most {MAX_EPOCHS}, not {self.epochs}")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if self.lr <= 0:
            raise ValueError("learning rate must be positive")
        if self.weight_decay < 0 or self.patience < 0 or self.min_patience_steps < 0:
            raise ValueError("weight decay and patience cannot be negative")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a whole number from 0 to 2^63 - 1, not {self.seed}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class FitResult:
    adapter: MultiModalAdapter  # weights of the best epoch, in eval mode
    history: list[EpochEvent]
    zero_shot: ZeroShotEvent
    finished: FinishedEvent
    best_epoch: int = 0
    cancelled: bool = False
    extras: dict = field(default_factory=dict)


@torch.no_grad()
def predict_in_chunks(
    model, image_features: torch.Tensor, text_features: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax predictions and summed cross-entropy-ready logits, chunked to bound memory."""
    predictions = []
    logits_all = []
    for start in range(0, image_features.shape[0], EVAL_CHUNK):
        logits = model(image_features[start : start + EVAL_CHUNK], text_features)
        logits_all.append(logits.float())
        predictions.append(logits.argmax(dim=-1))
    if not predictions:
        empty = torch.empty(0, dtype=torch.long, device=image_features.device)
        return empty, torch.empty(0, text_features.shape[0], device=image_features.device)
    return torch.cat(predictions), torch.cat(logits_all)


def _accuracy_and_loss(model, features, labels, texts) -> tuple[float | None, float | None]:
    if features is None or labels is None or features.shape[0] == 0:
        return None, None
    predictions, logits = predict_in_chunks(model, features, texts)
    accuracy = (predictions == labels).float().mean().item()
    loss = F.cross_entropy(logits, labels).item()
    return accuracy, loss


class _ZeroShot(torch.nn.Module):
    def __init__(self, logit_scale: float) -> None:
        super().__init__()
        self.logit_scale = logit_scale

    def forward(self, image_features, text_features):
        return zero_shot_logits(image_features, text_features, self.logit_scale)


def fit_features(
    image_features: torch.Tensor,
    labels: torch.Tensor,
    text_features: torch.Tensor,
    *,
    val_image_features: torch.Tensor | None = None,
    val_labels: torch.Tensor | None = None,
    config: TrainConfig | None = None,
    adapter_config: AdapterConfig | None = None,
    on_event: EventCallback | None = None,
    new_image_features: torch.Tensor | None = None,
    new_labels: torch.Tensor | None = None,
    new_text_features: torch.Tensor | None = None,
    token: CancelToken | None = None,
) -> FitResult:
    """Train a MultiModalAdapter on cached CLIP features.

    `image_features` is (n, D), or (V, n, D) for V cached augmented views of each training
    image (one view is drawn per image per epoch). `labels` index rows of `text_features`
    (the base classes). Validation uses the same base prompts; the optional new-class set is
    evaluated with its own prompts and only reported. Cancelling (or a `Cancelled` raised by a
    paused-then-cancelled token) ends training with the best weights so far.
    """
    config = config or TrainConfig()
    # On the CPU the adapter's small products run fastest on a few threads (cpu_threads.py).
    on_cpu = image_features.device.type == "cpu"
    with torch_threads(adapter_training_threads()) if on_cpu else contextlib.nullcontext():
        return _fit(
            image_features,
            labels,
            text_features,
            val_image_features,
            val_labels,
            config,
            adapter_config,
            on_event,
            new_image_features,
            new_labels,
            new_text_features,
            token,
        )


def _fit(
    image_features,
    labels,
    text_features,
    val_image_features,
    val_labels,
    config,
    adapter_config,
    on_event,
    new_image_features,
    new_labels,
    new_text_features,
    token,
) -> FitResult:
    views = image_features if image_features.dim() == 3 else image_features.unsqueeze(0)
    num_views, num_train, embed_dim = views.shape
    if labels.shape[0] != num_train:
        raise ValueError(f"{num_train} training images but {labels.shape[0]} labels")
    if num_train == 0:
        raise ValueError("no training images: at least one shot per base class is needed to train")
    if adapter_config is None:
        adapter_config = AdapterConfig(embed_dim=embed_dim)
    elif adapter_config.embed_dim != embed_dim:
        adapter_config = adapter_config.with_embed_dim(embed_dim)
    device = views.device
    views = F.normalize(views.float(), dim=-1)
    labels = labels.to(device).long()
    text_features = F.normalize(text_features.float().to(device), dim=-1)
    has_val = val_image_features is not None and val_labels is not None and val_labels.numel() > 0
    if has_val:
        val_image_features = F.normalize(val_image_features.float().to(device), dim=-1)
        val_labels = val_labels.to(device).long()
    has_new = new_image_features is not None and new_labels is not None and new_text_features is not None
    if has_new and new_labels.numel() > 0:
        new_image_features = F.normalize(new_image_features.float().to(device), dim=-1)
        new_labels = new_labels.to(device).long()
        new_text_features = F.normalize(new_text_features.float().to(device), dim=-1)
    else:
        has_new = False

    def evaluate(model) -> tuple[float | None, float | None, float | None, float | None]:
        model.eval()
        val_acc, val_loss = (
            _accuracy_and_loss(model, val_image_features, val_labels, text_features) if has_val else (None, None)
        )
        new_acc = _accuracy_and_loss(model, new_image_features, new_labels, new_text_features)[0] if has_new else None
        return val_acc, val_loss, new_acc, harmonic_mean(val_acc, new_acc)

    zero_val, _, zero_new, zero_hm = evaluate(_ZeroShot(adapter_config.logit_scale))
    zero_shot = ZeroShotEvent(val_acc=zero_val, new_acc=zero_new, hm=zero_hm)
    if on_event:
        on_event(zero_shot)

    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    with seeded(config.seed):
        adapter = MultiModalAdapter.from_config(adapter_config)
    adapter.to(device)
    optimizer = torch.optim.Adam(adapter.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    history: list[EpochEvent] = []
    best_state = copy.deepcopy(adapter.state_dict())
    best_key: tuple[float, float] | None = None
    best_epoch = 0
    epochs_without_improvement = 0
    stopped_early = False
    cancelled = False
    epoch_times: list[float] = []
    steps_per_epoch = math.ceil(num_train / config.batch_size)
    try:
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            adapter.train()
            order = torch.randperm(num_train, generator=generator).to(device)
            view_choice = torch.randint(num_views, (num_train,), generator=generator).to(device)
            total_loss = 0.0
            for start in range(0, num_train, config.batch_size):
                if token is not None:
                    token.check()
                index = order[start : start + config.batch_size]
                batch = views[view_choice[index], index]
                logits = adapter(batch, text_features)
                loss = F.cross_entropy(logits, labels[index])
                optimizer.zero_grad(set_to_none=True)
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(epoch, "loss", config.lr)
                loss.backward()
                optimizer.step()
                total_loss += loss.item() * index.numel()
            train_loss = total_loss / num_train
            if not all(torch.isfinite(p).all() for p in adapter.parameters()):
                raise TrainingDivergedError(epoch, "adapter's weights", config.lr)

            val_acc, val_loss, new_acc, hm = evaluate(adapter)
            if has_val:
                # A tie counts as progress: on small validation sets accuracy plateaus while
                # the adapter is still learning, and the later epoch has seen more training.
                assert val_acc is not None and val_loss is not None  # has_val: evaluate() measured both
                key = (val_acc, -val_loss)
                improved = best_key is None or val_acc >= best_key[0]
            else:
                key, improved = (0.0, -train_loss), True  # no validation set: keep the latest epoch
            if improved:
                best_key, best_epoch = key, epoch
                best_state = copy.deepcopy(adapter.state_dict())
                epochs_without_improvement = 0
            else:
                epochs_without_improvement += 1
            elapsed = time.perf_counter() - started
            epoch_times.append(elapsed)
            mean_time = sum(epoch_times[-5:]) / len(epoch_times[-5:])
            event = EpochEvent(
                epoch=epoch,
                epochs=config.epochs,
                train_loss=train_loss,
                val_acc=val_acc,
                new_acc=new_acc,
                hm=hm,
                best_epoch=best_epoch,
                is_best=improved,
                samples_per_s=num_train / elapsed if elapsed > 0 else math.inf,
                eta_s=mean_time * (config.epochs - epoch),
            )
            history.append(event)
            if on_event:
                on_event(event)
            steps_without_improvement = epochs_without_improvement * steps_per_epoch
            if (
                has_val
                and config.patience
                and epochs_without_improvement >= config.patience
                and steps_without_improvement >= config.min_patience_steps
            ):
                stopped_early = True
                break
    except Cancelled:
        cancelled = True

    adapter.load_state_dict(best_state)
    adapter.eval()
    for parameter in adapter.parameters():
        parameter.requires_grad_(False)
    best_val = best_key[0] if (has_val and best_key is not None) else None
    finished = FinishedEvent(
        epochs_run=len(history),
        best_epoch=best_epoch,
        best_val_acc=best_val,
        stopped_early=stopped_early,
        cancelled=cancelled,
    )
    if on_event:
        on_event(finished)
    return FitResult(
        adapter=adapter,
        history=history,
        zero_shot=zero_shot,
        finished=finished,
        best_epoch=best_epoch,
        cancelled=cancelled,
    )
