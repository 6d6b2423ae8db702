"""The export set: the adapter file, its model card and metrics, and a standalone ONNX classifier.

One engine call, `write_export_set`, serves the app's Export dialog and `mma-studio export`.
Only light modules are re-exported here (the dialog imports this package on the GUI thread);
`onnx_model` and `onnx_check` import torch and onnx when the export runs.
"""

from mma_studio.core.export.export_set import (
    ADAPTER_SUFFIX,
    PREDICT_SCRIPT,
    VERIFY_IMAGES,
    ExportError,
    ExportRequest,
    ExportResult,
    companion_groups,
    companion_paths,
    file_size_text,
    planned_files,
    verification_images,
    with_adapter_suffix,
    write_export_set,
)
from mma_studio.core.export.onnx_extra import (
    INSTALL_COMMAND,
    OnnxUnavailableError,
    onnx_unavailable_reason,
)

__all__ = [
    "ADAPTER_SUFFIX",
    "INSTALL_COMMAND",
    "PREDICT_SCRIPT",
    "VERIFY_IMAGES",
    "ExportError",
    "ExportRequest",
    "ExportResult",
    "OnnxUnavailableError",
    "companion_groups",
    "companion_paths",
    "file_size_text",
    "onnx_unavailable_reason",
    "planned_files",
    "verification_images",
    "with_adapter_suffix",
    "write_export_set",
]
