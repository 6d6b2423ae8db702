"""Is the optional `[onnx]` extra installed? Asked without importing it.

`onnx` and `onnxruntime` are large and slow to import, so the app asks `find_spec` (which
only looks for the package on disk) when it opens the Export dialog, and imports them only
on the worker thread that writes and checks the ONNX model.
"""

from __future__ import annotations

import importlib.util

ONNX_PACKAGES = ("onnx", "onnxruntime")
INSTALL_COMMAND = 'pip install "mma-studio[onnx]"'


class OnnxUnavailableError(Exception):
    """The ONNX export was asked for, but the `[onnx]` extra is not installed."""


def missing_onnx_packages() -> list[str]:
    missing = []
    for name in ONNX_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or half-removed installation
            found = False
        if not found:
            missing.append(name)
    return missing


def onnx_unavailable_reason() -> str:
    """ "" when the ONNX export can run; otherwise what is missing and how to install it."""
    missing = missing_onnx_packages()
    if not missing:
        return ""
    return (
        f"The standalone ONNX export needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
        f"not installed. Install them with: {INSTALL_COMMAND}"
    )


def require_onnx() -> None:
    reason = onnx_unavailable_reason()
    if reason:
        raise OnnxUnavailableError(reason)
