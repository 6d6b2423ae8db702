"""Run the engine's export (`core.export.write_export_set`) on a worker thread for the Export dialog."""

from __future__ import annotations

from mma_studio.core.export import ExportRequest


def export_task(request: ExportRequest, parent=None):
    """A `BackgroundTask` (not started) that runs `write_export_set(request)` on a worker thread."""
    from mma_studio.core.export import export_set
    from mma_studio.ui.workers.background_task import BackgroundTask

    return BackgroundTask(lambda on_progress, token: export_set.write_export_set(request, on_progress, token), parent)
