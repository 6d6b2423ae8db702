"""Engine calls several sub-commands make the same way, from their options (each imports the engine
lazily). Glue only: what each call does is the engine's."""

from __future__ import annotations

from pathlib import Path

from mma_studio.cli.errors import UserError
from mma_studio.cli.output import eprint
from mma_studio.cli.progress import ProgressPrinter


def make_cache(args):
    from mma_studio.core.feature_cache import FeatureCache

    return FeatureCache(args.cache_dir) if args.cache_dir else FeatureCache()


def check_device(args) -> None:
    """Refuse a device this machine does not have before any file is read (DeviceError)."""
    from mma_studio.core.devices import choose_device

    choose_device(args.device)


def scan(data_dir: Path, printer: ProgressPrinter, token, *, note_skipped: bool = False):
    """The scanned folder; with `note_skipped`, each skipped file is named on stderr (`check`
    lists them in its report instead)."""
    from mma_studio.core.dataset import scan_dataset

    result = scan_dataset(data_dir, on_progress=printer, token=token)
    printer.close()
    if note_skipped:
        for skipped in result.skipped:
            eprint(f"skipped {skipped.path}: {skipped.reason}")
    return result


def list_images(items: list[Path], command: str, error_prefix: str = "") -> list[Path]:
    """The files named and the images below the folders named (`core.images_to_classify`), for
    `predict` and `--check-images`: a sub-folder that cannot be listed is a warning, a named one
    an error."""
    from mma_studio.core import images_to_classify as listing

    images: list[Path] = []
    try:
        for item in items:
            images += listing.images_to_classify(item, lambda line: eprint(f"mma-studio {command}: warning: {line}"))
    except listing.ImageListingError as exc:
        raise UserError(f"{error_prefix}{exc}") from None
    return images


def load_classifier_backbone(adapter_file, args, printer: ProgressPrinter, token):
    """The backbone that classifies with `adapter_file`: its own, or what --model/--pretrained name
    (`core.classifier_backbone`, the rule the app's Demo page follows too)."""
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.classifier_backbone import classifier_backbone_arguments

    model, pretrained = classifier_backbone_arguments(adapter_file, args.model, args.pretrained)
    return load_backbone(model, pretrained, device=args.device, on_progress=printer, token=token)
