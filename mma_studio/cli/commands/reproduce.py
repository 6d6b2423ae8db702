"""`mma-studio reproduce --data-root DIR`: the paper's base-to-new protocol on the paper's 11
datasets (CoOp's layouts), with the zero-shot row beside CoCoOp's published CLIP figures.

Resumable: finished (dataset, seed, method) cells stay in `<out>/results.json`; a rerun with
the same settings continues. Writes table.md, table.csv and table.json in the output folder
and prints the Markdown table (or, with --json, one JSON object)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK, UserError
from mma_studio.cli.options import add_backbone_options, add_common_options
from mma_studio.core.comparison_names import ALL_METHODS
from mma_studio.core.protocols.registry import PAPER_ORDER
from mma_studio.core.run_defaults import TRAINING_DEFAULTS

NAME = "reproduce"
DEFAULT_METHODS = ("zero-shot", "mma")


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="the paper's base-to-new protocol on its 11 datasets (CoOp layouts)",
        description="Run CoCoOp's base-to-new protocol (first half of the labels base, k shots and min(k, 4) "
        "validation images per class and seed, CoOp's prompt template per dataset) on the datasets found under "
        "--data-root in CoOp's layout (see its DATASETS.md), and write the paper-style table (Markdown, CSV, "
        "JSON) with the zero-shot row beside CoCoOp's published CLIP figures. A missing dataset is skipped "
        "with the files it lacks; a rerun continues where the last one stopped.",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        required=True,
        metavar="DIR",
        help="the folder holding imagenet/, caltech-101/, oxford_pets/, ... as CoOp lays them out",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=list(PAPER_ORDER),
        metavar="NAME",
        help=f"datasets (default: all 11: {' '.join(PAPER_ORDER)})",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], metavar="SEED", help="(default: 1 2 3)")
    parser.add_argument("--shots", type=int, default=16, help="training images per base class (default: 16)")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(ALL_METHODS),
        default=list(DEFAULT_METHODS),
        metavar="METHOD",
        help=f"methods (default: {' '.join(DEFAULT_METHODS)}; choose from {', '.join(ALL_METHODS)})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("mma-reproduce"),
        metavar="DIR",
        help="output folder: results.json (kept between runs) and the tables (default: ./mma-reproduce)",
    )
    training = parser.add_argument_group("MMA training (default: the product's, as the authors' code)")
    defaults = TRAINING_DEFAULTS  # TrainConfig's, which a run keeps where an option is not given
    training.add_argument(
        "--epochs", type=int, default=None, help=f"most training epochs (default: {defaults['epochs']})"
    )
    training.add_argument("--lr", type=float, default=None, help=f"learning rate (default: {defaults['lr']:g})")
    training.add_argument(
        "--batch-size", type=int, default=None, help=f"training samples per step (default: {defaults['batch_size']})"
    )
    training.add_argument(
        "--patience",
        type=int,
        default=None,
        help=f"early-stopping patience in epochs; 0 disables (default: {defaults['patience']})",
    )
    add_backbone_options(parser)
    add_common_options(parser)
    return parser


def settings_from_args(args):
    import dataclasses

    from mma_studio.core.protocols.reproduce import ReproduceSettings
    from mma_studio.core.training import TrainConfig

    if len(set(args.seeds)) != len(args.seeds):
        raise UserError("--seeds lists a seed twice")
    try:
        from mma_studio.core.protocols.registry import get_spec

        datasets = [get_spec(name).name for name in args.datasets]
        overrides = {
            k: getattr(args, k) for k in ("epochs", "lr", "batch_size", "patience") if getattr(args, k) is not None
        }
        training = dataclasses.replace(TrainConfig(), **overrides)
    except KeyError as exc:
        raise UserError(str(exc).strip("'\"")) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if args.shots < 1:
        raise UserError(f"--shots must be at least 1, got {args.shots}")
    return ReproduceSettings(
        data_root=args.data_root,
        out_dir=args.out,
        datasets=datasets,
        seeds=list(args.seeds),
        shots=args.shots,
        methods=list(dict.fromkeys(args.methods)),
        model=args.model,
        pretrained=args.pretrained,
        device=args.device,
        training=training,
    )


def run(args, token) -> int:
    from mma_studio.cli.engine_steps import make_cache
    from mma_studio.cli.output import eprint, out, print_json
    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.protocols.reproduce import run_reproduction
    from mma_studio.core.protocols.results_store import ResultsConflictError
    from mma_studio.core.protocols.spec import ProtocolDataError

    settings = settings_from_args(args)
    if not args.data_root.is_dir():
        raise UserError(f"{args.data_root}: no such folder")
    printer = ProgressPrinter(not args.quiet)
    try:
        result = run_reproduction(settings, cache=make_cache(args), on_progress=printer, token=token)
    except (ResultsConflictError, ProtocolDataError) as exc:
        raise UserError(str(exc)) from None
    finally:
        printer.close()
    for skipped in result.skipped:
        eprint(
            f"mma-studio reproduce: {skipped.name} skipped: "
            + (f"missing {', '.join(skipped.missing)}" if skipped.missing else skipped.reason)
        )
    eprint(
        f"mma-studio reproduce: {result.computed} cell(s) run now, {result.reused} kept from earlier runs; "
        f"tables in {result.files['markdown'].parent}"
    )
    if args.json:
        import json

        table = json.loads(result.files["json"].read_text(encoding="utf-8"))
        print_json(
            {
                **table,
                "computed": result.computed,
                "reused": result.reused,
                "files": {k: str(v) for k, v in result.files.items()},
            }
        )
    else:
        for line in result.files["markdown"].read_text(encoding="utf-8").splitlines():
            out(line)
    if not result.rows and result.skipped:
        raise UserError("no dataset could be read under " + str(args.data_root))
    return EXIT_OK
