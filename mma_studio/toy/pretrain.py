"""Contrastive pretraining of `mma-tiny` from scratch on generated shapes: the `shapes` weights.

Plain CLIP training, with one change forced by the data: a batch holds many images of the
same caption, so every pair with equal captions is a positive. Each row (image -> texts) and
each column (text -> images) of the similarity matrix gets a soft target spread evenly over
its positives. The text tower runs once per distinct caption in the batch, which gives the
same gradients as running it on every repeated caption, for a fraction of the cost.

Images are generated on the fly from one seed, so a run is reproducible (for a fixed torch
thread count) and needs no data on disk.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mma_studio.core.model_configs import register_shipped_model_configs, resources_dir
from mma_studio.toy import shapes

MODEL_NAME = "mma-tiny"
WEIGHTS_TAG = "shapes"
WEIGHTS_FILENAME = "mma-tiny-shapes.safetensors"
EVAL_SEED = 20_240_902  # fixed and apart from any training seed: the evaluation images never change


@dataclass(frozen=True)
class PretrainConfig:
    """The recipe of the shipped weights; the defaults are what `python -m mma_studio.toy train` runs."""

    steps: int = 1600
    batch_size: int = 128
    lr: float = 3e-3
    warmup_steps: int = 40
    weight_decay: float = 0.05
    seed: int = 0
    eval_per_combo: int = 50


@dataclass(frozen=True)
class ZeroShotReport:
    """Zero-shot accuracy classifying among the captions of all colour-shape combinations."""

    seen: float  # images of combinations used in pretraining
    held_out: float  # images of combinations pretraining never saw
    seen_images: int
    held_out_images: int
    classes: int

    def to_dict(self) -> dict:
        return asdict(self)


def shipped_weights_path() -> Path:
    return resources_dir() / WEIGHTS_FILENAME


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No pretrained weights loaded")


def create_model() -> torch.nn.Module:
    """A randomly initialised `mma-tiny` (seed torch first for reproducible weights).

    open_clip warns on the root logger when it builds random weights; here they are the point.
    """
    register_shipped_model_configs()
    import open_clip

    quiet = _DropRandomInitWarning()
    logging.getLogger().addFilter(quiet)
    try:
        return open_clip.create_model(MODEL_NAME)
    finally:
        logging.getLogger().removeFilter(quiet)


def load_shapes_model(path: Path | None = None) -> torch.nn.Module:
    """`mma-tiny` with the `shapes` weights (the shipped file unless `path` is given), in eval mode."""
    from safetensors.torch import load_file

    model = create_model()
    state = {k: v.float() for k, v in load_file(str(path or shipped_weights_path())).items()}
    model.load_state_dict(state, strict=True)
    return model.eval()


def tokenize(texts: list[str]) -> torch.Tensor:
    register_shipped_model_configs()
    import open_clip

    return open_clip.get_tokenizer(MODEL_NAME)(texts)


def images_to_tensor(images: np.ndarray, model: torch.nn.Module) -> torch.Tensor:
    """(B, H, W, 3) floats in [0, 1] -> the normalised (B, 3, H, W) tensor the model expects."""
    cfg = model.visual.preprocess_cfg
    mean = torch.tensor(cfg["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"], dtype=torch.float32).view(1, 3, 1, 1)
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    return (x - mean) / std


def multi_positive_clip_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    caption_ids: torch.Tensor,
    logit_scale: torch.Tensor,
) -> torch.Tensor:
    """Symmetric CLIP loss where images with the same caption id are all positives of each other.

    `text_features` holds one row per image (rows of repeated captions may be the same tensor
    rows, indexed from the distinct captions); all features are L2-normalised.
    """
    logits = logit_scale * image_features @ text_features.T  # (B, B): image i vs caption of j
    positives = (caption_ids[:, None] == caption_ids[None, :]).float()
    targets = positives / positives.sum(dim=1, keepdim=True)  # symmetric mask: rows == columns
    image_to_text = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    text_to_image = -(targets * F.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return 0.5 * (image_to_text + text_to_image)


@contextlib.contextmanager
def compact_vocabulary(model: torch.nn.Module, tokens: torch.Tensor):
    """Train only the embedding rows of the tokens the captions use; yields remapped tokens.

    The captions use about twenty of the 49,408 tokens. Unused rows get zero gradients and,
    with no weight decay on embeddings, zero Adam updates, so training a compact table and
    writing it back is the same computation as training the full one, without an optimizer
    step over 3.2 M idle parameters (which would cost about as much as the model itself).
    Ids are remapped in order, so the end-of-text token stays the largest id, where open_clip
    pools text features.
    """
    full = model.token_embedding
    used = torch.unique(tokens)
    compact = torch.nn.Embedding(len(used), full.embedding_dim)
    with torch.no_grad():
        compact.weight.copy_(full.weight[used])
    model.token_embedding = compact
    try:
        yield torch.searchsorted(used, tokens)
    finally:
        with torch.no_grad():
            full.weight[used] = compact.weight.detach()
        model.token_embedding = full


def _lr_at(step: int, config: PretrainConfig) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _optimizer(model: torch.nn.Module, config: PretrainConfig) -> torch.optim.Optimizer:
    # As open_clip: no weight decay on gains, biases and the temperature; nor on the token
    # embedding, whose ~49k unused rows would otherwise decay towards a shared zero vector.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or "ln" in name or "bias" in name or "logit_scale" in name or "token_embedding" in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
        betas=(0.9, 0.98),
        eps=1e-6,
    )


def pretrain(
    config: PretrainConfig = PretrainConfig(),
    *,
    on_step: Callable[[int, int, float, float], None] | None = None,
) -> tuple[torch.nn.Module, dict]:
    """Train `mma-tiny` from scratch; returns the model (eval mode) and a summary dict.

    `on_step(step, steps, loss, images_per_s)` is called after every step.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = create_model().train()
    all_tokens = tokenize([shapes.caption(c, s) for c, s in shapes.ALL_COMBOS])
    n_shapes = len(shapes.SHAPES)
    started = time.perf_counter()
    loss_value = float("nan")
    with compact_vocabulary(model, all_tokens) as compact_tokens:
        optimizer = _optimizer(model, config)
        for step in range(config.steps):
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, config)
            batch = shapes.sample(rng, config.batch_size)
            caption_ids = torch.from_numpy(batch.colour * n_shapes + batch.shape)
            distinct, index = torch.unique(caption_ids, return_inverse=True)
            image_features = model.encode_image(images_to_tensor(batch.images, model), normalize=True)
            text_features = model.encode_text(compact_tokens[distinct], normalize=True)[index]
            loss = multi_positive_clip_loss(image_features, text_features, caption_ids, model.logit_scale.exp())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0.0, math.log(100.0))
            loss_value = float(loss.detach())
            if on_step is not None:
                elapsed = time.perf_counter() - started
                on_step(step + 1, config.steps, loss_value, (step + 1) * config.batch_size / elapsed)
    wall_s = time.perf_counter() - started
    model.eval()
    report = zero_shot_report(model, per_combo=config.eval_per_combo)
    summary = {
        "config": asdict(config),
        "final_loss": loss_value,
        "wall_s": round(wall_s, 1),
        "torch_threads": torch.get_num_threads(),
        "zero_shot": report.to_dict(),
    }
    return model, summary


