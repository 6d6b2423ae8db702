"""Pick the compute device and the matching mixed-precision context.

"auto" prefers a CUDA GPU, then Apple's MPS, then the CPU. An explicit request that this
machine cannot honour fails at once with a message saying what is available, instead of
surfacing later as an obscure CUDA error in the middle of extraction.
"""

from __future__ import annotations

import contextlib
import re

import torch


class DeviceError(ValueError):
    """The requested device does not exist on this machine (or the name is not understood)."""


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Device names this machine can run on, best first (for messages and choosers)."""
    names = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        names.append("mps")
    names.append("cpu")
    return names


def choose_device(requested: str | torch.device | None = "auto") -> torch.device:
    """Resolve "auto", "cpu", "cuda", "cuda:N", "gpu" or "mps" to a usable `torch.device`."""
    if isinstance(requested, torch.device):
        requested = str(requested)
    name = (requested or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "gpu":
        name = "cuda"
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match:
        if not torch.cuda.is_available():
            raise DeviceError(
                f"Device '{requested}' was requested but no CUDA GPU is usable here "
                f"(available: {', '.join(available_devices())}). Use --device auto or cpu."
            )
        index = int(match.group(1) or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"Device '{requested}' does not exist: this machine has {count} CUDA device(s) "
                f"(available: {', '.join(available_devices())})."
            )
        return torch.device("cuda", index) if match.group(1) is not None else torch.device("cuda")
    if name == "mps":
        if not _mps_available():
            raise DeviceError(
                f"Device 'mps' was requested but Apple's Metal backend is not available here "
                f"(available: {', '.join(available_devices())})."
            )
        return torch.device("mps")
    raise DeviceError(
        f"Unknown device '{requested}'. Use auto, cpu, cuda, cuda:N or mps "
        f"(available here: {', '.join(available_devices())})."
    )


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The half-precision dtype autocast uses on `device`, or None where we run float32."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return None


def autocast_context(device: torch.device | str):
    """bf16/fp16 `torch.autocast` on a GPU; a no-op on the CPU, where float32 is faster and exact."""
    device = torch.device(device)
    dtype = autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    try:
        return torch.autocast(device_type=device.type, dtype=dtype)
    except (RuntimeError, ValueError):  # an older torch without autocast for this backend
        return contextlib.nullcontext()
