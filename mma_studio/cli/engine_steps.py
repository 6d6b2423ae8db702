"""Engine calls several sub-commands make the same way (each imports the engine lazily)."""

from __future__ import annotations

from pathlib import Path

from mma_studio.cli.progress import ProgressPrinter


def make_cache(args):
    from mma_studio.core.feature_cache import FeatureCache

    return FeatureCache(args.cache_dir) if args.cache_dir else FeatureCache()


def check_device(args) -> None:
    """Refuse a device this machine does not have before any file is read (DeviceError)."""
    from mma_studio.core.devices import choose_device

    choose_device(args.device)


def scan(data_dir: Path, printer: ProgressPrinter, token):
    from mma_studio.core.dataset import scan_dataset

    result = scan_dataset(data_dir, on_progress=printer, token=token)
    printer.close()
    return result


def classifier_backbone_arguments(adapter_file, args) -> tuple[str, str]:
    """(model, pretrained): the adapter's own backbone unless --model/--pretrained say otherwise.

    Another --model without --pretrained gets that model's usual weights, never the adapter's
    weights tag, which belongs to the adapter's model (`ViT-B-16 · shapes` does not exist)."""
    from mma_studio.core.predict import backbone_arguments

    model, pretrained = backbone_arguments(adapter_file)
    if args.pretrained:
        return args.model or model, args.pretrained
    if args.model and args.model != model:
        return args.model, usual_weights(args.model)
    return model, pretrained


def usual_weights(model: str) -> str:
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


def load_classifier_backbone(adapter_file, args, printer: ProgressPrinter, token):
    from mma_studio.core.backbone import load_backbone

    model, pretrained = classifier_backbone_arguments(adapter_file, args)
    return load_backbone(model, pretrained, device=args.device, on_progress=printer, token=token)
