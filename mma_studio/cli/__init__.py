"""`mma-studio`: no arguments opens the desktop app; subcommands run the engine headless.

Human-readable progress goes to stderr (tqdm); results go to stdout, as text or, with
`--json`, as JSON. A user error exits non-zero with a one-line reason, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


# --------------------------------------------------------------------------- output helpers


class ProgressPrinter:
    """Turns engine `Progress` events into one tqdm bar per stage on stderr.

    Silent when stderr is missing (a windowed build) or not wanted (--quiet).
    """

    LABELS = {"scan": "Scanning", "load_model": "Loading model", "extract": "Extracting",
              "train": "Training", "evaluate": "Evaluating", "predict": "Classifying", "example": "Writing"}

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr is not None
        self._bar = None
        self._key = None

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        key = (progress.stage, progress.message if progress.stage == "extract" else "")
        if key != self._key:
            self.close()
            label = self.LABELS.get(progress.stage, progress.stage)
            if progress.stage == "extract" and progress.message:
                label = f"{label} {progress.message}"
            self._bar = tqdm(total=progress.total, desc=label, file=sys.stderr, leave=False,
                             unit="ep" if progress.stage == "train" else "img", dynamic_ncols=True)
            self._key = key
        if progress.total is not None and self._bar.total != progress.total:
            self._bar.total = progress.total
        self._bar.n = progress.done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._key = None


def percent(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "  —  "
    return f"{100 * value:5.1f}%"


def print_json(data) -> None:
    print(json.dumps(data, default=str), flush=True)


def eprint(*parts) -> None:
    if sys.stderr is not None:
        print(*parts, file=sys.stderr, flush=True)


def figures_table(summary: dict) -> str:
    zero, adapted = summary["zero_shot"], summary["adapted"]
    rows = ["              base     new      HM     all",
            f"zero-shot   {percent(zero['base'])}  {percent(zero['new'])}  {percent(zero['hm'])}  {percent(zero['all'])}",
            f"adapted     {percent(adapted['base'])}  {percent(adapted['new'])}  {percent(adapted['hm'])}  {percent(adapted['all'])}"]
    return "\n".join(rows)


# --------------------------------------------------------------------------- arguments


def add_backbone_options(parser: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    group = parser.add_argument_group("backbone")
    group.add_argument("--model", default="ViT-B-16" if defaults else None,
                       help="open_clip architecture, e.g. ViT-B-16, or mma-tiny (the shipped toy model)"
                       + (" (default: ViT-B-16)" if defaults else " (default: the one the adapter was trained with)"))
    group.add_argument("--pretrained", default="openai" if defaults else None,
                       help="weights: an open_clip tag (openai, laion2b_s34b_b88k, ...), 'shapes' (mma-tiny demo), "
                       "'random' (tests only), a local .safetensors/.pt file, or local-dir:FOLDER")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    group.add_argument("--cache-dir", type=Path, default=None, help="feature cache folder (default: the user cache)")


def add_training_options(parser: argparse.ArgumentParser) -> None:
    from mma_studio.core.pipeline import PRESETS

    data = parser.add_argument_group("data and split")
    data.add_argument("--shots", type=int, default=16, help="training images per base class (default: 16)")
    data.add_argument("--val-per-class", type=int, default=4, help="validation images per base class (default: 4)")
    data.add_argument("--seed", type=int, default=42, help="seed for sampling and training (default: 42)")
    data.add_argument("--base-ratio", type=float, default=0.5,
                      help="share of classes (by sorted name) that are base, at least 2 (default: 0.5)")
    data.add_argument("--base-classes", default=None, help="comma-separated folder names to use as base classes")
    data.add_argument("--template", action="append", dest="templates", default=None,
                      help="prompt template with {} for the class name (repeatable; default: 'a photo of a {}.')")
    data.add_argument("--augment-views", type=int, default=None, help="cached augmented views per training image")

    train = parser.add_argument_group("training")
    train.add_argument("--preset", choices=list(PRESETS), default=None, help="Fast, Balanced or Best")
    train.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: 100)")
    train.add_argument("--lr", type=float, default=None, help="learning rate (default: 5e-3)")
    train.add_argument("--weight-decay", type=float, default=None, help="weight decay (default: 1e-4)")
    train.add_argument("--batch-size", type=int, default=None, help="batch size (default: 256)")
    train.add_argument("--patience", type=int, default=None, help="early-stopping patience in epochs; 0 disables")

    adapter = parser.add_argument_group("adapter")
    adapter.add_argument("--blend", "--lambda", dest="blend", type=float, default=0.2, help="blend factor λ (default: 0.2)")
    adapter.add_argument("--bottleneck-dim", type=int, default=None, help="attention width d (default: D/4)")
    adapter.add_argument("--heads", type=int, default=4, help="attention heads (default: 4)")
    adapter.add_argument("--adapt", choices=["both", "text", "image"], default="both", help="which side to adapt")
    adapter.add_argument("--mask", choices=["cross-modal", "full"], default="cross-modal", help="attention mask")
    adapter.add_argument("--projection", choices=["linear", "mlp"], default="linear", help="projection shape")


def settings_from_args(args):
    import dataclasses

    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.pipeline import RunSettings, apply_preset
    from mma_studio.core.training import TrainConfig

    try:
        settings = RunSettings(
            model=args.model, pretrained=args.pretrained, device=args.device, shots=args.shots,
            val_per_class=args.val_per_class, seed=args.seed, base_ratio=args.base_ratio,
            base_classes=[c.strip() for c in args.base_classes.split(",") if c.strip()] if args.base_classes else None,
            templates=args.templates or ["a photo of a {}."],
            adapter=AdapterConfig(bottleneck_dim=args.bottleneck_dim, heads=args.heads, blend=args.blend,
                                  adapt=args.adapt, mask=args.mask, projection=args.projection),
            training=TrainConfig(seed=args.seed),
        )
        if args.preset:
            settings = apply_preset(settings, args.preset)
        overrides = {name: getattr(args, name) for name in ("epochs", "lr", "weight_decay", "batch_size", "patience")
                     if getattr(args, name) is not None}
        if overrides:
            settings = dataclasses.replace(settings, training=dataclasses.replace(settings.training, **overrides))
        if args.augment_views is not None:
            settings = dataclasses.replace(settings, augment_views=args.augment_views)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    for template in settings.templates:
        if "{}" not in template:
            raise UserError(f"prompt template {template!r} needs a {{}} where the class name goes")
    if settings.shots < 0 or settings.val_per_class < 0 or settings.augment_views < 0:
        raise UserError("shots, validation images and augmented views cannot be negative")
    if not 0 < settings.base_ratio <= 1:
        raise UserError("--base-ratio must lie in (0, 1]")
    return settings


def make_cache(args):
    from mma_studio.core.feature_cache import FeatureCache

    return FeatureCache(args.cache_dir) if args.cache_dir else FeatureCache()


def scan(data_dir: Path, printer: ProgressPrinter, token):
    from mma_studio.core.dataset import scan_dataset

    result = scan_dataset(data_dir, on_progress=printer, token=token)
    printer.close()
    return result


# --------------------------------------------------------------------------- subcommands


def command_check(args, token) -> int:
    from mma_studio.core.dataset import dataset_advice
    from mma_studio.core.pipeline import check_trainable
    from mma_studio.core.split import SplitError, make_split

    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token)
    advice = dataset_advice(result, shots=args.shots, val_per_class=args.val_per_class)
    problems = []
    try:
        # The same test `train` applies, so `check` never passes a dataset `train` refuses.
        check_trainable(make_split(result, shots=args.shots, val_per_class=args.val_per_class, seed=args.seed))
    except SplitError as exc:
        problems.append(str(exc))
    if len(result.classes) < 1 or not any(c.images for c in result.classes):
        problems.append("no usable images in any class folder")
    trainable = not problems
    if args.json:
        data = result.to_dict()
        data["advice"] = advice
        data["problems"] = problems
        data["trainable"] = trainable
        print_json(data)
    else:
        print(f"{result.root}: {len(result.classes)} classes, {result.image_count} usable images, "
              f"{len(result.skipped)} skipped")
        width = max([len(c.name) for c in result.classes] + [5])
        for folder in result.classes:
            print(f"  {folder.name:<{width}}  {len(folder.images):6d}  \"{folder.display_name}\"")
        for skipped in result.skipped:
            print(f"skipped {skipped.path}: {skipped.reason}")
        for line in list(result.warnings) + list(advice):
            print(f"warning: {line}")
        for line in problems:
            print(f"cannot train: {line}")
    return EXIT_OK if trainable else EXIT_USER_ERROR


def command_train(args, token) -> int:
    from mma_studio.core.pipeline import train_adapter

    if args.output.suffix != ".safetensors":
        raise UserError(f"{args.output}: the adapter file name should end in .safetensors")
    settings = settings_from_args(args)
    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token)
    for skipped in result.skipped:
        eprint(f"skipped {skipped.path}: {skipped.reason}")

    def on_event(event) -> None:
        if args.json:
            print_json(event.to_dict())

    run = train_adapter(result, settings, cache=make_cache(args), on_progress=printer, on_event=on_event, token=token)
    printer.close()
    existed = args.output.exists()
    try:
        path = run.save(args.output)
    except OSError as exc:  # a full disk, a read-only folder: the earlier file is untouched
        kept = "the earlier file there is unchanged" if existed else "nothing was written"
        raise UserError(f"cannot write the adapter file {args.output} ({exc.strerror or exc}); {kept}") from None
    summary = {"event": "summary", **run.summary(), "adapter_file": str(path)}
    if args.json:
        print_json(summary)
    else:
        print(figures_table(summary))
        state = "cancelled at" if run.cancelled else ("stopped early at" if run.stopped_early else "ran")
        print(f"best epoch {run.best_epoch} ({state} {len(run.history)} epochs); adapter saved to {path}")
    return EXIT_OK


def _load_classifier_backbone(adapter_file, args, printer, token):
    from mma_studio.core.backbone import load_backbone
    from mma_studio.core.predict import backbone_arguments

    model, pretrained = backbone_arguments(adapter_file)
    return load_backbone(args.model or model, args.pretrained or pretrained, device=args.device,
                         on_progress=printer, token=token)


def command_eval(args, token) -> int:
    from mma_studio.core.adapter_file import load_adapter_file
    from mma_studio.core.folder_evaluation import evaluate_adapter_on_folder

    adapter_file = load_adapter_file(args.adapter_file)
    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token)
    backbone = _load_classifier_backbone(adapter_file, args, printer, token)
    evaluation = evaluate_adapter_on_folder(adapter_file, result, backbone, cache=make_cache(args),
                                            on_progress=printer, token=token)
    printer.close()
    summary = {"event": "summary", **evaluation.summary()}
    if args.json:
        summary["per_class"] = {"zero_shot": [m.to_dict() for m in evaluation.zero_shot.per_class],
                                "adapted": [m.to_dict() for m in evaluation.adapted.per_class]}
        print_json(summary)
    else:
        print(figures_table(summary))
        held = "training and validation images held out" if evaluation.held_out_training_images else "all images are test images"
        print(f"{len(evaluation.split.test_base)} base and {len(evaluation.split.test_new)} new test images ({held})")
    return EXIT_OK


def command_predict(args, token) -> int:
    from mma_studio.core.adapter_file import load_adapter_file
    from mma_studio.core.images import has_image_extension
    from mma_studio.core.predict import Classifier

    paths: list[Path] = []
    for item in args.images:
        if item.is_dir():
            paths.extend(sorted(p for p in item.rglob("*") if p.is_file() and has_image_extension(p)
                                and not any(part.startswith(".") for part in p.relative_to(item).parts)))
        elif item.exists():
            paths.append(item)
        else:
            raise UserError(f"{item}: no such file or folder")
    if not paths:
        raise UserError("no images to classify")
    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    adapter_file = load_adapter_file(args.adapter_file)
    printer = ProgressPrinter(not args.quiet)
    backbone = _load_classifier_backbone(adapter_file, args, printer, token)
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    try:
        classifier = Classifier(backbone, adapter_file, classes)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    predictions = classifier.classify_paths(paths, args.top_k, on_progress=printer, token=token)
    printer.close()
    for prediction in predictions:
        if args.json:
            print_json(prediction.to_dict())
        elif prediction.error:
            print(f"{prediction.path}: skipped ({prediction.error})")
        else:
            tops = ", ".join(f"{label} {100 * p:.1f}%" for label, p in zip(prediction.labels, prediction.probabilities))
            print(f"{prediction.path}: {tops}")
    return EXIT_OK


def command_example(args, token) -> int:
    from mma_studio.toy.example_dataset import write_example_dataset

    printer = ProgressPrinter(not args.quiet)
    path = write_example_dataset(args.destination, per_class=args.per_class, seed=args.seed,
                                 on_progress=printer, token=token)
    printer.close()
    if args.json:
        print_json({"event": "example", "path": str(path)})
    else:
        print(f"example dataset written to {path}")
        print(f"train on it: mma-studio train {path} --model mma-tiny --pretrained shapes -o shapes-adapter.safetensors")
    return EXIT_OK


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    from mma_studio import __version__

    parser = argparse.ArgumentParser(
        prog="mma-studio",
        description="Adapt a frozen CLIP model to your image classes with the Multi-Modal Adapter. "
        "Without a subcommand, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"mma-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p):
        p.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars on stderr")
        p.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")

    check = sub.add_parser("check", help="scan a dataset folder and report usable images and problems",
                           description="Scan DATA_DIR (one sub-folder per class) and report what is usable.")
    check.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    check.add_argument("--shots", type=int, default=16, help="shots you plan to train with (default: 16)")
    check.add_argument("--val-per-class", type=int, default=4, help="validation images per base class (default: 4)")
    check.add_argument("--seed", type=int, default=42)
    common(check)

    train = sub.add_parser("train", help="train an adapter on a dataset folder and save it",
                           description="Extract features (cached), train the adapter on the base classes, "
                           "report zero-shot and adapted base/new/HM, and save the adapter file.")
    train.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    train.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.safetensors")
    add_backbone_options(train)
    add_training_options(train)
    common(train)

    evaluate = sub.add_parser("eval", help="evaluate an adapter file on a dataset folder",
                              description="Score zero-shot CLIP and CLIP + adapter on DATA_DIR.")
    evaluate.add_argument("adapter_file", type=Path, metavar="FILE")
    evaluate.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    add_backbone_options(evaluate, defaults=False)
    common(evaluate)

    predict = sub.add_parser("predict", help="classify images with an adapter file",
                             description="Classify images (files or folders) into the adapter's classes, "
                             "or into any classes given with --classes.")
    predict.add_argument("adapter_file", type=Path, metavar="FILE")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE_OR_DIR")
    predict.add_argument("--classes", default=None, help="comma-separated class names (default: the adapter's)")
    predict.add_argument("--top-k", type=int, default=5)
    add_backbone_options(predict, defaults=False)
    common(predict)

    example = sub.add_parser("example", help="write the example dataset of shape classes",
                             description="Write the example dataset (generated shapes in a shifted domain) "
                             "that works offline with --model mma-tiny --pretrained shapes.")
    example.add_argument("destination", type=Path, metavar="FOLDER")
    example.add_argument("--per-class", type=int, default=40)
    example.add_argument("--seed", type=int, default=0)
    common(example)
    return parser


COMMANDS = {"check": command_check, "train": command_train, "eval": command_eval,
            "predict": command_predict, "example": command_example}


def user_error_types() -> tuple[type[BaseException], ...]:
    """Engine errors whose message is meant for the user (imported lazily: they pull in torch)."""
    from mma_studio.core.adapter_file import AdapterFileError
    from mma_studio.core.backbone import BackboneLoadError
    from mma_studio.core.dataset import DatasetError
    from mma_studio.core.predict import BackboneMismatchError
    from mma_studio.core.split import SplitError

    return (UserError, AdapterFileError, BackboneLoadError, DatasetError, BackboneMismatchError, SplitError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _print_any_file_name()
    if not argv:
        from mma_studio.ui.app import run_app

        return run_app([])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR

    import warnings

    from mma_studio.core.cancellation import Cancelled, CancelToken

    _configure_logging(quiet=getattr(args, "quiet", False))
    token = CancelToken()
    previous_showwarning = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _one_line_warning_printer(args.command)
    try:
        return COMMANDS[args.command](args, token)
    except KeyboardInterrupt:
        token.cancel()
        eprint("mma-studio: cancelled")
        return EXIT_CANCELLED
    except Cancelled:
        eprint("mma-studio: cancelled")
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - the CLI's contract: one line, no traceback
        if isinstance(exc, user_error_types()):
            eprint(f"mma-studio {args.command}: error: {_one_line(exc)}")
            return EXIT_USER_ERROR
        if getattr(args, "debug", False):
            raise
        eprint(f"mma-studio {args.command}: unexpected error: {type(exc).__name__}: {_one_line(exc)} "
               "(run again with --debug for details)")
        return EXIT_FAILURE
    finally:
        warnings.showwarning = previous_showwarning


def _print_any_file_name() -> None:
    """Print paths that are not valid UTF-8 (surrogate-escaped by Python) as their original
    bytes, as `ls` does, instead of failing with UnicodeEncodeError mid-report."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None or stream not in (sys.__stdout__, sys.__stderr__):
            continue  # a stream someone replaced (a test's capture): leave it as it is
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            try:
                reconfigure(errors="surrogateescape")
            except (ValueError, OSError, TypeError):
                pass


def _configure_logging(quiet: bool) -> None:
    """Library log records as one prefixed line each, never twice, and none with --quiet.

    open_clip logs through the root logger (which installs Python's default handler), and
    huggingface_hub has a handler of its own that also propagates to the root: without this,
    each download retry notice is printed twice, once as 'WARNING:huggingface_hub...:'."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("mma-studio: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    hub = logging.getLogger("huggingface_hub")
    if hub.handlers:
        hub.propagate = False
    hub.setLevel(logging.ERROR if quiet else logging.WARNING)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _one_line_warning_printer(command: str):
    """A `warnings.showwarning` that prints a warning (e.g. "features computed but not cached:
    disk full") as one readable line instead of Python's file:line format with a source excerpt."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = _one_line(message) if isinstance(message, BaseException) else " ".join(str(message).split())
        eprint(f"mma-studio {command}: warning: {text}")

    return show


if __name__ == "__main__":
    raise SystemExit(main())
