"""Which of an adapter's classes a dataset folder holds, for `eval`: accuracy is measured among
the folder's classes only, so 2 of 30 classes give a 2-way test (near 100%), not the 30-way one,
and the figures must say so."""

from __future__ import annotations

from mma_studio.core.adapter_file import AdapterFile
from mma_studio.core.dataset import ScanResult


def class_coverage(adapter_file: AdapterFile, scan: ScanResult) -> dict:
    """The adapter's class count, the classes evaluated, the adapter's classes missing from the
    folder and the folder's classes the adapter was not trained with (they count as new)."""
    known = list(adapter_file.training.get("folders") or [])
    here = set(scan.class_names)
    return {
        "adapter_classes": len(adapter_file.class_names),
        "evaluated_classes": list(scan.class_names),
        "adapter_classes_missing": [name for name in known if name not in here],
        "classes_unknown_to_adapter": [name for name in scan.class_names if known and name not in known],
    }
