"""`mma-studio extract DATA_DIR`: fill the feature cache, on one device or, under torchrun,
on many (`torchrun --nproc-per-node G -m mma_studio extract DATA_DIR ...`): each rank takes a
disjoint shard of the files on its own device and writes into the shared cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from mma_studio.cli.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from mma_studio.cli.options import add_backbone_options, add_common_options
from mma_studio.cli.output import eprint, out, print_json
from mma_studio.core.run_defaults import EXTRACTION_BATCH_SIZE

NAME = "extract"


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        NAME,
        help="extract image features into the cache (shards across torchrun ranks)",
        description="Encode every image of DATA_DIR (one sub-folder per class) into the feature cache, so that "
        "training and evaluation only read it. Launched by torchrun (torchrun --nproc-per-node G -m mma_studio "
        "extract DATA_DIR ...), each rank encodes a disjoint shard of the files on its own GPU into the shared "
        "cache. With --datasets, DATA_DIR is a data root in CoOp's layout and the images are those `reproduce` "
        "reads for the given seeds and shots.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        metavar="NAME",
        help="treat DATA_DIR as a CoOp data root and extract these datasets' protocol images ('all': the 11) "
        "(default: off: DATA_DIR holds one sub-folder per class)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="with --datasets (default: 1 2 3)")
    parser.add_argument("--shots", type=int, default=16, help="with --datasets (default: 16)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"images per forward pass (default: {EXTRACTION_BATCH_SIZE['gpu']} on a GPU, "
        f"{EXTRACTION_BATCH_SIZE['cpu']} on the CPU)",
    )
    add_backbone_options(parser)
    add_common_options(parser)
    return parser


def _paths(args, token) -> list[Path]:
    if args.datasets:
        from mma_studio.core.protocols import ProtocolDataError
        from mma_studio.core.protocols.protocol_images import protocol_image_paths

        try:
            from mma_studio.core.protocols.registry import PAPER_ORDER

            names = list(PAPER_ORDER) if [n.lower() for n in args.datasets] == ["all"] else args.datasets
            paths, skipped = protocol_image_paths(args.data_dir, names, args.seeds, args.shots)
        except (KeyError, ValueError, ProtocolDataError) as exc:
            raise UserError(str(exc).strip("'\"")) from None
        for name, lacking in skipped.items():
            eprint(f"mma-studio extract: {name} skipped, missing: {', '.join(lacking)}")
        return paths
    from mma_studio.core.dataset import scan_dataset

    scan = scan_dataset(args.data_dir, validate=False, token=token)
    return [path for folder in scan.classes for path in folder.images]


def run(args, token) -> int:
    import dataclasses

    from mma_studio.cli.progress import ProgressPrinter
    from mma_studio.core.sharded_extraction import RankInfo, extract_sharded

    try:
        info = RankInfo.from_env()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    printer = ProgressPrinter(not args.quiet and info.rank == 0)
    label = "images" if not info.distributed else f"images (rank 0's shard of {info.world_size})"

    def progress(event) -> None:
        printer(dataclasses.replace(event, message=label) if event.stage == "extract" else event)

    paths = _paths(args, token)
    if not paths:
        raise UserError(f"no images found in {args.data_dir}")
    report = extract_sharded(
        paths,
        model=args.model,
        pretrained=args.pretrained,
        device=args.device,
        cache_root=args.cache_dir,
        batch_size=args.batch_size,
        info=info,
        on_progress=progress,
        token=token,
    )
    printer.close()
    if info.rank != 0:
        return EXIT_OK
    if args.json:
        print_json(report.to_dict())
    else:
        out(
            f"{report.total} images: {report.encoded} encoded, {report.from_cache} already cached, "
            f"{len(report.failed)} unusable; {report.world_size} process(es); cache {report.cache_root}"
        )
        for rank in report.ranks:
            out(
                f"  rank {rank.rank} on {rank.device}: {rank.files} files, {rank.encoded} encoded, "
                f"{rank.from_cache} cached, {len(rank.failed)} unusable, {rank.seconds:.1f} s"
            )
        for path, reason in report.failed:
            out(f"skipped {path}: {reason}")
        for line in report.warnings:
            out(f"warning: {line}")
    return EXIT_OK if len(report.failed) < report.total else EXIT_USER_ERROR
