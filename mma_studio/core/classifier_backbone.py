"""Which backbone classifies with an adapter file: the one it was trained on, unless the user
names another model or weights (`predict`, `eval` and `export` take --model/--pretrained; the
app's Demo page always uses the adapter's own).
"""

from __future__ import annotations

from mma_studio.core.adapter_file import AdapterFile
from mma_studio.core.predict import backbone_arguments


def classifier_backbone_arguments(
    adapter_file: AdapterFile, model: str | None = None, pretrained: str | None = None
) -> tuple[str, str]:
    """(model, pretrained): the adapter's own backbone unless `model`/`pretrained` say otherwise.

    Another `model` without `pretrained` gets that model's usual weights, never the adapter's
    weights tag, which belongs to the adapter's model (`ViT-B-16 · shapes` does not exist)."""
    own_model, own_pretrained = backbone_arguments(adapter_file)
    if pretrained:
        return model or own_model, pretrained
    if model and model != own_model:
        return model, usual_weights(model)
    return own_model, own_pretrained


def usual_weights(model: str) -> str:
    """The weights a model is loaded with when none are named: the default tag where the model
    has it, else its first published tag (the offline toy model: its shapes weights)."""
    from mma_studio.core.run_defaults import (
        DEFAULT_PRETRAINED,
        OFFLINE_MODEL,
        OFFLINE_PRETRAINED,
    )

    if model == OFFLINE_MODEL:
        return OFFLINE_PRETRAINED
    try:
        import open_clip

        tags = open_clip.list_pretrained_tags_by_model(model)
    except Exception:  # noqa: BLE001 - an unknown model: load_backbone says so with its own reason
        return DEFAULT_PRETRAINED
    return DEFAULT_PRETRAINED if DEFAULT_PRETRAINED in tags or not tags else tags[0]
