"""Issue 6, item 1: one training step of the adapter, closed-form cross-modal path vs the plain
masked attention over B sequences of N+1 tokens.

Ours: `MultiModalAdapter.forward` with the cross-modal mask (`_cross_modal_logits`: class
tokens projected once per batch, the image query against N keys, logits from B×N dot
products). Baseline: the literal computation — B copies of [t_1..t_N, x], a masked
`nn.MultiheadAttention` over them (`adapted_embeddings`), logits by einsum over a B×N×D
tensor. Same module, same weights, same inputs; the two logit tensors are compared.

A step is forward + cross-entropy + backward. Time: median over interleaved rounds. Memory:
peak bytes of tensor storage created during one step (CPU: every operator's outputs tracked
until freed; CUDA: the allocator's peak).
"""

from __future__ import annotations

import gc

from bench_common import (
    PeakTensorMemory,
    apply_threads,
    base_parser,
    cost_row,
    emit,
    interleaved_medians,
    log,
    machine_description,
)

TARGET_N = 1000
MIN_RATIO = 20.0


def make_problem(num_classes: int, batch: int, dim: int, device: str, seed: int = 0):
    import torch

    from mma_studio.core.adapter import MultiModalAdapter

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = MultiModalAdapter(embed_dim=dim).to(device)
    image = torch.randn(batch, dim, generator=generator).to(device)
    text = torch.randn(num_classes, dim, generator=generator).to(device)
    labels = torch.randint(num_classes, (batch,), generator=generator).to(device)
    return adapter, image, text, labels


def fast_logits(adapter, image, text):
    return adapter(image, text)  # cross-modal mask -> the closed-form path


def plain_logits(adapter, image, text):
    import torch

    image_out, text_out = adapter.adapted_embeddings(image, text)  # B sequences of N+1 tokens
    return adapter.config.logit_scale * torch.einsum("bd,bnd->bn", image_out, text_out)


def training_step(logits_fn, adapter, image, text, labels) -> None:
    import torch.nn.functional as F

    adapter.zero_grad(set_to_none=True)
    loss = F.cross_entropy(logits_fn(adapter, image, text), labels)
    loss.backward()


def measure(
    num_classes: int, batch: int, dim: int, device: str, *, rounds: int, fast_repeats: int, warm_plain: bool = True
) -> dict:
    import torch

    adapter, image, text, labels = make_problem(num_classes, batch, dim, device)
    with torch.no_grad():
        difference = (fast_logits(adapter, image, text) - plain_logits(adapter, image, text)).abs().max().item()

    def fast():
        training_step(fast_logits, adapter, image, text, labels)

    def plain():
        training_step(plain_logits, adapter, image, text, labels)

    times = interleaved_medians(
        {"fast": fast, "plain": plain},
        rounds=rounds,
        repeats={"fast": fast_repeats},
        device=device,
        warmup={"fast": 2, "plain": 1 if warm_plain else 0},
    )
    memory = {}
    for name, fn in (("fast", fast), ("plain", plain)):
        adapter.zero_grad(set_to_none=True)
        gc.collect()
        with PeakTensorMemory(device) as peak:
            fn()
        memory[name] = peak.peak
    return {"times": times, "memory": memory, "max_abs_logit_diff": difference}


def main(argv=None) -> int:
    parser = base_parser(__doc__.splitlines()[0], device=True)
    parser.add_argument("--classes", type=int, nargs="+", default=None, help="N values (default 10 100 1000)")
    parser.add_argument("--batch", type=int, default=None, help="B (default 256)")
    parser.add_argument("--dim", type=int, default=None, help="D (default 512)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="interleaved rounds (default 5; 3 at N >= 1000 on CPU)"
    )
    args = parser.parse_args(argv)

    import torch

    apply_threads(args)
    torch.manual_seed(0)
    classes = args.classes or ([10, 30] if args.quick else [10, 100, 1000])
    batch = args.batch or (32 if args.quick else 256)
    dim = args.dim or (64 if args.quick else 512)
    log(f"attention_fast_path on {machine_description(args.device)}")
    rows = []
    for n in classes:
        heavy = n >= 1000 and not args.device.startswith("cuda")
        # On a CPU the plain path at N=1000 takes a minute or more per step: fewer rounds, no warm-up.
        rounds = args.rounds or (2 if args.quick or heavy else 5)
        log(f"  N={n}, B={batch}, D={dim}: {rounds} interleaved rounds ...")
        result = measure(
            n, batch, dim, args.device, rounds=rounds, fast_repeats=1 if args.quick else 10, warm_plain=not heavy
        )
        target = MIN_RATIO if n == TARGET_N else None
        note = f"B={batch}, D={dim}, fwd+CE+bwd, {args.device}; max |logit diff| {result['max_abs_logit_diff']:.1e}"
        rows.append(
            cost_row(
                f"adapter train step time, N={n}",
                result["times"]["fast"],
                result["times"]["plain"],
                "s",
                min_ratio=target,
                note=note,
            )
        )
        rows.append(
            cost_row(
                f"adapter train step peak memory, N={n}",
                result["memory"]["fast"],
                result["memory"]["plain"],
                "B",
                min_ratio=target,
            )
        )
    emit(rows, args, "attention_fast_path")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
