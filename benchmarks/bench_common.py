"""What every benchmark script shares: result rows, the command line, interleaved timing and
peak tensor memory.

Each script measures ours and a baseline *in the same run*, interleaved, and reports medians,
because the machines these run on are shared and absolute times drift. A row says what was
measured, both figures, how many times better ours is, the target and whether it was met.
`--json` prints one JSON object per row (what `run_all.py` collects); otherwise a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `python benchmarks/x.py` from anywhere, without installing
    sys.path.insert(0, ROOT)


@dataclass
class Row:
    """One measured figure. `ratio` is always "times better than the baseline" (>1 = ours wins)."""

    figure: str
    ours: float
    baseline: float | None
    unit: str
    ratio: float | None
    target: str  # human-readable, e.g. ">= 20x" or "< 100 ms"; "" = reported only
    met: bool | None  # None when there is no target
    note: str = ""
    script: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Row:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


def cost_row(
    figure: str, ours: float, baseline: float, unit: str, *, min_ratio: float | None = None, note: str = ""
) -> Row:
    """A cost (time, bytes) where smaller is better: ratio = baseline / ours."""
    ratio = baseline / ours if ours > 0 else math.inf
    met = None if min_ratio is None else ratio >= min_ratio
    target = f">= {min_ratio:g}x" if min_ratio is not None else ""
    return Row(figure, ours, baseline, unit, ratio, target, met, note)


def rate_row(
    figure: str, ours: float, baseline: float, unit: str, *, min_ratio: float | None = None, note: str = ""
) -> Row:
    """A rate (images/s) where larger is better: ratio = ours / baseline."""
    ratio = ours / baseline if baseline > 0 else math.inf
    met = None if min_ratio is None else ratio >= min_ratio
    target = f">= {min_ratio:g}x" if min_ratio is not None else ""
    return Row(figure, ours, baseline, unit, ratio, target, met, note)


# --------------------------------------------------------------------------- output


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.0f} µs"
        if value < 1:
            return f"{value * 1e3:.1f} ms"
        if value >= 120:
            return f"{value / 60:.1f} min"
        return f"{value:.2f} s"
    if unit == "B":
        for scale, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(value) >= scale:
                return f"{value / scale:.1f} {name}"
        return f"{value:.0f} B"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:.3g} {unit}".strip()


def format_ratio(ratio: float | None, target: str = "") -> str:
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "—"
    if math.isinf(ratio):
        return "inf"
    if "%" in target:  # a target stated as a percentage reads best as one
        return f"{ratio:.0%}"
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:.0f}x"


def format_met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "NO")


def render_table(rows: Sequence[Row]) -> str:
    header = ("figure", "ours", "baseline", "ratio", "target", "met")
    body = [
        (
            r.figure,
            format_value(r.ours, r.unit),
            format_value(r.baseline, r.unit),
            format_ratio(r.ratio, r.target),
            r.target or "—",
            format_met(r.met),
        )
        for r in rows
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *body)]
    lines = [" | ".join(str(x).ljust(w) for x, w in zip(header, widths))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(str(x).ljust(w) for x, w in zip(line, widths)) for line in body]
    notes = [f"  {r.figure}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["notes:"] + notes if notes else []))


def render_markdown(rows: Sequence[Row]) -> str:
    lines = ["| figure | ours | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.figure} | {format_value(r.ours, r.unit)} | {format_value(r.baseline, r.unit)} | "
            f"{format_ratio(r.ratio, r.target)} | {r.target or '—'} | {format_met(r.met)} |"
        )
    return "\n".join(lines)


def emit(rows: Sequence[Row], args: argparse.Namespace, script: str) -> None:
    for row in rows:
        row.script = script
    if args.json:
        for row in rows:
            print(json.dumps(row.to_dict()), flush=True)
    else:
        print(render_table(rows), flush=True)


def base_parser(description: str, *, device: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, not the figures")
    parser.add_argument("--json", action="store_true", help="print one JSON object per result row")
    if device:
        parser.add_argument("--device", default="cpu", help="cpu (default) or cuda / cuda:N")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice, one per core)"
    )
    return parser


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's thread count when asked; on a loaded machine 1 thread measures steadier."""
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def log(message: str) -> None:
    """Progress for the person waiting; stderr, so stdout stays the result."""
    print(message, file=sys.stderr, flush=True)


