"""`python -m mma_studio.toy`: pretrain the toy CLIP, evaluate it, or write the example dataset.

python -m mma_studio.toy train [--steps N] [--seed S] [--out PATH]
python -m mma_studio.toy eval [--weights PATH]
python -m mma_studio.toy example FOLDER [--per-class N] [--seed S]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from mma_studio.toy.pretrain import WEIGHTS_FILENAME, PretrainConfig


def _print_report(report: dict) -> None:
    print(
        f"zero-shot accuracy among {report['classes']} captions: "
        f"seen combinations {100 * report['seen']:.1f}% ({report['seen_images']} images), "
        f"held-out combinations {100 * report['held_out']:.1f}% ({report['held_out_images']} images)"
    )


def command_train(args) -> int:
    from mma_studio.toy.pretrain import pretrain, save_weights

    defaults = PretrainConfig()
    config = dataclasses.replace(
        defaults,
        steps=args.steps if args.steps is not None else defaults.steps,
        seed=args.seed,
        batch_size=args.batch_size if args.batch_size is not None else defaults.batch_size,
        lr=args.lr if args.lr is not None else defaults.lr,
        eval_per_combo=args.eval_per_combo if args.eval_per_combo is not None else defaults.eval_per_combo,
    )
    every = max(1, config.steps // 40)

    def on_step(step: int, steps: int, loss: float, images_per_s: float) -> None:
        if step % every == 0 or step == steps:
            eta = (steps - step) * config.batch_size / images_per_s
            print(
                f"step {step}/{steps}  loss {loss:.3f}  {images_per_s:.0f} img/s  eta {eta:.0f}s",
                file=sys.stderr,
                flush=True,
            )

    model, summary = pretrain(config, on_step=on_step)
    path = save_weights(model, args.out, summary)
    if args.json:
        print(json.dumps({**summary, "path": str(path)}))
    else:
        _print_report(summary["zero_shot"])
        print(f"trained {config.steps} steps in {summary['wall_s']:.0f}s; weights written to {path}")
    return 0


def command_eval(args) -> int:
    from mma_studio.toy.pretrain import load_shapes_model, shipped_weights_path, zero_shot_report

    path = args.weights or shipped_weights_path()
    if not Path(path).is_file():
        print(f"error: no weights file at {path}", file=sys.stderr)
        return 2
    report = zero_shot_report(load_shapes_model(path), per_combo=args.per_combo).to_dict()
    if args.json:
        print(json.dumps({**report, "path": str(path)}))
    else:
        print(f"weights: {path}")
        _print_report(report)
    return 0


def command_example(args) -> int:
    from mma_studio.toy.example_dataset import write_example_dataset

    try:
        path = write_example_dataset(args.destination, per_class=args.per_class, seed=args.seed)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"example dataset written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mma_studio.toy", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="pretrain mma-tiny from scratch on generated shapes")
    train.add_argument("--steps", type=int, help=f"optimizer steps (default {PretrainConfig.steps})")
    train.add_argument("--seed", type=int, default=PretrainConfig.seed)
    train.add_argument("--batch-size", type=int, help=f"images per step (default {PretrainConfig.batch_size})")
    train.add_argument("--lr", type=float, help=f"peak learning rate (default {PretrainConfig.lr})")
    train.add_argument("--eval-per-combo", type=int, help="evaluation images per colour-shape combination")
    train.add_argument(
        "--out",
        type=Path,
        default=Path(WEIGHTS_FILENAME),
        help=f"where to write the float16 safetensors file (default ./{WEIGHTS_FILENAME})",
    )
    train.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    train.set_defaults(func=command_train)

    evaluate = sub.add_parser("eval", help="zero-shot accuracy of the shipped (or given) weights")
    evaluate.add_argument("--weights", type=Path, help="a weights file (default: the shipped one)")
    evaluate.add_argument("--per-combo", type=int, default=PretrainConfig.eval_per_combo)
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=command_eval)

    example = sub.add_parser("example", help="write the example dataset (shape classes, shifted domain)")
    example.add_argument("destination", type=Path, metavar="FOLDER")
    example.add_argument("--per-class", type=int, default=40)
    example.add_argument("--seed", type=int, default=0)
    example.set_defaults(func=command_example)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