@torch.inference_mode()
def classify(model: torch.nn.Module, images: np.ndarray, combos=shapes.ALL_COMBOS) -> np.ndarray:
    """Zero-shot: the index into `combos` whose caption best matches each uint8 image (B, H, W, 3)."""
    model.eval()
    text = model.encode_text(tokenize([shapes.caption(c, s) for c, s in combos]), normalize=True)
    predictions = []
    for start in range(0, len(images), 512):
        x = images_to_tensor(images[start : start + 512].astype(np.float32) / 255.0, model)
        predictions.append((model.encode_image(x, normalize=True) @ text.T).argmax(dim=1).numpy())
    return np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)


def zero_shot_report(model: torch.nn.Module, *, per_combo: int = 50, seed: int = EVAL_SEED) -> ZeroShotReport:
    """Classify freshly generated images among the captions of all combinations.

    Images are quantised to 8 bits first, as they would be when read back from PNG files.
    """
    rng = np.random.default_rng(seed)
    table = shapes.combo_indices(shapes.ALL_COMBOS)
    truth = np.repeat(np.arange(len(table)), per_combo)
    batch = shapes.render(table[truth, 0], table[truth, 1], rng)
    correct = classify(model, batch.to_uint8()) == truth
    held = np.array([combo in shapes.HELD_OUT for combo in shapes.ALL_COMBOS])[truth]
    return ZeroShotReport(
        seen=float(correct[~held].mean()),
        held_out=float(correct[held].mean()),
        seen_images=int((~held).sum()),
        held_out_images=int(held.sum()),
        classes=len(table),
    )


def save_weights(model: torch.nn.Module, path: Path, summary: dict) -> Path:
    """Write the float16 open_clip state dict with its recipe and figures as metadata, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": "open_clip state_dict, float16",
        "description": "mma-tiny trained from scratch on generated coloured shapes: a toy CLIP for "
        "demos and tests, not a general image model",
        "model": MODEL_NAME,
        "pretrained": WEIGHTS_TAG,
        "template": shapes.TEMPLATE,
        "colours": json.dumps(list(shapes.COLOUR_NAMES)),
        "shapes": json.dumps(list(shapes.SHAPES)),
        "held_out": json.dumps([list(k) for k in shapes.HELD_OUT]),
        "recipe": json.dumps(summary["config"]),
        "zero_shot": json.dumps(summary["zero_shot"]),
        "wall_s": str(summary.get("wall_s", "")),
        "torch": torch.__version__,
        "open_clip": importlib.metadata.version("open_clip_torch"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(state, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; this is an ordinary shareable file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
