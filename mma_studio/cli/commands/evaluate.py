"""`mma-studio eval FILE DATA_DIR`: zero-shot CLIP and CLIP + adapter scored on a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK
from mma_studio.cli.options import add_backbone_options, add_common_options

NAME = "eval"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="evaluate an adapter file on a dataset folder",
        description="Score zero-shot CLIP and CLIP + adapter on DATA_DIR.",
    )
    parser.add_argument("adapter_file", type=Path, metavar="FILE")
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    add_backbone_options(parser, defaults=False)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import (
        check_device,
        load_classifier_backbone,
        make_cache,
        scan,
    )
    from mma_studio.cli.output import figures_table, out, print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.adapter_file import load_adapter_file
    from mma_studio.core.class_coverage import class_coverage
    from mma_studio.core.folder_evaluation import evaluate_adapter_on_folder

    check_device(args)
    adapter_file = load_adapter_file(args.adapter_file)
    printer = ProgressPrinter(not args.quiet)
    result = scan(args.data_dir, printer, token, note_skipped=True)
    backbone = load_classifier_backbone(adapter_file, args, printer, token)
    evaluation = evaluate_adapter_on_folder(
        adapter_file, result, backbone, cache=make_cache(args), on_progress=printer, token=token
    )
    printer.close()
    summary = {"event": "summary", **evaluation.summary(), **class_coverage(adapter_file, result)}
    if args.json:
        summary["per_class"] = {
            "zero_shot": [m.to_dict() for m in evaluation.zero_shot.per_class],
            "adapted": [m.to_dict() for m in evaluation.adapted.per_class],
        }
        print_json(summary)
    else:
        for line in figures_table(summary):
            out(line)
        held = (
            "training and validation images held out"
            if evaluation.held_out_training_images
            else "all images are test images"
        )
        out(f"{len(evaluation.split.test_base)} base and {len(evaluation.split.test_new)} new test images ({held})")
        note = coverage_note(summary)
        if note:
            out(note)
    return EXIT_OK


def coverage_note(summary: dict) -> str:
    total, evaluated = summary["adapter_classes"], len(summary["evaluated_classes"])
    missing, unknown = summary["adapter_classes_missing"], summary["classes_unknown_to_adapter"]
    if not missing and not unknown:
        return ""
    parts = [
        (
            f"note: scored among the {evaluated} classes in this folder, not among all {total} classes the "
            f"adapter knows, so these figures are not comparable with a {total}-class evaluation"
        )
    ]
    if missing:
        parts.append(f"{len(missing)} of the adapter's classes are not in this folder")
    if unknown:
        parts.append(f"{len(unknown)} folder classes are not the adapter's and count as new")
    return "; ".join(parts)
