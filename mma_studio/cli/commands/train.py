"""`mma-studio train DATA_DIR -o FILE`: extract, train, evaluate and save an adapter."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.commands.export import (
    add_export_options,
    export_after_training,
    export_options,
    print_export_result,
    wants_export,
)
from mma_studio.cli.errors import EXIT_OK, UserError
from mma_studio.cli.options import (
    add_backbone_options,
    add_common_options,
    add_training_options,
)

NAME = "train"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="train an adapter on a dataset folder and save it",
        description="Extract features (cached), train the adapter on the base classes, "
        "report zero-shot and adapted base/new/HM, and save the adapter file.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.safetensors")
    add_backbone_options(parser)
    add_training_options(parser)
    add_export_options(parser, metrics_from_folder=False)
    add_common_options(parser)
    return parser


def settings_from_args(args):
    import dataclasses

    from mma_studio.core.adapter import AdapterConfig
    from mma_studio.core.pipeline import RunSettings, apply_preset, check_run_settings
    from mma_studio.core.run_defaults import DEFAULT_TEMPLATES
    from mma_studio.core.training import TrainConfig

    try:
        settings = RunSettings(
            model=args.model,
            pretrained=args.pretrained,
            device=args.device,
            shots=args.shots,
            val_per_class=args.val_per_class,
            seed=args.seed,
            base_ratio=args.base_ratio,
            base_classes=args.base_classes,
            templates=args.templates or list(DEFAULT_TEMPLATES),
            adapter=AdapterConfig(
                bottleneck_dim=args.bottleneck_dim,
                heads=args.heads,
                blend=args.blend,
                adapt=args.adapt,
                mask=args.mask,
                projection=args.projection,
            ),
            training=TrainConfig(seed=args.seed),
        )
        if args.preset:
            settings = apply_preset(settings, args.preset)
        overrides = {
            name: getattr(args, name)
            for name in ("epochs", "lr", "weight_decay", "batch_size", "patience")
            if getattr(args, name) is not None
        }
        if overrides:
            settings = dataclasses.replace(settings, training=dataclasses.replace(settings.training, **overrides))
        if args.augment_views is not None:
            settings = dataclasses.replace(settings, augment_views=args.augment_views)
        check_run_settings(settings)  # the engine's rules, before any file is read
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return settings


def check_output(path: Path) -> None:
    """Before minutes of work: the adapter file (and its temporary sibling) can be created
    there, so a name too long or a folder not writable fails now, not after training."""
    from mma_studio.core.atomic_write import ensure_writable

    try:
        ensure_writable(path)
    except OSError as exc:
        raise UserError(
            f"cannot write the adapter file {path} ({exc.strerror or exc}); choose another name or folder"
        ) from None


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import check_device, make_cache, scan
    from mma_studio.cli.output import figures_table, out, print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.backbone import BackboneLoadError
    from mma_studio.core.pipeline import train_adapter

    if args.output.suffix != ".safetensors":
        raise UserError(f"{args.output}: the adapter file name should end in .safetensors")
    settings = settings_from_args(args)
    export = export_options(args) if wants_export(args) else None  # checked before minutes of training
    check_device(args)
    check_output(args.output)
    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token, note_skipped=True)

    def on_event(event) -> None:
        if args.json:
            print_json(event.to_dict())

    try:
        run = train_adapter(
            result, settings, cache=make_cache(args), on_progress=printer, on_event=on_event, token=token
        )
    except BackboneLoadError as exc:
        raise UserError(f"{exc}{offline_hint(args)}") from None
    printer.close()
    if export is not None:  # the app's export set: adapter, card, metrics, ONNX, each checked
        exported = export_after_training(run, args.output, export, args.metrics, printer, token)
        printer.close()
        path = args.output
    else:
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
        for line in figures_table(summary):
            out(line)
        for line in run.warnings:  # leaks, unreadable files, a role with nothing left to test
            out(f"warning: {line}")
        state = "cancelled at" if run.cancelled else ("stopped early at" if run.stopped_early else "ran")
        out(f"best epoch {run.best_epoch} ({state} {len(run.history)} epochs); adapter saved to {path}")
    return print_export_result(exported, args) if export is not None else EXIT_OK


def offline_hint(args) -> str:
    """The offline route, for a failure to load the default backbone (usually: no network)."""
    from mma_studio.core.run_defaults import (
        DEFAULT_MODEL,
        OFFLINE_MODEL,
        OFFLINE_PRETRAINED,
    )

    if args.model != DEFAULT_MODEL:
        return ""
    return (
        f". Without a network, the shipped toy backbone works offline: --model {OFFLINE_MODEL} "
        f"--pretrained {OFFLINE_PRETRAINED} (try it on `mma-studio example shapes`)"
    )
