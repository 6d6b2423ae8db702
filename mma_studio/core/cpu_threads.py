"""How many CPU threads torch may use for a piece of work, restored afterwards.

torch's intra-op threads spin while they wait; when they outnumber the free cores (decode
workers, the GUI thread, other programs) small operations slow down many times over. Work
whose operations are small runs on fewer threads than torch's default.
"""

from __future__ import annotations

import contextlib
import os

import torch


@contextlib.contextmanager
def torch_threads(target: int):
    """Run the body with `target` intra-op threads (never more than torch's current setting)."""
    previous = torch.get_num_threads()
    target = max(1, min(previous, int(target)))
    if target == previous:
        yield
        return
    torch.set_num_threads(target)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def adapter_training_threads() -> int:
    """Half the cores: the adapter's matrices are small (B x N x d), and on 2 cores a training
    step measured 4-8x slower with 2 threads than with 1 whenever anything else ran."""
    return max(1, (os.cpu_count() or 1) // 2)
