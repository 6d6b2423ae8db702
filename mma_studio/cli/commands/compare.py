"""`mma-studio compare DATA_DIR`: MMA against the methods a user would pick instead, on the same
cached features and split; with `--study`, one of the paper's ablation studies instead.

Prints one table (the best mean of each column marked; methods that score new classes
zero-shot marked †); `--json` prints one JSON object per table row, then one for the run;
`--markdown` prints the table as Markdown; `--plot FILE.svg` writes the chart.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mma_studio.cli.errors import EXIT_OK, UserError
from mma_studio.cli.options import (
    add_backbone_options,
    add_common_options,
    add_training_options,
)
from mma_studio.core.comparison_names import (
    ALL_METHODS,
    DEFAULT_METHODS,
    DEFAULT_SEEDS,
    STUDIES,
)

NAME = "compare"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="compare MMA with zero-shot, linear probe, CLIP-Adapter and Tip-Adapter(-F) on a dataset",
        description="Train and score several methods on the same split and cached features (each method's epoch "
        "or setting chosen on base validation only), over several seeds, and print base / new / HM / all "
        "accuracy, training time and trainable parameters (mean ± std). With --study, run one of the MMA paper's "
        "ablations instead: adapt (text only / image only / both), class-share (10%%..90%% of classes as base) "
        "or noise (Gaussian noise, std 0.3, on the test images).",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(ALL_METHODS),
        default=None,
        metavar="METHOD",
        help=f"methods to run (default: {' '.join(DEFAULT_METHODS)}; also: mma-text, mma-image)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=list(DEFAULT_SEEDS),
        metavar="SEED",
        help="seeds: each samples its own shots and initialises training (default: 1 2 3)",
    )
    parser.add_argument(
        "--study",
        choices=list(STUDIES),
        default=None,
        help="run one of the paper's ablation studies instead of the method comparison "
        "(default: off: the method comparison)",
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="FILE.svg",
        help="write the chart as SVG (default: off: no chart file)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="FILE.json",
        help="write every run, summary and setting as one JSON file (default: off: no file)",
    )
    add_backbone_options(parser)
    add_training_options(parser)
    add_common_options(parser)
    return parser


def run(args, token) -> int:
    from mma_studio.cli.commands.train import settings_from_args
    from mma_studio.cli.engine_steps import make_cache, scan
    from mma_studio.cli.output import out, print_json
    from mma_studio.cli.progress import ProgressPrinter

    if args.plot is not None and args.plot.suffix.lower() != ".svg":
        raise UserError(f"{args.plot}: the chart is written as SVG; give a file name ending in .svg")
    if len(set(args.seeds)) != len(args.seeds):
        raise UserError("--seeds lists a seed twice")
    settings = settings_from_args(args)
    printer = ProgressPrinter(not args.quiet)
    result_scan = scan(args.data_dir, printer, token, note_skipped=True)

    def progress(event) -> None:
        """Extraction and the per-(method, seed) progress; a method's epochs are too brief for a bar each."""
        if event.stage != "train":
            printer(event)

    result: Any  # a StudyResult or a ComparisonResult: both have dataset, settings, seeds, to_json()
    try:
        if args.study:
            from mma_studio.core.studies import run_study

            result = run_study(
                args.study,
                result_scan,
                settings,
                args.seeds,
                methods=args.methods,
                cache=make_cache(args),
                on_progress=progress,
                token=token,
            )
            table, chart, rows, notes = result.table, result.chart, result.table.to_dict()["rows"], result.notes
        else:
            from mma_studio.core.comparison import compare_methods, comparison_chart

            result = compare_methods(
                result_scan,
                settings,
                args.methods or DEFAULT_METHODS,
                args.seeds,
                cache=make_cache(args),
                on_progress=progress,
                token=token,
            )
            summaries = result.summaries
            table, chart = result.table(), comparison_chart(summaries)
            rows = [
                {**s.to_dict(), "runs": [r.to_dict() for r in result.runs if r.method == s.method]} for s in summaries
            ]
            notes = result.warnings
    except ValueError as exc:
        if type(exc) is not ValueError:
            raise
        raise UserError(str(exc)) from None
    finally:
        printer.close()
    _write_files(args, result, chart)
    if args.json:
        for row in rows:
            print_json({"event": "study_row" if args.study else "method", **row})
        print_json(
            {
                "event": "summary",
                "study": args.study,
                "dataset": result.dataset,
                "settings": result.settings,
                "seeds": result.seeds,
                "footnotes": table.footnotes,
                "warnings": notes,
            }
        )
    else:
        for line in (table.to_markdown() if args.markdown else table.to_text()).splitlines():
            out(line)
        for line in notes:
            out(f"note: {line}")
        out(f"backbone: {result.settings.get('backbone', '')}; {result.settings['shots']} shots per base class")
    return EXIT_OK


def _write_files(args, result, chart) -> None:
    from mma_studio.core.comparison_files import write_results_json
    from mma_studio.core.svg_chart import write_chart_svg

    for path, write in (
        (args.plot, lambda p: write_chart_svg(chart, p)),
        (args.output, lambda p: write_results_json(result, p)),
    ):
        if path is None:
            continue
        try:
            write(path)
        except OSError as exc:
            raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
