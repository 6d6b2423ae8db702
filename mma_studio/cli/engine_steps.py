"""Engine calls several sub-commands make the same way (each imports the engine lazily)."""

from __future__ import annotations

from pathlib import Path

from mma_studio.cli.progress import ProgressPrinter


def make_cache(args):
    from mma_studio.core.feature_cache import FeatureCache

    return FeatureCache(args.cache_dir) if args.cache_dir else FeatureCache()


def scan(data_dir: Path, printer: ProgressPrinter, token):
    from mma_studio.core.dataset import scan_dataset

    result = scan_dataset(data_dir, on_progress=printer, token=token)
    printer.close()
    return result


def load_classifier_backbone(adapter_file, args, printer: ProgressPrinter, token):
    """The backbone the adapter was trained with, unless --model/--pretrained say otherwise."""
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.predict import backbone_arguments

    model, pretrained = backbone_arguments(adapter_file)
    return load_backbone(args.model or model, args.pretrained or pretrained, device=args.device,
                         on_progress=printer, token=token)
