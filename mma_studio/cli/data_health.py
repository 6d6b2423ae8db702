"""`check --deep`: the data doctor's findings, as lines of text or inside `check --json`.

The engine call is `core.doctor.examine_dataset` (the app's Health view runs the same one);
this module only turns its options into `RunSettings` and its report into output.
"""

from __future__ import annotations


def add_deep_options(parser) -> None:
    from mma_studio.cli.options import add_backbone_options

    parser.add_argument(
        "--deep",
        action="store_true",
        help="also look for duplicates, leaks across the split, likely label errors and outliers "
        "with a backbone (encodes every image once, then reads the feature cache)",
    )
    parser.add_argument(
        "--labels-from",
        choices=["auto", "adapter", "zero-shot"],
        default="auto",
        help="with --deep: predictions for label errors; auto = out-of-fold adapter predictions "
        "when every class has 4 images, else zero-shot (default: auto)",
    )
    add_backbone_options(parser)


def examine(result, args, printer, token):
    """The `DataHealthReport` of a scanned dataset, for `check --deep`."""
    from mma_studio.cli.engine_steps import make_cache
    from mma_studio.core.doctor import examine_dataset
    from mma_studio.core.pipeline import RunSettings

    settings = RunSettings(
        model=args.model,
        pretrained=args.pretrained,
        device=args.device,
        shots=args.shots,
        val_per_class=args.val_per_class,
        seed=args.seed,
    )
    report = examine_dataset(
        result, settings, cache=make_cache(args), label_source=args.labels_from, on_progress=printer, token=token
    )
    printer.close()
    return report


def print_report(report) -> None:
    from mma_studio.cli.output import out
    from mma_studio.core.doctor import KIND_ORDER, KIND_TITLES

    counts = report.counts()
    total = sum(counts.values())
    out(
        f"data health: {total} finding{'s' if total != 1 else ''} in {report.image_count} images "
        f"({report.seconds:.1f} s; label errors from {report.label_source})"
    )
    for kind in KIND_ORDER:
        found = report.of_kind(kind)
        if not found:
            continue
        out(f"{KIND_TITLES[kind]} ({len(found)}):")
        for finding in found:
            out(f"  [{kind} {finding.score:.3f}] {finding.message}")
            for index, path in enumerate(finding.paths):
                where = f"  ({finding.sets[index]})" if finding.sets and finding.sets[index] else ""
                out(f"      {path}{where}")
    for note in report.notes:
        out(f"note: {note}")
