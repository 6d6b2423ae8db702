"""A Markdown model card for an exported adapter: what it is, what it was trained on, how well it does."""

from __future__ import annotations

import datetime

from mma_studio.core.adapter_file import AdapterFile


def _percent(value) -> str:
    if value is None or value != value:
        return "—"
    return f"{100 * value:.1f}%"


def model_card_markdown(contents: AdapterFile, title: str | None = None) -> str:
    backbone = contents.backbone
    config = contents.adapter_config
    training = contents.training
    metrics = contents.metrics
    created = contents.created or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    lines = [
        f"# {title or 'MMA adapter'}",
        "",
        "A Multi-Modal Adapter (MMA, arXiv 2409.02958) for a frozen CLIP model, trained with MMA Studio "
        f"{contents.app_version}. It is used together with the backbone below; on its own it is not a model.",
        "",
        "## Backbone",
        "",
        f"- Model: `{backbone.get('model_name', '?')}`",
        f"- Weights: `{backbone.get('pretrained', '?')}` ({backbone.get('description', '')})",
        f"- Weights fingerprint: `{backbone.get('weights_id', '?')}`",
        f"- Embedding dimension: {backbone.get('embed_dim', config.embed_dim)}; logit scale τ = {config.logit_scale:.2f}",
    ]
    if backbone.get("is_random"):
        lines.append("- **Random weights**: this adapter was trained on an untrained backbone, for testing only.")
    lines += [
        "",
        "## Classes",
        "",
        "| # | class | role |",
        "|---|---|---|",
    ]
    lines += [
        f"| {i + 1} | {name} | {role} |" for i, (name, role) in enumerate(zip(contents.class_names, contents.roles))
    ]
    lines += [
        "",
        "Base classes were trained on; new classes were never seen in training and measure generalisation.",
        "",
        "## Prompts",
        "",
    ]
    lines += [f"- `{template}`" for template in contents.templates]
    lines += [
        "",
        "## Settings",
        "",
        f"- Adapter: λ = {config.blend}, bottleneck d = {config.resolved_bottleneck_dim}, {config.heads} heads, "
        f"adapt {config.adapt}, {config.mask} mask, {config.projection} projections",
    ]
    train = training.get("training") or {}
    if training:
        lines.append(
            f"- Data: {training.get('shots', '?')} shots per base class, {training.get('val_per_class', '?')} validation "
            f"images per base class, seed {training.get('seed', '?')}, {training.get('augment_views', 0)} augmented views"
        )
    if train:
        lines.append(
            f"- Optimisation: Adam, learning rate {train.get('lr')}, weight decay {train.get('weight_decay')}, "
            f"batch {train.get('batch_size')}, up to {train.get('epochs')} epochs, patience {train.get('patience')}"
        )
    if "best_epoch" in training:
        lines.append(f"- Best epoch {training['best_epoch']} of {training.get('epochs_run', '?')} run")
    zero, adapted = metrics.get("zero_shot") or {}, metrics.get("adapted") or {}
    if zero or adapted:
        lines += [
            "",
            "## Results on held-out test images",
            "",
            "| | base | new | HM | all classes |",
            "|---|---|---|---|---|",
            f"| zero-shot CLIP | {_percent(zero.get('base'))} | {_percent(zero.get('new'))} | {_percent(zero.get('hm'))} | {_percent(zero.get('all'))} |",
            f"| CLIP + adapter | {_percent(adapted.get('base'))} | {_percent(adapted.get('new'))} | {_percent(adapted.get('hm'))} | {_percent(adapted.get('all'))} |",
        ]
    lines += ["", f"Created {created}.", ""]
    return "\n".join(lines)
