"""Engine calls several sub-commands make the same way, from their options (each imports the engine
lazily). Glue only: what each call does is the engine's."""

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


def load_classifier_backbone(adapter_file, args, printer: ProgressPrinter, token):
    """The backbone that classifies with `adapter_file`: its own, or what --model/--pretrained name
    (`core.classifier_backbone`, the rule the app's Demo page follows too)."""
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.classifier_backbone import classifier_backbone_arguments

    model, pretrained = classifier_backbone_arguments(adapter_file, args.model, args.pretrained)
    return load_backbone(model, pretrained, device=args.device, on_progress=printer, token=token)