def machine_description(device: str = "cpu") -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    text = (
        f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}, {platform.system()}"
    )
    if device.startswith("cuda") and torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(torch.device(device))}"
    return text


# --------------------------------------------------------------------------- timing


def synchronize(device: str) -> None:
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_call(fn: Callable[[], object], device: str = "cpu") -> float:
    synchronize(device)
    started = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - started


def interleaved_medians(
    contenders: dict[str, Callable[[], object]],
    *,
    rounds: int,
    repeats: dict[str, int] | None = None,
    device: str = "cpu",
    warmup: int | dict[str, int] = 1,
) -> dict[str, float]:
    """Median seconds per call of each contender, measured round-robin so that a noisy
    neighbour slows all contenders alike. `repeats[name]` calls of a contender per round;
    `warmup` untimed calls first (a dict sets it per contender: a minute-long call needs none)."""
    repeats = repeats or {}
    for name, fn in contenders.items():
        for _ in range(warmup.get(name, 1) if isinstance(warmup, dict) else warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            for _ in range(repeats.get(name, 1)):
                samples[name].append(time_call(fn, device))
    return {name: statistics.median(values) for name, values in samples.items()}


# --------------------------------------------------------------------------- memory


class PeakTensorMemory:
    """Peak bytes of tensor storage allocated inside the block, beyond what was live before.

    CPU: a TorchDispatchMode sees every tensor an operator creates (forward and backward),
    and a weak reference on each new storage notices when it is freed; the running sum of
    live new storages gives the peak. PyTorch keeps one Python object per storage, so views
    and in-place results are counted once. CUDA: the allocator's own peak statistics.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.device = str(device)
        self.peak = 0
        self._mode = None

    def __enter__(self) -> PeakTensorMemory:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._start = torch.cuda.memory_allocated()
        else:
            self._mode = _StorageTracker()
            self._mode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() - self._start
        else:
            self._mode.__exit__(*exc)
            self.peak = self._mode.peak


def _storage_tracker_class():
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class Tracker(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.live = 0
            self.peak = 0
            self._refs: dict[int, weakref.ref] = {}

        def _freed(self, key: int, nbytes: int) -> None:
            if self._refs.pop(key, None) is not None:
                self.live -= nbytes

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for value in tree_flatten(out)[0]:
                if isinstance(value, torch.Tensor) and value.device.type == "cpu":
                    storage = value.untyped_storage()
                    key = id(storage)
                    if key in self._refs or storage.nbytes() == 0:
                        continue
                    nbytes = storage.nbytes()
                    self._refs[key] = weakref.ref(storage, lambda _ref, k=key, n=nbytes: self._freed(k, n))
                    self.live += nbytes
                    self.peak = max(self.peak, self.live)
            return out

    return Tracker


def _StorageTracker():
    return _storage_tracker_class()()


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux/macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss_bytes()


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


# --------------------------------------------------------------------------- test images


def write_photo_like_jpegs(
    folder,
    count: int,
    *,
    classes: int = 1,
    size: tuple[int, int] = (500, 375),
    seed: int = 0,
    quality: int = 90,
) -> list:
    """`count` JPEGs of `size` (width, height) spread over `classes` sub-folders.

    Smooth colour gradients plus mild noise: the file size and decoding cost of an ordinary
    photo (~30-60 KB at 500x375), unlike flat colours (too cheap) or pure noise (too dear).
    Returns the paths in class order.
    """
    from pathlib import Path

    import numpy as np
    from PIL import Image

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.arange(width, dtype=np.float32)
    y = np.arange(height, dtype=np.float32)
    noise_bank = [rng.normal(0, 6, (height, width, 3)).astype(np.float32) for _ in range(4)]
    paths = []
    for index in range(count):
        klass = index % classes
        target = folder / f"class_{klass:03d}"
        target.mkdir(parents=True, exist_ok=True)
        phase = rng.uniform(0, 2 * np.pi, 3)
        scale = rng.uniform(20, 120, 3)
        pixels = np.stack(
            [np.outer(np.cos(y / (1.3 * scale[c]) - phase[c]), np.sin(x / scale[c] + phase[c])) for c in range(3)],
            axis=-1,
        )
        pixels = 127 + 100 * pixels + noise_bank[index % len(noise_bank)]
        path = target / f"img_{index:06d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=quality)
        paths.append(path)
    return sorted(paths)
